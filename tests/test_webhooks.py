"""Outbound stock-sync webhooks: the subscription contract, and delivery to a real HTTP receiver on
loopback, verified with the official ``standardwebhooks`` library, through a receiver that is down,
slow or failing, a crash between commit and send, and two dispatchers sharing the work."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from tests.conftest import Api, FreshDatabase, make_test_app, table_counts
from warehouse.db import Database, utcnow
from warehouse.webhooks import services, signing
from warehouse.webhooks.dispatcher import Dispatcher
from warehouse.webhooks.models import WebhookDelivery, WebhookSubscription

V1 = "/api/v1"
SUBSCRIPTIONS = f"{V1}/webhooks/subscriptions"


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until ``condition`` is truthy; bounded, so a broken dispatcher fails the test instead of hanging."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ---------------------------------------------------------------- a real receiver on loopback

class Receiver:
    """An order system's webhook endpoint: ``http.server`` in a thread on 127.0.0.1. ``behaviour``
    decides each answer: a status code, or ("slow", seconds) to answer 200 only after a delay."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.behaviour: Callable[[dict[str, str]], Any] = lambda headers: 200
        self.in_flight: dict[str, int] = defaultdict(int)
        self.overlaps: list[str] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                msg_id = headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.in_flight[msg_id] += 1
                    if receiver.in_flight[msg_id] > 1:
                        receiver.overlaps.append(msg_id)
                try:
                    answer = receiver.behaviour(headers)
                    if isinstance(answer, tuple):
                        time.sleep(answer[1])
                        answer = 200
                    if 200 <= answer < 300:
                        with receiver.lock:
                            receiver.received.append((headers, body))
                    self.send_response(answer)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up (timeout)
                    pass
                finally:
                    with receiver.lock:
                        receiver.in_flight[msg_id] -= 1

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Go down: connections to the port are refused until ``start`` again (same port)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            assert self.thread is not None
            self.thread.join(timeout=5)
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/warehouse"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


# ---------------------------------------------------------------- a service on a database of its own

