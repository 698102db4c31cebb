"""Several server processes: with WAREHOUSE_REDIS_URL set, a change committed through one process
reaches a dashboard connected to another. Two real gunicorn processes, one PostgreSQL, one Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.conftest import FreshDatabase
from tests.test_live_events import connect

REDIS_URL = os.environ.get("WAREHOUSE_TEST_REDIS_URL")
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(database_url: str, instance: Path, name: str, channel: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "WAREHOUSE_DATABASE_URL": database_url, "WAREHOUSE_REDIS_URL": REDIS_URL or "",
           "WAREHOUSE_INSTANCE_DIR": str(instance), "WAREHOUSE_SECRET_KEY": "scale-out-test-secret",
           "WAREHOUSE_WEBHOOK_DISPATCHER": "off", "WAREHOUSE_REDIS_CHANNEL": channel, "PYTHONUNBUFFERED": "1"}
    log_path = instance / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([GUNICORN, "-w", "1", "--threads", "16", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                assert process.poll() is None, log_path.read_text()
                try:
                    if requests.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):  # bound, but the worker is still loading
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_change_made_through_one_process_reaches_a_dashboard_on_another(
        fresh_database: FreshDatabase, tmp_path: Path) -> None:
    if not REDIS_URL:
        pytest.skip("needs WAREHOUSE_TEST_REDIS_URL (CI sets it)")
    cast = fresh_database.cast
    code = "SCALE"
    # Redis channels are shared by everyone on that server: a channel of our own keeps other runs out.
    channel = f"warehouse-test-{uuid.uuid4().hex}"
    with ExitStack() as stack:
        first = stack.enter_context(gunicorn(fresh_database.url, tmp_path, "first", channel))
        second = stack.enter_context(gunicorn(fresh_database.url, tmp_path, "second", channel))
        with requests.Session() as http:
            for path, body in [("/warehouses", {"code": code, "name": "Scale", "latitude": 1, "longitude": 1}),
                               ("/locations", {"code": f"{code}-A1", "warehouse": code, "type": "storage"}),
                               ("/items", {"sku": f"{code}-SKU", "name": "Scaled widget"})]:
                reply = http.post(f"{first}/api/v1{path}", json=body, headers=cast["admin1"].headers, timeout=10)
                assert reply.status_code == 201, reply.text

            # Websocket only: behind a load balancer without sticky sessions, polling would wander.
            dashboard, received, arrived = connect(second, cast["super2"].token, transport="websocket")
            try:
                assert dashboard.call("subscribe", {"warehouses": [code]}, namespace="/live", timeout=10) == \
                    {"warehouses": [code]}
                posted = http.post(f"{first}/api/v1/stock/adjustments", headers=cast["super1"].headers, timeout=10,
                                   json={"sku": f"{code}-SKU", "location": f"{code}-A1", "quantity": 7,
                                         "reason": "found on the other process"}).json()
                assert arrived.wait(15), "the change made through the first process never reached the second"
            finally:
                dashboard.disconnect()
    assert [(e["seq"], e["sku"], e["location"], e["on_hand"]) for e in received] == \
        [(posted["seq"], f"{code}-SKU", f"{code}-A1", 7)]
