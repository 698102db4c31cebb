"""Real concurrency over real HTTP: threads with their own HTTP connections against the live
server (threaded WSGI server on loopback, its own committed database), on SQLite and PostgreSQL.

What a user would notice: selling stock that is not there, a deadlock turning into an error, a
retried request doing the work twice, or a client following the change feed missing a move.

There is no HTTP endpoint for bin-to-bin transfers yet, so the transfers in these tests are
posted by threads through ``warehouse.stock.ledger.post_move`` on the live server's own
``Database`` (same engine, pool and write lock as the server's requests), concurrently with the
HTTP traffic.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import requests
from sqlalchemy import select
from sqlalchemy.orm import aliased

from tests.conftest import LiveServer, user_id
from warehouse.catalog.services import item_by_sku
from warehouse.errors import InsufficientStock
from warehouse.locations.models import Location
from warehouse.locations.services import location_by_code
from warehouse.stock.checks import check_ledger
from warehouse.stock.ledger import post_move
from warehouse.stock.models import Move

SKU = "CC-WIDGET"
BIN_A, BIN_B = "CC-A", "CC-B"
INSUFFICIENT = "urn:warehouse:problem:insufficient-stock"
IN_PROGRESS = "urn:warehouse:problem:idempotency-in-progress"
HTTP_TIMEOUT = 60


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def call(http: requests.Session, live: LiveServer, method: str, path: str, *, as_: str,
         json: Any = None, headers: dict[str, str] | None = None) -> Reply:
    all_headers = {**live.cast[as_].headers, **(headers or {})}
    with http.request(method, f"{live.url}/api/v1{path}", json=json, headers=all_headers,
                      timeout=HTTP_TIMEOUT) as response:
        body = response.json() if response.content else None
        return Reply(response.status_code, body, dict(response.headers))


def ok(http: requests.Session, live: LiveServer, method: str, path: str, *, as_: str = "admin1",
       json: Any = None) -> Any:
    reply = call(http, live, method, path, as_=as_, json=json)
    assert reply.status in (200, 201), (method, path, reply.status, reply.body)
    return reply.body


def adjustment(sku: str, location: str, quantity: int, reason: str = "concurrency test") -> dict[str, Any]:
    return {"sku": sku, "location": location, "quantity": quantity, "reason": reason}


def set_up(live: LiveServer, stock: dict[str, int]) -> None:
    """A warehouse with two bins and one item, and ``stock`` units found in each bin."""
    with requests.Session() as http:
        ok(http, live, "POST", "/warehouses",
           json={"code": "CC", "name": "Concurrency", "latitude": 1, "longitude": 2})
        for code in (BIN_A, BIN_B):
            ok(http, live, "POST", "/locations", json={"code": code, "warehouse": "CC", "type": "storage"})
        ok(http, live, "POST", "/items", json={"sku": SKU, "name": "Contended widget"})
        for location, quantity in stock.items():
            ok(http, live, "POST", "/stock/adjustments", as_="super1",
               json=adjustment(SKU, location, quantity, "initial stock"))


def on_hand(live: LiveServer, location: str) -> int:
    with requests.Session() as http:
        rows = ok(http, live, "GET", f"/stock?sku={SKU}&location={location}", as_="super1")
    return sum(row["on_hand"] for row in rows)


def invariants(live: LiveServer) -> dict[str, Any]:
    """The ledger check, over HTTP and directly on the database; both must agree."""
    with requests.Session() as http:
        report = ok(http, live, "GET", "/stock/invariants", as_="admin1")
    with live.database.reading() as session:
        direct = check_ledger(session)
    assert (report["ok"], report["moves"], report["breaches"]) == (direct.ok, direct.moves, direct.breaches)
    return report


def in_threads(count: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Run ``work(i, barrier)`` in ``count`` threads that start together; re-raise any failure."""
    barrier = threading.Barrier(count, timeout=60)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(count)]
        return [future.result() for future in futures]