class Service:
    def __init__(self, fresh: FreshDatabase, tmp_path: Path) -> None:
        self.database = fresh.database()
        self.app = make_test_app(self.database, tmp_path)
        self.api = Api(self.app.test_client(), fresh.cast)
        self.dispatchers: list[Dispatcher] = []

    def setup_site(self) -> None:
        self.api.ok("POST", f"{V1}/warehouses", {"code": "W1", "name": "North", "latitude": 52.37, "longitude": 4.89})
        for code in ("W1-A1", "W1-A2"):
            self.api.ok("POST", f"{V1}/locations", {"code": code, "warehouse": "W1", "type": "storage"})
        for sku in ("PLAIN", "OTHER"):
            self.api.ok("POST", f"{V1}/items", {"sku": sku, "name": f"{sku} widget"})

    def subscribe(self, url: str, events: list[str]) -> dict[str, Any]:
        return self.api.ok("POST", SUBSCRIPTIONS, {"url": url, "events": events}, status=201)

    def adjust(self, sku: str, quantity: int, location: str = "W1-A1") -> dict[str, Any]:
        return self.api.ok("POST", f"{V1}/stock/adjustments",
                           {"sku": sku, "location": location, "quantity": quantity, "reason": "cycle count"},
                           status=201)

    def dispatcher(self, database: Database | None = None, **kwargs: Any) -> Dispatcher:
        settings = {"timeout": 2.0, "retry_hours": 1.0, "backoff": 0.05, "max_backoff": 0.2, "poll": 0.05,
                    **kwargs}
        dispatcher = Dispatcher(database or self.database, **settings)
        self.dispatchers.append(dispatcher)
        return dispatcher

    def deliveries(self, subscription_id: int, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in {"per_page": "500", **filters}.items())
        return self.api.ok("GET", f"{SUBSCRIPTIONS}/{subscription_id}/deliveries?{query}")

    def statuses(self) -> dict[str, int]:
        with self.database.reading() as session:
            counts: dict[str, int] = defaultdict(int)
            for status in session.scalars(select(WebhookDelivery.status)):
                counts[status] += 1
            return dict(counts)

    def close(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.stop()
            dispatcher.close()
        self.database.dispose()


@pytest.fixture
def service(fresh_database: FreshDatabase, tmp_path: Path) -> Iterator[Service]:
    service = Service(fresh_database, tmp_path)
    service.setup_site()
    try:
        yield service
    finally:
        service.close()


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What the order system does with each request: the official library checks id, timestamp, signature."""
    return Webhook(secret).verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp",
                                                                 "webhook-signature")})


# ---------------------------------------------------------------- the subscription contract

def test_a_subscription_answers_its_secret_once_and_rotation_keeps_both_valid(api: Api, db: Database) -> None:
    created = api.ok("POST", SUBSCRIPTIONS, {"url": "https://orders.example.com/hooks",
                                             "events": ["stock.changed", "order.shipped"]}, status=201)
    assert created["secret"].startswith("whsec_") and created["id"]
    assert created["events"] == ["stock.changed", "order.shipped"] and created["active"] is True
    shown = api.ok("GET", f"{SUBSCRIPTIONS}/{created['id']}")
    assert "secret" not in shown and created["secret"] not in json.dumps(api.ok("GET", SUBSCRIPTIONS))

    rotated = api.ok("POST", f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"]
    assert "secret" not in api.ok("GET", f"{SUBSCRIPTIONS}/{created['id']}")

    body = '{"type":"stock.changed"}'
    with db.reading() as session:
        subscription = session.get(WebhookSubscription, created["id"])
        assert subscription is not None
        now = utcnow()
        secrets_ = services.signing_secrets(subscription, now)
        later = services.signing_secrets(subscription, now + timedelta(hours=25))
    headers = signing.headers(secrets_, "msg_rotation", int(time.time()), body)
    for secret in (created["secret"], rotated["secret"]):  # during the window both verify
        assert Webhook(secret).verify(body, headers) == {"type": "stock.changed"}
    after_window = signing.headers(later, "msg_rotation", int(time.time()), body)
    assert Webhook(rotated["secret"]).verify(body, after_window)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(body, after_window)


def test_only_admins_and_integrations_manage_webhooks(api: Api) -> None:
    body = {"url": "http://127.0.0.1:9/hooks", "events": ["stock.changed"]}
    assert api.post(SUBSCRIPTIONS, body, as_="super1").status_code == 403
    assert api.get(SUBSCRIPTIONS, as_="op1").status_code == 403
    assert api.post(SUBSCRIPTIONS, body, as_="shop").status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://orders.example.com/hooks", "events": ["stock.changed"]}, "url"),
    ({"url": "javascript:alert(1)", "events": ["stock.changed"]}, "url"),
    ({"url": "https://", "events": ["stock.changed"]}, "url"),
    ({"url": "https://orders.example.com/hooks", "events": ["stock.stolen"]}, "events"),
    ({"url": "https://orders.example.com/hooks", "events": []}, "events"),
])
def test_bad_subscriptions_are_422_and_write_nothing(api: Api, db: Database, body: dict[str, Any],
                                                     field: str) -> None:
    before = table_counts(db)
    response = api.post(SUBSCRIPTIONS, body)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert table_counts(db) == before


def test_the_outbox_row_is_part_of_the_transaction(api: Api, db: Database, site: dict) -> None:
    """Subscribers to other events get nothing; a refused change writes no delivery."""
    stock = api.ok("POST", SUBSCRIPTIONS, {"url": "http://127.0.0.1:9/a", "events": ["stock.changed"]}, status=201)
    other = api.ok("POST", SUBSCRIPTIONS, {"url": "http://127.0.0.1:9/b", "events": ["order.shipped"]}, status=201)
    api.ok("POST", f"{V1}/stock/adjustments", {"sku": "PLAIN", "location": "W1-A1", "quantity": 3, "reason": "x"})
    before = table_counts(db)
    refused = api.post(f"{V1}/stock/adjustments", {"sku": "PLAIN", "location": "W1-A1", "quantity": -9,
                                                    "reason": "x"})
    assert refused.status_code == 409 and table_counts(db) == before
    assert api.ok("GET", f"{SUBSCRIPTIONS}/{other['id']}/deliveries") == []
    (delivery,) = api.ok("GET", f"{SUBSCRIPTIONS}/{stock['id']}/deliveries")
    assert delivery["event_type"] == "stock.changed" and delivery["status"] == "pending"
    assert delivery["msg_id"].startswith("msg_") and delivery["seq"]


# ---------------------------------------------------------------- delivery to a real receiver

def test_stock_changes_reach_a_real_receiver_signed(service: Service, receiver: Receiver) -> None:
    created = service.subscribe(receiver.url, ["stock.changed", "stock.low"])
    service.dispatcher().start()
    first = service.adjust("PLAIN", 5)
    service.adjust("PLAIN", 2, location="W1-A2")
    last = service.adjust("PLAIN", -7 + 2, location="W1-A1")
    wait_for(lambda: len(receiver.received) == 3, what="three deliveries")  # three changes
    # From here, below one unit available in W1 is low; a draft purchase order refills it.
    service.api.ok("PUT", f"{V1}/replenishment/rules", {"sku": "PLAIN", "warehouse": "W1", "minimum": 1,
                                                       "maximum": 10, "supplier": "ACME"}, as_="super1")

    service.adjust("PLAIN", -2, location="W1-A2")  # leaves nothing available: below the minimum, stock.low
    wait_for(lambda: len(receiver.received) == 5, what="the change and stock.low")
    payloads = [verified(created["secret"], headers, body) for headers, body in receiver.received]
    changed = [p for p in payloads if p["type"] == "stock.changed"]
    assert [p["data"]["seq"] for p in changed] == sorted(p["data"]["seq"] for p in changed)
    assert changed[0]["data"] == {"seq": first["seq"], "sku": "PLAIN", "warehouse": "W1", "on_hand": 5,
                                  "reserved": 0, "available": 5, "location": "W1-A1", "delta": 5, "lot": None,
                                  "reason": "cycle count"}
    assert changed[2]["data"]["seq"] == last["seq"] and changed[2]["data"]["available"] == 2  # warehouse total
    (low,) = [p for p in payloads if p["type"] == "stock.low"]
    assert low["data"]["available"] == 0 and low["data"]["sku"] == "PLAIN" and low["timestamp"]
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(set(ids)) == 5 and all(i.startswith("msg_") for i in ids)
    # The receiver has the request before the dispatcher has its answer recorded: wait for the log.
    wait_for(lambda: service.statuses() == {"delivered": 5}, what="the delivery log")
    log = service.deliveries(created["id"])
    assert all(d["attempt_log"][0]["status_code"] == 200 and d["attempt_log"][0]["duration_ms"] >= 0 for d in log)


def test_a_receiver_down_for_a_while_gets_every_event_in_order_once_back(service: Service,
                                                                         receiver: Receiver) -> None:
    created = service.subscribe(receiver.url, ["stock.changed"])
    receiver.stop()  # down: connections refused
    service.dispatcher().start()
    moves = []
    for round_ in range(4):
        moves.append(service.adjust("PLAIN", round_ + 1))
        moves.append(service.adjust("OTHER", round_ + 1, location="W1-A2"))
    wait_for(lambda: any(d["attempts"] >= 3 for d in service.deliveries(created["id"])),
             what="retries against the dead receiver")
    assert receiver.received == []
    receiver.start()  # back up on the same port
    wait_for(lambda: service.statuses() == {"delivered": 8}, what="every event delivered")

    events = [(headers["webhook-id"], verified(created["secret"], headers, body)) for headers, body in
              receiver.received]
    per_item: dict[str, list[int]] = defaultdict(list)
    ids_per_event: dict[tuple[str, int], set[str]] = defaultdict(set)
    for msg_id, event in events:
        per_item[event["data"]["sku"]].append(event["data"]["seq"])
        ids_per_event[(event["data"]["location"], event["data"]["seq"])].add(msg_id)
    assert sorted(seq for seqs in per_item.values() for seq in seqs) == sorted(m["seq"] for m in moves)
    assert all(seqs == sorted(seqs) for seqs in per_item.values()), per_item
    assert all(len(ids) == 1 for ids in ids_per_event.values()), "an event reached the receiver under two ids"
    log = service.deliveries(created["id"])
    assert any(a["outcome"] == "error" and a["status_code"] is None for d in log for a in d["attempt_log"])


def test_a_slow_receiver_times_out_and_gets_the_event_again_under_the_same_id(service: Service,
                                                                               receiver: Receiver) -> None:
    created = service.subscribe(receiver.url, ["stock.changed"])
    answers = iter([("slow", 1.5), ("slow", 1.5)])
    receiver.behaviour = lambda headers: next(answers, 200)
    service.dispatcher(timeout=0.3).start()
    service.adjust("PLAIN", 4)
    wait_for(lambda: service.statuses() == {"delivered": 1}, what="delivery after the timeouts")
    (delivery,) = service.deliveries(created["id"])
    outcomes = [a["outcome"] for a in delivery["attempt_log"]]
    assert outcomes[:2] == ["timeout", "timeout"] and outcomes[-1] == "delivered"
    assert {headers["webhook-id"] for headers, _ in receiver.received} == {delivery["msg_id"]}
    for headers, body in receiver.received:
        verified(created["secret"], headers, body)


def test_a_crash_between_commit_and_send_loses_nothing(service: Service, receiver: Receiver,
                                                      fresh_database: FreshDatabase) -> None:
    created = service.subscribe(receiver.url, ["stock.changed"])
    service.adjust("PLAIN", 3)  # committed while no dispatcher runs: only the outbox row exists
    service.adjust("OTHER", 1)
    assert service.statuses() == {"pending": 2} and receiver.received == []

    # A dispatcher claims the rows and dies before sending (its lease is short, for the test).
    crashed = service.dispatcher(lease_seconds=0.3)
    assert len(crashed.claim()) == 2

    # The service comes back: a new process (its own connections) and a new dispatcher deliver.
    restarted = fresh_database.database()
    try:
        dispatcher = service.dispatcher(restarted)
        wait_for(lambda: dispatcher.run_once() == 0 and service.statuses() == {"delivered": 2},
                 what="redelivery after the crash")
    finally:
        restarted.dispose()
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert sorted(ids) == sorted(d["msg_id"] for d in service.deliveries(created["id"]))


def test_failed_after_the_retry_period_then_redelivered_by_hand(service: Service, receiver: Receiver) -> None:
    created = service.subscribe(receiver.url, ["stock.changed"])
    receiver.behaviour = lambda headers: 500
    dispatcher = service.dispatcher(retry_hours=0.5 / 3600)  # half a second of retries
    dispatcher.start()
    service.adjust("PLAIN", 2)
    wait_for(lambda: service.statuses() == {"failed": 1}, what="the delivery to fail")
    (failed,) = service.deliveries(created["id"], status="failed")
    assert failed["failed_at"] and failed["last_status_code"] == 500 and failed["attempts"] >= 2
    assert all(a["status_code"] == 500 and a["outcome"] == "http_error" and isinstance(a["duration_ms"], int)
               for a in failed["attempt_log"])
    assert receiver.received == []

    receiver.behaviour = lambda headers: 204
    again = service.api.ok("POST", f"{V1}/webhooks/deliveries/{failed['id']}/redeliver")
    assert again["status"] == "pending" and again["msg_id"] == failed["msg_id"]
    wait_for(lambda: service.statuses() == {"delivered": 1}, what="the redelivery")
    (headers, body), = receiver.received
    assert headers["webhook-id"] == failed["msg_id"]
    verified(created["secret"], headers, body)
    (delivered,) = service.deliveries(created["id"])
    assert delivered["attempt_log"][-1]["redelivery"] is True and delivered["attempt_log"][-1]["status_code"] == 204

    dispatcher.stop()  # so that the next redelivery stays pending
    assert service.api.ok("POST", f"{V1}/webhooks/deliveries/{failed['id']}/redeliver")["status"] == "pending"
    pending = service.api.post(f"{V1}/webhooks/deliveries/{failed['id']}/redeliver")
    assert pending.status_code == 409, pending.get_json()  # already on its way


def test_two_dispatchers_never_send_the_same_delivery_twice(service: Service, receiver: Receiver,
                                                           fresh_database: FreshDatabase) -> None:
    """Like two `warehouse webhooks run` processes: each with its own connections. On PostgreSQL they
    claim with FOR UPDATE SKIP LOCKED; on SQLite the claims are serialised."""
    created = service.subscribe(receiver.url, ["stock.changed"])
    skus = [f"SKU-{n}" for n in range(12)]
    for sku in skus:
        service.api.ok("POST", f"{V1}/items", {"sku": sku, "name": sku})
        service.adjust(sku, 1)
        service.adjust(sku, 1, location="W1-A2")
    receiver.behaviour = lambda headers: ("slow", 0.02)  # widen the window in which both could send
    other = fresh_database.database()
    try:
        # A generous timeout: a retry after a timeout would be a legitimate second send, not a race.
        first, second = service.dispatcher(batch=3, timeout=10), service.dispatcher(other, batch=3, timeout=10)
        first.start()
        second.start()
        wait_for(lambda: service.statuses() == {"delivered": 24}, what="all deliveries")
        first.stop()
        second.stop()
    finally:
        other.dispose()
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 24, "a delivery was sent twice"
    assert receiver.overlaps == []
    log = service.deliveries(created["id"])
    assert all(d["attempts"] == 1 for d in log)
