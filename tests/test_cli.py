"""The `warehouse` command, run for real as a subprocess against a real database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.conftest import FreshDatabase
from warehouse.migrate import head_revision

WAREHOUSE = str(Path(sys.executable).with_name("warehouse"))


def run_cli(*args: str, url: str, instance: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WAREHOUSE_DATABASE_URL": url, "WAREHOUSE_INSTANCE_DIR": str(instance)}
    result = subprocess.run([WAREHOUSE, *args], env=env, capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_user_and_token_create_then_the_token_works(fresh_database: FreshDatabase, tmp_path: Path) -> None:
    url = fresh_database.url
    created = run_cli("user", "create", "dana", "--role", "admin", "--password", "long enough pass",
                      url=url, instance=tmp_path)
    assert "Created admin dana" in created.stderr
    duplicate = run_cli("user", "create", "dana", "--role", "admin", "--password", "long enough pass",
                        url=url, instance=tmp_path, check=False)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    operator = run_cli("user", "create", "ivan", "--role", "operator", url=url, instance=tmp_path, check=False)
    assert operator.returncode != 0 and "badge" in operator.stderr.lower()

    token = run_cli("token", "create", "--user", "dana", url=url, instance=tmp_path).stdout
    assert re.fullmatch(r"wh_[A-Za-z0-9_-]{40,}\n", token), "prints only the token"

    from warehouse import create_app

    database = fresh_database.database()
    try:
        client = create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x"}, db=database).test_client()
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.strip()}"})
        assert me.status_code == 200 and me.get_json()["username"] == "dana" and me.get_json()["role"] == "admin"
    finally:
        database.dispose()


def test_upgrade_then_demo_seeds_once_and_the_ledger_checks_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert f"sqlite database at revision {head_revision()}" in run_cli("db", "upgrade", url=url, instance=tmp_path).stdout
    first = run_cli("demo", url=url, instance=tmp_path)
    assert "Demo data loaded." in first.stdout and "OP-1001" in first.stdout
    second = run_cli("demo", url=url, instance=tmp_path)
    assert "already present" in second.stdout
    check = run_cli("check-ledger", url=url, instance=tmp_path)
    assert re.search(r"ledger OK: \d+ moves", check.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """`warehouse run --demo` exactly as the Quickstart runs it, on a new embedded SQLite database."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WAREHOUSE_")}
    env["WAREHOUSE_INSTANCE_DIR"] = str(tmp_path / "instance")
    env["PYTHONUNBUFFERED"] = "1"
    log_path = tmp_path / "server.log"
    log = open(log_path, "ab")  # append mode: our reads never move the server's write position
    process = subprocess.Popen([WAREHOUSE, "run", "--demo", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                break
            try:
                if requests.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert process.poll() is None, log_path.read_text()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        output = log_path.read_text()
        assert "Traceback" not in output, output


def test_quickstart_run_serves_demo_data_over_http(demo_server: str, tmp_path: Path) -> None:
    from warehouse.demo import DEMO_ADMIN_TOKEN

    health = requests.get(f"{demo_server}/api/v1/health", timeout=5).json()
    assert health["status"] == "ok" and health["database"] == "sqlite"
    headers = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
    stock = requests.get(f"{demo_server}/api/v1/stock?warehouse=AMS", headers=headers, timeout=5)
    assert stock.status_code == 200 and any(row["sku"] == "SKU-1004" for row in stock.json())
    signin = requests.post(f"{demo_server}/api/v1/auth/login/badge", json={"badge": "OP-1001", "pin": "1234"},
                           timeout=5)
    assert signin.status_code == 200 and signin.json()["user"]["username"] == "olga"
    page = requests.get(f"{demo_server}/", timeout=5)
    assert page.status_code == 200 and "Sign in" in page.text, "the front door is the sign-in page"
    output = (tmp_path / "server.log").read_text()
    assert "badge OP-1001 PIN 1234" in output and DEMO_ADMIN_TOKEN in output, "prints the demo sign-ins"