def transfer(live: LiveServer, actor: int, source: str, destination: str, quantity: int) -> int:
    """Post one bin-to-bin transfer in its own transaction on the live server's database."""
    with live.app.app_context():
        with live.database.transaction() as session:
            move = post_move(session, item=item_by_sku(session, SKU), source=location_by_code(session, source),
                             destination=location_by_code(session, destination), quantity=quantity,
                             reason="rebalance", reason_code="transfer", actor_id=actor)
            return move.seq


# ------------------------------------------------------------------ (a) no oversell

def test_concurrent_write_offs_never_sell_stock_that_is_not_there(live_server: LiveServer) -> None:
    live = live_server
    set_up(live, {BIN_A: 100})
    threads, each = 16, 7

    def write_off_until_refused(number: int, barrier: threading.Barrier) -> list[Reply]:
        replies: list[Reply] = []
        with requests.Session() as http:
            barrier.wait()
            for _ in range(100 // each + 2):
                reply = call(http, live, "POST", "/stock/adjustments", as_=("super1", "super2")[number % 2],
                             json={**adjustment(SKU, BIN_A, -each, f"write-off by thread {number}"),
                                   "reason_code": "damaged"})
                replies.append(reply)
                if reply.status != 201:
                    break
        return replies

    per_thread = in_threads(threads, write_off_until_refused)
    replies = [reply for replies in per_thread for reply in replies]
    statuses = Counter(reply.status for reply in replies)
    assert set(statuses) <= {201, 409}, statuses
    successes = [reply.body for reply in replies if reply.status == 201]
    refusals = [reply.body for reply in replies if reply.status == 409]
    assert all(body["type"] == INSUFFICIENT and body["requested"] == each and 0 <= body["available"] < each
               for body in refusals), refusals
    # Every thread stopped on a refusal, so in the end fewer than 7 units were left: exactly
    # 14 write-offs went through, no more (oversell) and no fewer (a refusal while stock was there).
    assert all(thread_replies[-1].status == 409 for thread_replies in per_thread)
    assert len(refusals) == threads
    assert len(successes) * each <= 100
    assert len(successes) == 100 // each
    assert on_hand(live, BIN_A) == 100 - each * len(successes) == 2
    assert sorted(body["seq"] for body in successes) == list(range(2, 2 + len(successes)))
    report = invariants(live)
    assert report["ok"], report["breaches"]
    assert report["moves"] == 1 + len(successes)


# ------------------------------------------------------------------ (b) no deadlock

def test_concurrent_transfers_and_adjustments_both_ways_between_two_bins(live_server: LiveServer) -> None:
    live = live_server
    set_up(live, {BIN_A: 40, BIN_B: 40})
    actor = user_id(live.database, "super2")
    threads, operations = 8, 12

    def churn(number: int, barrier: threading.Barrier) -> list[tuple[str, str, str, int, Any]]:
        """Even threads adjust over HTTP, odd threads transfer; both directions, random sizes."""
        rng = random.Random(number)
        done: list[tuple[str, str, str, int, Any]] = []
        with requests.Session() as http:
            barrier.wait()
            for _ in range(operations):
                source, destination = rng.sample([BIN_A, BIN_B], 2)
                if number % 2 == 0:
                    quantity = rng.choice([-1, 1]) * rng.randint(1, 12)
                    reply = call(http, live, "POST", "/stock/adjustments", as_="super1",
                                 json=adjustment(SKU, source, quantity))
                    done.append(("adjust", source, "", quantity, reply))
                else:
                    quantity = rng.randint(1, 15)
                    try:
                        outcome: Any = transfer(live, actor, source, destination, quantity)
                    except InsufficientStock as refused:
                        outcome = refused
                    done.append(("transfer", source, destination, quantity, outcome))
        return done

    everything = [operation for operations_ in in_threads(threads, churn) for operation in operations_]
    assert len(everything) == threads * operations
    expected = {BIN_A: 40, BIN_B: 40}
    posted = 0
    for kind, source, destination, quantity, outcome in everything:
        if kind == "adjust":
            assert outcome.status in (201, 409), (outcome.status, outcome.body)  # no 500, no 503
            if outcome.status == 409:
                assert outcome.body["type"] == INSUFFICIENT and quantity < 0, outcome.body
                continue
            expected[source] += quantity
        else:
            if isinstance(outcome, InsufficientStock):
                continue
            assert isinstance(outcome, int)
            expected[source] -= quantity
            expected[destination] += quantity
        posted += 1
    assert posted > 0
    assert {BIN_A: on_hand(live, BIN_A), BIN_B: on_hand(live, BIN_B)} == expected
    report = invariants(live)
    assert report["ok"], report["breaches"]
    assert report["moves"] == 2 + posted


# ------------------------------------------------------------------ (c) one key, one move

def test_the_same_idempotency_key_sent_at_once_writes_exactly_one_move(live_server: LiveServer) -> None:
    live = live_server
    set_up(live, {BIN_A: 10})
    rounds, threads = 4, 8
    for round_ in range(rounds):
        key = f"cc-{round_}-{uuid.uuid4()}"
        body = adjustment(SKU, BIN_A, 3, f"found, round {round_}")

        def send(number: int, barrier: threading.Barrier) -> Reply:
            with requests.Session() as http:
                barrier.wait()
                return call(http, live, "POST", "/stock/adjustments", as_="super1", json=body,
                            headers={"Idempotency-Key": key})

        replies = in_threads(threads, send)
        assert {reply.status for reply in replies} <= {201, 409}, [(r.status, r.body) for r in replies]
        created = [reply for reply in replies if reply.status == 201]
        assert all(reply.body["type"] == IN_PROGRESS and reply.headers.get("Retry-After") == "1"
                   for reply in replies if reply.status == 409)
        originals = [reply for reply in created if "Idempotent-Replayed" not in reply.headers]
        assert len(originals) == 1, [(r.status, r.headers.get("Idempotent-Replayed")) for r in created]
        assert all(reply.headers["Idempotent-Replayed"] == "true" for reply in created if reply not in originals)
        seq = originals[0].body["seq"]
        assert {reply.body["seq"] for reply in created} == {seq}
        assert all(reply.body == originals[0].body for reply in created)

        with live.database.reading() as session:
            assert list(session.scalars(select(Move.seq).where(Move.idempotency_key == key))) == [seq]
        with requests.Session() as http:  # a retry after the dust settles gets the stored answer
            again = call(http, live, "POST", "/stock/adjustments", as_="super1", json=body,
                         headers={"Idempotency-Key": key})
        assert (again.status, again.headers.get("Idempotent-Replayed"), again.body) == (201, "true",
                                                                                        originals[0].body)

    assert on_hand(live, BIN_A) == 10 + 3 * rounds
    report = invariants(live)
    assert report["ok"], report["breaches"]
    assert report["moves"] == 1 + rounds


# ------------------------------------------------------------------ (d) the change feed never skips

def test_a_reader_paging_the_change_feed_while_writers_run_sees_every_move_once_in_order(
        live_server: LiveServer) -> None:
    live = live_server
    set_up(live, {BIN_A: 30, BIN_B: 30})
    actor = user_id(live.database, "super2")
    writers, writes, page_size = 4, 15, 4
    writers_done = threading.Event()

    def write(number: int, barrier: threading.Barrier) -> int:
        rng = random.Random(number)
        with requests.Session() as http:
            barrier.wait()
            for i in range(writes):
                if number == 0:  # one writer transfers: a move that is two changes on one page
                    source, destination = (BIN_A, BIN_B) if i % 2 == 0 else (BIN_B, BIN_A)
                    transfer(live, actor, source, destination, 1)
                else:
                    location = rng.choice([BIN_A, BIN_B])
                    ok(http, live, "POST", "/stock/adjustments", as_="super1",
                       json=adjustment(SKU, location, rng.randint(1, 3)))
        return writes

    def read() -> list[tuple[list[dict[str, Any]], int]]:
        pages: list[tuple[list[dict[str, Any]], int]] = []
        after = 0
        with requests.Session() as http:
            for _ in range(20_000):
                finished = writers_done.is_set()  # decided before the request: all writes committed
                feed = ok(http, live, "GET", f"/stock/changes?after={after}&limit={page_size}", as_="op1")
                pages.append((feed["changes"], feed["next_after"]))
                if not feed["changes"]:
                    assert feed["next_after"] == after
                    if finished:
                        return pages
                    time.sleep(0.002)
                after = feed["next_after"]
        raise AssertionError("the reader never caught up with the writers")

    with ThreadPoolExecutor(max_workers=1) as reader_pool:
        reader = reader_pool.submit(read)
        try:
            written = in_threads(writers, write)
        finally:
            writers_done.set()
        pages = reader.result()
    assert sum(written) == writers * writes

    collected = [change for changes, _ in pages for change in changes]
    for changes, next_after in pages:  # a page holds whole moves, at most page_size of them
        seqs = {change["seq"] for change in changes}
        assert len(seqs) <= page_size
        if changes:
            assert next_after == max(seqs)
    seen = [change["seq"] for change in collected]
    assert seen == sorted(seen), "the feed went back in seq"
    runs = [seq for i, seq in enumerate(seen) if i == 0 or seen[i - 1] != seq]
    assert len(runs) == len(set(runs)), "a move's changes were split or repeated"

    # The final ledger, read straight from the database: every move, as per-location changes.
    source, destination = aliased(Location), aliased(Location)
    with live.database.reading() as session:
        ledger = session.execute(
            select(Move.seq, Move.quantity, source.code, source.is_virtual, destination.code, destination.is_virtual)
            .join(source, Move.from_location_id == source.id)
            .join(destination, Move.to_location_id == destination.id)
            .order_by(Move.seq)).all()
    expected = []
    for seq, quantity, from_code, from_virtual, to_code, to_virtual in ledger:
        if not from_virtual:
            expected.append((seq, from_code, -quantity))
        if not to_virtual:
            expected.append((seq, to_code, quantity))
    assert [row[0] for row in ledger] == list(range(1, len(ledger) + 1))
    assert len(ledger) == 2 + writers * writes
    assert runs == [row[0] for row in ledger], "the reader skipped (or invented) a move"
    assert [(c["seq"], c["location"], c["quantity"]) for c in collected] == expected
    report = invariants(live)
    assert report["ok"], report["breaches"]


# ------------------------------------------------------------------ (e) the same new lot at once

def test_concurrent_receipts_of_the_same_new_lot_all_land_in_one_lot(live_server: LiveServer) -> None:
    live = live_server
    set_up(live, {})
    with requests.Session() as http:
        ok(http, live, "POST", "/items", json={"sku": "CC-LOT", "name": "Lotted", "tracking": "lot"})

    def receive(number: int, barrier: threading.Barrier) -> Reply:
        with requests.Session() as http:
            barrier.wait()
            return call(http, live, "POST", "/stock/adjustments", as_="super1",
                        json={**adjustment("CC-LOT", BIN_A, 2, f"found {number}"), "lot": "NEW-1"})

    replies = in_threads(8, receive)
    assert [r.status for r in replies] == [201] * 8, [r.body for r in replies if r.status != 201]
    with requests.Session() as http:
        rows = ok(http, live, "GET", "/stock?sku=CC-LOT", as_="super1")
    assert [(row["lot"], row["on_hand"]) for row in rows] == [("NEW-1", 16)]
    assert invariants(live)["ok"] is True
