"""Webhook deliveries per second to a local receiver, beside bare signed POSTs to the same receiver.

    .venv/bin/python bench/webhooks.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                       [--events 2000] [--items 100] [--dispatchers 2] [--processes]

Creates a scratch PostgreSQL database next to the one in ``--url`` (dropped at the end), migrates it and
subscribes a receiver to ``stock.changed``. The receiver is a threaded HTTP server on loopback in a
process of its own; it verifies every request with the official ``standardwebhooks`` library, answers
204, and counts what it got: deliveries, duplicates, bad signatures, and stock events of one item that
arrived out of seq order.

1. **The outbox.** ``--events`` stock adjustments spread over ``--items`` items, posted through the
   service layer in transactions of 100: each writes one ``stock.changed`` delivery row. No dispatcher
   runs while they are written.
2. **The baseline (``bare POST``).** As many threads as the dispatchers have senders POST the same
   number of bodies, signed the same way, to the same receiver with ``requests`` (the dispatcher's
   client): what the transport alone manages.
3. **The dispatchers.** ``--dispatchers`` dispatchers (threads in this process, as ``warehouse run``
   embeds one; with ``--processes``, ``warehouse webhooks run`` processes, as production runs them) send
   the outbox until every delivery is delivered. Each delivery is claimed in a transaction
   (``FOR UPDATE SKIP LOCKED``), sent, and its attempt recorded in another; an item's next event waits
   until its previous one is delivered (per-item order).

Prints both rates, their ratio and the receiver's checks. A check that fails (a delivery missing, a
bad signature, an item out of order) makes the exit status 1. It reports and does not judge speed: the
issue sets no target for it. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from orders import migrated_scratch_database  # noqa: E402 - bench/ is not a package
from warehouse.accounts import services as accounts  # noqa: E402
from warehouse.catalog import services as catalog  # noqa: E402
from warehouse.db import Database  # noqa: E402
from warehouse.locations import services as locations  # noqa: E402
from warehouse.stock import services as stock  # noqa: E402
from warehouse.webhooks import services as webhooks  # noqa: E402
from warehouse.webhooks import signing  # noqa: E402
from warehouse.webhooks.dispatcher import DELIVERED, Dispatcher  # noqa: E402
from warehouse.webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: E402

SENDERS_PER_DISPATCHER = 8  # Dispatcher's default ``workers``


# ------------------------------------------------------------------ the receiver (a process of its own)

def _receive(port_file: str, secret: str) -> None:
    from standardwebhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    lock = threading.Lock()
    stats: dict[str, Any] = {"received": 0, "duplicates": 0, "bad_signatures": 0, "out_of_order": 0}
    seen: set[str] = set()
    last_seq: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy would

        def log_message(self, *args: Any) -> None:  # one line per request would be measured too
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # the bench reads the counts
            with lock:
                self._answer(200, json.dumps(stats).encode())

        def do_DELETE(self) -> None:  # and clears them between phases
            with lock:
                stats.update(received=0, duplicates=0, bad_signatures=0, out_of_order=0)
                seen.clear()
                last_seq.clear()
            self._answer(204)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                event = verifier.verify(body, dict(self.headers))
            except WebhookVerificationError:
                with lock:
                    stats["bad_signatures"] += 1
                self._answer(400)
                return
            data = event.get("data", {})
            with lock:
                stats["received"] += 1
                msg_id = self.headers["webhook-id"]
                if msg_id in seen:
                    stats["duplicates"] += 1
                seen.add(msg_id)
                sku, seq = data.get("sku"), data.get("seq")
                if sku is not None and seq is not None:
                    if seq <= last_seq.get(sku, -1):
                        stats["out_of_order"] += 1
                    last_seq[sku] = seq
            self._answer(204)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


class Receiver:
    def __init__(self, folder: Path, secret: str) -> None:
        port_file = folder / "receiver.port"
        self.process = Process(target=_receive, args=(str(port_file), secret), daemon=True)
        self.process.start()
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or not self.process.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}/hooks"

    def stats(self) -> dict[str, int]:
        return requests.get(self.url, timeout=10).json()

    def reset(self) -> None:
        requests.delete(self.url, timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# ------------------------------------------------------------------ the phases

def fill_outbox(database: Database, events: int, items: int) -> None:
    """``events`` stock adjustments over ``items`` items: one stock.changed delivery each."""
    with database.transaction() as session:
        admin = accounts.create_user(session, username="bench-admin", role="admin", actor_id=None,
                                     password="bench admin password")
        locations.create_warehouse(session, actor_id=None, code="WH", name="WH", latitude=52.0, longitude=5.0)
        locations.create_location(session, actor_id=None, code="WH-1", warehouse="WH", type="storage")
        for number in range(items):
            catalog.create_item(session, actor_id=None, sku=f"HOOK-{number:03d}", name=f"Hook item {number}")
    admin_id = admin.id
    for start in range(0, events, 100):
        with database.transaction() as session:
            for index in range(start, min(events, start + 100)):
                stock.adjust(session, actor_id=admin_id, sku=f"HOOK-{index % items:03d}", location="WH-1",
                             quantity=1, reason="bench")


def bare_posts(receiver: Receiver, secret: str, bodies: list[str], threads: int) -> float:
    """Sign and POST every body with ``threads`` threads (one requests.Session each); the wall time."""
    local = threading.local()

    def post(body: str) -> None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
            http.trust_env = False
        msg_id = signing.new_msg_id()
        headers = {**signing.headers([secret], msg_id, int(time.time()), body), "Content-Type": "application/json"}
        reply = http.post(receiver.url, data=body.encode(), headers=headers, timeout=10, allow_redirects=False)
        if reply.status_code != 204:
            raise RuntimeError(f"the receiver answered {reply.status_code}")

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(post, bodies))
    return time.monotonic() - start


def delivered(database: Database) -> int:
    with database.reading() as session:
        return int(session.scalar(select(func.count()).select_from(WebhookDelivery)
                                  .where(WebhookDelivery.status == DELIVERED)) or 0)


def set_active(database: Database, subscription_id: int, active: bool) -> None:
    with database.transaction() as session:
        session.get(WebhookSubscription, subscription_id).active = active


def dispatch(database: Database, url: str, subscription_id: int, total: int, dispatchers: int, processes: bool,
             folder: Path) -> float:
    """Run the dispatchers until all ``total`` deliveries are delivered; the wall time from the moment the
    subscription is switched on, so that starting the dispatchers (importing the app) is not timed."""
    set_active(database, subscription_id, False)  # claimed only once it is on again
    started: list[Any] = []
    if processes:
        env = {**os.environ, "WAREHOUSE_DATABASE_URL": url, "WAREHOUSE_INSTANCE_DIR": str(folder),
               "WAREHOUSE_SECRET_KEY": "bench", "WAREHOUSE_LOG_LEVEL": "WARNING", "WAREHOUSE_WEBHOOK_POLL_SECONDS": "0.05"}
        for _ in range(dispatchers):
            started.append(subprocess.Popen([sys.executable, "-m", "warehouse.cli", "webhooks", "run"], cwd=ROOT,
                                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            start_new_session=True))
        time.sleep(5)  # each imports the app and starts polling
    else:
        for number in range(dispatchers):
            dispatcher = Dispatcher(database, poll=0.05, name=f"bench-dispatcher-{number}")
            dispatcher.start()
            started.append(dispatcher)
    try:
        start = time.monotonic()
        set_active(database, subscription_id, True)
        deadline = time.monotonic() + 600
        while delivered(database) < total:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {delivered(database)} of {total} delivered after 600 s")
            time.sleep(0.02)
        return time.monotonic() - start
    finally:
        for worker in started:
            if processes:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
            else:
                worker.stop()


def run(url: str, events: int, items: int, dispatchers: int, processes: bool) -> int:
    with migrated_scratch_database(url, "wh_bench_hooks") as scratch:
        return _run(scratch, events, items, dispatchers, processes)


def _run(scratch: str, events: int, items: int, dispatchers: int, processes: bool) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    receiver: Receiver | None = None
    database = Database(scratch)
    try:
        with database.transaction() as session:
            subscription, secret = webhooks.create_subscription(session, actor_id=None, url="http://127.0.0.1:9/x",
                                                                events=["stock.changed"])
            subscription_id = subscription.id
        receiver = Receiver(folder, secret)
        with database.transaction() as session:
            session.get(WebhookSubscription, subscription_id).url = receiver.url

        load = os.getloadavg()
        print(f"webhook benchmark: {os.cpu_count()} CPUs, load average {load[0]:.2f}; {events} stock events over "
              f"{items} items; {dispatchers} dispatcher {'processes' if processes else 'threads'} of "
              f"{SENDERS_PER_DISPATCHER} senders", flush=True)
        fill_outbox(database, events, items)
        with database.reading() as session:
            bodies = list(session.scalars(select(WebhookDelivery.body).order_by(WebhookDelivery.id)))
        if len(bodies) != events:
            print(f"FAILED  the outbox holds {len(bodies)} deliveries for {events} events")
            return 1

        threads = dispatchers * SENDERS_PER_DISPATCHER
        bare_seconds = bare_posts(receiver, secret, bodies, threads)
        bare = receiver.stats()
        receiver.reset()
        dispatch_seconds = dispatch(database, scratch, subscription_id, events, dispatchers, processes, folder)
        got = receiver.stats()

        bare_rate, rate = events / bare_seconds, events / dispatch_seconds
        print(f"bare POST:    {events} signed POSTs, {threads} threads, {bare_seconds:.1f} s, {bare_rate:.0f}/s")
        print(f"dispatchers:  {events} deliveries, {dispatch_seconds:.1f} s, {rate:.0f} deliveries/s "
              f"(claim, send, record; per-item order kept)")
        print(f"ratio:        {rate / bare_rate:.2f}x of bare POSTs")
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f}")
        checks = [
            (bare["received"] == events and bare["bad_signatures"] == 0, f"bare POSTs: {bare}"),
            (got["received"] >= events, f"every delivery arrived ({got['received']} requests for {events})"),
            (got["bad_signatures"] == 0, f"every signature verified by standardwebhooks ({got['bad_signatures']} bad)"),
            (got["duplicates"] == 0, f"no event delivered twice ({got['duplicates']} duplicates)"),
            (got["out_of_order"] == 0, f"each item's events in seq order ({got['out_of_order']} out of order)"),
        ]
        for passed, what in checks:
            print(f"{'ok    ' if passed else 'FAILED'}  {what}")
        return 0 if all(passed for passed, _ in checks) else 1
    finally:
        if receiver is not None:
            receiver.stop()
        database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("WAREHOUSE_TEST_DATABASE_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL URL; the scratch database is made next to its database")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--items", type=int, default=100, help="items the events are spread over")
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--processes", action="store_true",
                        help="run the dispatchers as `warehouse webhooks run` processes instead of threads")
    args = parser.parse_args()
    if not (1 <= args.events <= 100_000 and 1 <= args.items <= args.events and 1 <= args.dispatchers <= 8):
        parser.error("use 1-100000 events, 1-events items and 1-8 dispatchers")
    return run(args.url, args.events, args.items, args.dispatchers, args.processes)


if __name__ == "__main__":
    sys.exit(main())
