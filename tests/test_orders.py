"""Orders and allocation: intake, nearest-warehouse allocation, backorders, availability, pick tasks made
from orders' reservations, bad input, and many concurrent clients over real HTTP.

The `site` fixture has W1 (Amsterdam, bins W1-A1, W1-A2, W1-P1) and W2 (Munich, bin W2-A1). Ship-tos
near Amsterdam (Utrecht) and near Munich (Augsburg) pick the warehouse that is nearest. Orders are
placed by the integration user ``shop`` (the order system).
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from typing import Any

import requests
from sqlalchemy import func, select

from tests.conftest import Api, LiveServer, table_counts
from tests.test_concurrency import call, in_threads, invariants, ok
from warehouse.db import Database
from warehouse.orders.models import LIVE_ALLOCATIONS, AllocationStatus, Order, OrderAllocation, OrderLine
from warehouse.stock.models import StockLevel

V1 = "/api/v1"
NEAR_W1 = {"latitude": 52.09, "longitude": 5.12}  # Utrecht
NEAR_W2 = {"latitude": 48.37, "longitude": 10.90}  # Augsburg


def stock(api: Api, location: str, sku: str, quantity: int, **extra: Any) -> None:
    api.ok("POST", f"{V1}/stock/adjustments", {"sku": sku, "location": location, "quantity": quantity,
                                                "reason": "initial", **extra})


def order_body(external_id: str, lines: list[tuple[str, int]], ship_to: dict[str, Any] = NEAR_W1,
               paid: bool = True) -> dict[str, Any]:
    return {"external_id": external_id, "paid": paid, "ship_to": ship_to,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines]}


def place(api: Api, external_id: str, lines: list[tuple[str, int]], ship_to: dict[str, Any] = NEAR_W1,
          paid: bool = True, status: int = 201) -> Any:
    return api.ok("POST", f"{V1}/orders", order_body(external_id, lines, ship_to, paid), as_="shop", status=status)


def where(order: dict[str, Any]) -> list[list[tuple[str, str, str | None, int]]]:
    return [[(a["warehouse"], a["location"], a["lot"], a["quantity"]) for a in line["allocations"]]
            for line in order["lines"]]


def available(api: Api, sku: str) -> dict[str, int]:
    body = api.ok("GET", f"{V1}/availability?sku={sku}", as_="shop")
    return {"total": body["available"], **{row["warehouse"]: row["available"] for row in body["warehouses"]}}


def reserved_matches_live_allocations(db: Database) -> None:
    """Every bucket's reserved equals what live (reserved) order allocations hold there."""
    with db.reading() as session:
        levels = {(row.location_id, row.item_id, row.lot_key): int(row.reserved) for row in session.execute(
            select(StockLevel.location_id, StockLevel.item_id, StockLevel.lot_key, StockLevel.reserved)
            .where(StockLevel.is_virtual.is_(False)))}
        held: dict[tuple[int, int, int], int] = defaultdict(int)
        for row in session.execute(select(OrderAllocation.location_id, OrderAllocation.item_id,
                                          func.coalesce(OrderAllocation.lot_id, 0), OrderAllocation.quantity)
                                   .where(OrderAllocation.status == AllocationStatus.RESERVED.value)):
            held[(row[0], row[1], row[2])] += int(row[3])
    assert {key: value for key, value in levels.items() if value} == dict(held)


# ---------------------------------------------------------------- the contract

def test_contract_of_a_paid_order_allocated_from_the_nearest_warehouse(api: Api, db: Database,
                                                                       site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    response = api.post(f"{V1}/orders", order_body("SO-1", [("PLAIN", 3)]), as_="shop")
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert {"id", "external_id", "status", "lines"} <= set(order)
    assert order["external_id"] == "SO-1" and order["status"] == "allocated" and isinstance(order["id"], int)
    assert order["lines"] == [{"sku": "PLAIN", "quantity": 3, "backordered": 0, "shipped": 0, "allocations": [
        {"warehouse": "W1", "location": "W1-A1", "lot": None, "quantity": 3}]}]
    assert api.ok("GET", f"{V1}/orders/{order['id']}", as_="op1") == order  # reads need stock:read only
    assert available(api, "PLAIN") == {"total": 2, "W1": 2, "W2": 0}
    reserved_matches_live_allocations(db)


def test_unpaid_order_waits_and_is_allocated_at_payment(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    order = place(api, "SO-2", [("PLAIN", 2)], paid=False)
    assert order["status"] == "pending_payment" and order["lines"][0]["allocations"] == []
    assert available(api, "PLAIN")["total"] == 5  # nothing is held before payment
    paid = api.ok("POST", f"{V1}/orders/{order['id']}/pay", as_="shop")
    assert paid["status"] == "allocated" and where(paid) == [[("W1", "W1-A1", None, 2)]]
    again = api.post(f"{V1}/orders/{order['id']}/pay", as_="shop")
    assert again.status_code == 409 and again.get_json()["reason"] == "already_paid"
    reserved_matches_live_allocations(db)


# ---------------------------------------------------------------- choosing warehouses

def test_nearest_warehouse_with_stock_wins(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    stock(api, "W2-A1", "PLAIN", 5)
    assert where(place(api, "SO-N1", [("PLAIN", 2)], NEAR_W2)) == [[("W2", "W2-A1", None, 2)]]
    assert where(place(api, "SO-N2", [("PLAIN", 2)], NEAR_W1)) == [[("W1", "W1-A1", None, 2)]]


def test_whole_order_from_one_warehouse_beats_a_nearer_partial_one(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)  # near, but has no syrup
    stock(api, "W2-A1", "PLAIN", 5)
    stock(api, "W2-A1", "LOTTED", 5, lot="L1", expiry="2030-01-31")
    order = place(api, "SO-W", [("PLAIN", 2), ("LOTTED", 1)], NEAR_W1)
    assert order["status"] == "allocated"
    assert where(order) == [[("W2", "W2-A1", None, 2)], [("W2", "W2-A1", "L1", 1)]]


def test_split_across_warehouses_only_when_no_single_one_can(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 3)
    stock(api, "W2-A1", "PLAIN", 4)
    order = place(api, "SO-S", [("PLAIN", 6)], NEAR_W1)
    assert order["status"] == "allocated"
    assert where(order) == [[("W1", "W1-A1", None, 3), ("W2", "W2-A1", None, 3)]]
    assert available(api, "PLAIN") == {"total": 1, "W1": 0, "W2": 1}


def test_what_cannot_be_filled_is_backordered_and_retried(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 4)
    partial = place(api, "SO-B1", [("PLAIN", 7)])
    assert partial["status"] == "partially_allocated"
    assert partial["lines"][0]["backordered"] == 3 and where(partial) == [[("W1", "W1-A1", None, 4)]]
    nothing = place(api, "SO-B2", [("PLAIN", 1)])
    assert nothing["status"] == "backordered" and nothing["lines"][0]["backordered"] == 1
    assert available(api, "PLAIN")["total"] == 0  # never below zero, never oversold
    stock(api, "W2-A1", "PLAIN", 3)  # goods arrive; the order system retries
    retried = api.ok("POST", f"{V1}/orders/{partial['id']}/allocate", as_="shop")
    assert retried["status"] == "allocated" and retried["lines"][0]["backordered"] == 0
    assert where(retried) == [[("W1", "W1-A1", None, 4), ("W2", "W2-A1", None, 3)]]
    reserved_matches_live_allocations(db)


def test_fefo_earliest_expiry_is_reserved_first(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "LOTTED", 4, lot="L-LATE", expiry="2031-06-30")
    stock(api, "W1-A2", "LOTTED", 2, lot="L-EARLY", expiry="2030-01-31")
    order = place(api, "SO-F", [("LOTTED", 3)])
    assert where(order) == [[("W1", "W1-A2", "L-EARLY", 2), ("W1", "W1-A1", "L-LATE", 1)]]


def test_postcode_ship_to_is_placed_from_the_table(api: Api, db: Database, site: dict[str, Any]) -> None:
    from warehouse.orders.services import load_postcodes

    with db.transaction() as session:
        assert load_postcodes(session, "country,postcode,latitude,longitude\nde,86150,48.37,10.90\n") == 1
    stock(api, "W1-A1", "PLAIN", 5)
    stock(api, "W2-A1", "PLAIN", 5)
    order = place(api, "SO-P", [("PLAIN", 1)], {"postcode": "86150", "country": "DE"})
    assert where(order) == [[("W2", "W2-A1", None, 1)]]


# ---------------------------------------------------------------- cancel and change

def test_cancel_releases_the_reservations(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    order = place(api, "SO-C", [("PLAIN", 4)])
    assert available(api, "PLAIN")["total"] == 1
    cancelled = api.ok("POST", f"{V1}/orders/{order['id']}/cancel", as_="shop")
    assert cancelled["status"] == "cancelled" and cancelled["lines"][0]["allocations"] == []
    assert available(api, "PLAIN")["total"] == 5
    assert api.post(f"{V1}/orders/{order['id']}/cancel", as_="shop").status_code == 409
    assert api.post(f"{V1}/orders/{order['id']}/allocate", as_="shop").status_code == 409
    reserved_matches_live_allocations(db)


def test_changing_the_lines_releases_and_reallocates(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    stock(api, "W1-A2", "LOTTED", 2, lot="L1", expiry="2030-01-31")
    order = place(api, "SO-CH", [("PLAIN", 5)])
    assert available(api, "PLAIN")["total"] == 0
    changed = api.ok("PUT", f"{V1}/orders/{order['id']}/lines",
                     {"lines": [{"sku": "PLAIN", "quantity": 2}, {"sku": "LOTTED", "quantity": 3}]}, as_="shop")
    assert changed["status"] == "partially_allocated"
    assert where(changed) == [[("W1", "W1-A1", None, 2)], [("W1", "W1-A2", "L1", 2)]]
    assert [line["backordered"] for line in changed["lines"]] == [0, 1]
    assert available(api, "PLAIN")["total"] == 3 and available(api, "LOTTED")["total"] == 0
    reserved_matches_live_allocations(db)


# ---------------------------------------------------------------- availability

def test_availability_per_warehouse_and_in_total(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    stock(api, "W1-P1", "PLAIN", 2)
    stock(api, "W2-A1", "PLAIN", 4)
    stock(api, "W1-DOCK", "PLAIN", 9)  # in receiving: not promisable until put away
    place(api, "SO-AV", [("PLAIN", 3)])
    body = api.ok("GET", f"{V1}/availability?sku=PLAIN", as_="shop")
    assert body == {"sku": "PLAIN", "available": 8,
                    "warehouses": [{"warehouse": "W1", "available": 4}, {"warehouse": "W2", "available": 4}]}
    unknown = api.get(f"{V1}/availability?sku=NOPE", as_="shop")
    assert unknown.status_code == 422 and "sku" in unknown.get_json()["errors"]


# ---------------------------------------------------------------- idempotency and duplicates

def test_idempotency_key_replay_and_reuse(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    headers = {"Idempotency-Key": "order-key-1"}
    first = api.post(f"{V1}/orders", order_body("SO-I", [("PLAIN", 2)]), as_="shop", headers=headers)
    assert first.status_code == 201
    before = table_counts(db)
    replay = api.post(f"{V1}/orders", order_body("SO-I", [("PLAIN", 2)]), as_="shop", headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    other = api.post(f"{V1}/orders", order_body("SO-I2", [("PLAIN", 1)]), as_="shop", headers=headers)
    assert other.status_code == 422 and other.get_json()["type"].endswith("idempotency-key-reused")
    assert table_counts(db) == before
    assert available(api, "PLAIN")["total"] == 3


def test_duplicate_external_id_same_body_is_the_order_another_body_409(api: Api, db: Database,
                                                                      site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    first = place(api, "SO-D", [("PLAIN", 2)])
    before = table_counts(db)
    again = place(api, "SO-D", [("PLAIN", 2)], status=200)
    assert again == first
    different = api.post(f"{V1}/orders", order_body("SO-D", [("PLAIN", 3)]), as_="shop")
    assert different.status_code == 409 and different.get_json()["reason"] == "external_id_reused"
    assert table_counts(db) == before
    assert available(api, "PLAIN")["total"] == 3


# ---------------------------------------------------------------- bad input writes nothing

def test_bad_input_is_refused_and_writes_nothing(api: Api, db: Database, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    good = order_body("SO-BAD", [("PLAIN", 1)])
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "lines.0.sku"),
        ({**good, "lines": [{"sku": "PLAIN", "quantity": 0}]}, 422, "lines"),
        ({**good, "lines": [{"sku": "PLAIN", "quantity": -3}]}, 422, "lines"),
        ({**good, "lines": [{"sku": "PLAIN", "quantity": 10**12}]}, 422, "lines"),
        ({**good, "lines": [{"sku": "PLAIN", "quantity": 1}, {"sku": "PLAIN", "quantity": 1}]}, 422, "lines.1.sku"),
        ({**good, "lines": [{"sku": "SERIAL", "quantity": 1}]}, 422, "lines.0.sku"),
        ({**good, "lines": []}, 422, "lines"),
        ({**good, "ship_to": {"latitude": 91, "longitude": 4.9}}, 422, "ship_to"),
        ({**good, "ship_to": {"latitude": 52.0, "longitude": -181}}, 422, "ship_to"),
        ({**good, "ship_to": {"latitude": 52.0}}, 422, "ship_to"),
        ({**good, "ship_to": {"latitude": "52.0", "longitude": 4.9}}, 422, "ship_to"),
        ({**good, "ship_to": {}}, 422, "ship_to"),
        ({**good, "ship_to": {"postcode": "99999", "country": "NL"}}, 422, "ship_to.postcode"),
        ({**good, "paid": "yes"}, 422, "paid"),
    ]
    before = table_counts(db)
    for body, status, field in cases:
        response = api.post(f"{V1}/orders", body, as_="shop")
        assert response.status_code == status, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())
    place(api, "SO-BAD", [("PLAIN", 1)])  # control
    after_control = table_counts(db)
    assert api.post(f"{V1}/orders", order_body("SO-BAD", [("PLAIN", 2)]), as_="shop").status_code == 409
    assert table_counts(db) == after_control != before
    assert api.post(f"{V1}/orders", good, as_="op1").status_code == 403  # operators do not place orders


# ---------------------------------------------------------------- reservations feed pick tasks

def test_pick_task_takes_over_the_orders_reservations(api: Api, db: Database, site: dict[str, Any]) -> None:
    api.ok("POST", f"{V1}/locations", {"code": "W1-PACK", "warehouse": "W1", "type": "packing"})
    stock(api, "W1-A1", "PLAIN", 5)
    one = place(api, "SO-PK1", [("PLAIN", 2)])
    two = place(api, "SO-PK2", [("PLAIN", 2)])
    assert available(api, "PLAIN")["total"] == 1
    task = api.ok("POST", f"{V1}/orders/pick-tasks", {"warehouse": "W1", "orders": [one["id"], two["id"]]},
                  as_="super1")
    assert [(line["location"], line["order"], line["expected_quantity"]) for line in task["lines"]] == [
        ("W1-A1", "SO-PK1", 2), ("W1-A1", "SO-PK2", 2)]
    assert available(api, "PLAIN")["total"] == 1  # nothing reserved twice
    again = api.post(f"{V1}/orders/pick-tasks", {"warehouse": "W1", "orders": [one["id"]]}, as_="super1")
    assert again.status_code == 409  # already on a pick task
    assert api.post(f"{V1}/orders/{one['id']}/cancel", as_="shop").status_code == 409  # being picked
    reserved_matches_live_allocations(db)
    # The first line is picked in full; the second bin turns out to hold only 1 for the second order.
    picked = api.post(f"{V1}/tasks/{task['id']}/lines/1/confirm", {"location": "W1-A1", "item": "PLAIN",
                                                                    "quantity": 2}, as_="op1")
    assert picked.status_code == 200, picked.get_json()
    short = api.post(f"{V1}/tasks/{task['id']}/lines/2/confirm", {"location": "W1-A1", "item": "PLAIN",
                                                                   "quantity": 1}, as_="op1")
    assert short.status_code == 200, short.get_json()
    with db.reading() as session:
        statuses = sorted((o.external_id, a.status, a.quantity) for o, a in session.execute(
            select(Order, OrderAllocation).join(OrderLine, OrderLine.order_id == Order.id)
            .join(OrderAllocation, OrderAllocation.line_id == OrderLine.id)))
    assert statuses == [("SO-PK1", "picked", 2), ("SO-PK2", "picked", 1), ("SO-PK2", "released", 1)]
    second = api.ok("GET", f"{V1}/orders/{two['id']}", as_="shop")
    assert second["status"] == "partially_allocated" and second["lines"][0]["backordered"] == 1
    rows = api.ok("GET", f"{V1}/stock?sku=PLAIN&location=W1-A1")
    assert [(row["on_hand"], row["reserved"]) for row in rows] == [(2, 0)]


def test_cancelling_the_pick_task_hands_reservations_back_to_the_orders(api: Api, db: Database,
                                                                       site: dict[str, Any]) -> None:
    api.ok("POST", f"{V1}/locations", {"code": "W1-PACK", "warehouse": "W1", "type": "packing"})
    stock(api, "W1-A1", "PLAIN", 5)
    order = place(api, "SO-PK3", [("PLAIN", 3)])
    task = api.ok("POST", f"{V1}/orders/pick-tasks", {"warehouse": "W1", "orders": [order["id"]]}, as_="super1")
    api.ok("POST", f"{V1}/tasks/{task['id']}/cancel", {"reason": "wave re-planned"}, as_="super1")
    assert available(api, "PLAIN")["total"] == 2  # still the order's
    reserved_matches_live_allocations(db)
    cancelled = api.ok("POST", f"{V1}/orders/{order['id']}/cancel", as_="shop")
    assert cancelled["status"] == "cancelled" and available(api, "PLAIN")["total"] == 5


def test_picking_own_pick_tasks_still_reserve_on_their_own(api: Api, site: dict[str, Any]) -> None:
    api.ok("POST", f"{V1}/locations", {"code": "W1-PACK", "warehouse": "W1", "type": "packing"})
    stock(api, "W1-A1", "PLAIN", 5)
    place(api, "SO-PK4", [("PLAIN", 3)])
    task = api.ok("POST", f"{V1}/pick-tasks", {"warehouse": "W1", "orders": [
        {"order": "EXT-1", "lines": [{"sku": "PLAIN", "quantity": 5}]}]}, as_="super1")
    assert task["details"]["short"] == [{"order": "EXT-1", "sku": "PLAIN", "quantity": 3}]  # the order's 3 stay held


# ---------------------------------------------------------------- many concurrent clients

def test_concurrent_orders_on_scarce_stock_never_oversell(live_server: LiveServer) -> None:
    """16 clients place orders (some unpaid then paid, some cancelled, some changed) for the same scarce
    SKUs stocked in two warehouses. PostgreSQL: 1,024 orders; SQLite (one writer at a time): 320. Orders are
    planned unlocked and reserved by guarded updates; an order whose guard refuses (another took the
    units first) is planned again under locks."""
    live = live_server
    threads = 16
    per_thread = 32 if live.database.backend == "postgresql" else 20
    skus = ["HOT-1", "HOT-2", "HOT-3"]
    initial = {("CA", "HOT-1"): 150, ("CA", "HOT-2"): 60, ("CB", "HOT-1"): 120, ("CB", "HOT-3"): 90,
               ("CB", "HOT-2"): 40}
    with requests.Session() as http:
        for code, lat, lon in (("CA", 52.37, 4.89), ("CB", 48.14, 11.58)):
            ok(http, live, "POST", "/warehouses", json={"code": code, "name": code, "latitude": lat, "longitude": lon})
            for bin_ in ("A", "B"):
                ok(http, live, "POST", "/locations", json={"code": f"{code}-{bin_}", "warehouse": code,
                                                           "type": "storage"})
        for sku in skus:
            ok(http, live, "POST", "/items", json={"sku": sku, "name": sku})
        for (code, sku), quantity in initial.items():
            for bin_, share in (("A", quantity // 3), ("B", quantity - quantity // 3)):
                ok(http, live, "POST", "/stock/adjustments", as_="super1",
                   json={"sku": sku, "location": f"{code}-{bin_}", "quantity": share, "reason": "initial"})
    ship_tos = [{"latitude": 52.0, "longitude": 5.0}, {"latitude": 48.5, "longitude": 11.0},
                {"latitude": 50.1, "longitude": 8.7}]

    def client(number: int, barrier: threading.Barrier) -> list[tuple[int, str]]:
        import random

        rng = random.Random(number)
        placed: list[tuple[int, str]] = []
        with requests.Session() as http:
            barrier.wait()
            for index in range(per_thread):
                lines = [{"sku": sku, "quantity": rng.randint(1, 4)} for sku in rng.sample(skus, rng.randint(1, 3))]
                paid = rng.random() < 0.8
                body = {"external_id": f"C-{number}-{index}", "paid": paid, "ship_to": rng.choice(ship_tos),
                        "lines": lines}
                reply = call(http, live, "POST", "/orders", as_="shop", json=body,
                             headers={"Idempotency-Key": uuid.uuid4().hex})
                assert reply.status == 201, reply.body
                order = reply.body
                roll = rng.random()
                path = f"/orders/{order['id']}"
                if not paid:
                    reply = call(http, live, "POST", f"{path}/pay", as_="shop")
                elif roll < 0.1:
                    reply = call(http, live, "POST", f"{path}/cancel", as_="shop")
                elif roll < 0.15:
                    reply = call(http, live, "PUT", f"{path}/lines", as_="shop",
                                 json={"lines": [{"sku": rng.choice(skus), "quantity": rng.randint(1, 5)}]})
                elif roll < 0.2:
                    reply = call(http, live, "POST", f"{path}/allocate", as_="shop")
                assert reply.status in (200, 201), reply.body
                placed.append((order["id"], reply.body["status"]))
        return placed

    results = [entry for entries in in_threads(threads, client) for entry in entries]
    assert len(results) == threads * per_thread
    with live.database.reading() as session:
        levels = session.execute(select(StockLevel.on_hand, StockLevel.reserved)
                                 .where(StockLevel.is_virtual.is_(False))).all()
        assert all(reserved <= on_hand and reserved >= 0 for on_hand, reserved in levels)
        orders = {order.id: order for order in session.scalars(select(Order))}
        assert len(orders) == threads * per_thread
        for order_id, last_status in results:
            order = orders[order_id]
            assert order.status == last_status
            live_units = [sum(a.quantity for a in line.allocations if a.status in LIVE_ALLOCATIONS)
                          for line in order.lines]
            if order.status == "cancelled":
                assert live_units == [0] * len(order.lines)
                continue
            assert all(held + line.backordered == line.quantity for held, line in zip(live_units, order.lines))
            backordered = sum(line.backordered for line in order.lines)
            expected = ("allocated" if backordered == 0 else "backordered"
                        if backordered == sum(line.quantity for line in order.lines) else "partially_allocated")
            assert order.status == expected, (order.external_id, order.status, expected)
        total_reserved = sum(int(reserved) for _, reserved in levels)
        total_on_hand = sum(int(on_hand) for on_hand, _ in levels)
    assert total_on_hand == sum(initial.values())
    reserved_matches_live_allocations(live.database)
    with requests.Session() as http:
        for sku in skus:
            body = ok(http, live, "GET", f"/availability?sku={sku}", as_="shop")
            assert body["available"] >= 0 and all(row["available"] >= 0 for row in body["warehouses"])
    statuses = {status for _, status in results}
    assert {"allocated", "backordered"} <= statuses, statuses  # the stock really ran out
    assert total_reserved > 0
    report = invariants(live)
    assert report["ok"], report["breaches"]


def test_a_replayed_duplicate_answers_what_it_answered_first(api: Api, site: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    place(api, "SO-R", [("PLAIN", 1)])
    headers = {"Idempotency-Key": "dup-key"}
    duplicate = api.post(f"{V1}/orders", order_body("SO-R", [("PLAIN", 1)]), as_="shop", headers=headers)
    replayed = api.post(f"{V1}/orders", order_body("SO-R", [("PLAIN", 1)]), as_="shop", headers=headers)
    assert (duplicate.status_code, replayed.status_code) == (200, 200)
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json() == duplicate.get_json()


def first_reservation_refused(monkeypatch: Any) -> list[int]:
    """Make allocation's first guarded reservation refuse, as if a concurrent order had just taken the
    units, after it really reserved them (the rollback must undo that). Returns the refused quantities."""
    from warehouse.orders import services

    refused: list[int] = []
    real = services.try_reserve

    def first_refuses(session: Any, **kwargs: Any) -> bool:
        if not refused:
            refused.append(kwargs["quantity"])
            assert real(session, **kwargs)
            return False
        return real(session, **kwargs)

    monkeypatch.setattr(services, "try_reserve", first_refuses)
    return refused


def test_an_allocation_that_loses_a_race_is_planned_again_under_locks(api: Api, db: Database, site: dict[str, Any],
                                                                     monkeypatch: Any) -> None:
    """Orders are planned from an unlocked read and reserved with guarded updates; when a guard refuses
    (another order took the units meanwhile), the attempt is rolled back and the order planned again with
    the rows locked. Here the first guard is made to refuse, as a concurrent order would."""
    stock(api, "W1-A1", "PLAIN", 2)
    stock(api, "W1-A2", "PLAIN", 5)
    refused = first_reservation_refused(monkeypatch)
    order = place(api, "SO-RACE", [("PLAIN", 4)])
    assert refused == [2]
    assert order["status"] == "allocated"
    assert where(order) == [[("W1", "W1-A1", None, 2), ("W1", "W1-A2", None, 2)]]
    assert available(api, "PLAIN") == {"total": 3, "W1": 3, "W2": 0}
    reserved_matches_live_allocations(db)
    with db.reading() as session:
        assert len(session.scalars(select(OrderAllocation)).all()) == 2  # the refused plan left nothing behind


def test_a_one_bucket_allocation_that_loses_a_race_is_planned_again_under_locks(api: Api, db: Database,
                                                                                site: dict[str, Any],
                                                                                monkeypatch: Any) -> None:
    """A plan of one bucket is reserved by one guarded UPDATE in the allocation's own savepoint. When the
    guard refuses (a refused UPDATE can still leave the row locked), the savepoint is rolled back and the
    new order, already written, is planned again under locks; the answer is what is stored."""
    stock(api, "W1-A1", "PLAIN", 5)
    refused = first_reservation_refused(monkeypatch)
    order = place(api, "SO-RACE-1", [("PLAIN", 3)])
    assert refused == [3]
    assert order["status"] == "allocated" and where(order) == [[("W1", "W1-A1", None, 3)]]
    assert api.ok("GET", f"{V1}/orders/{order['id']}", as_="op1") == order
    assert available(api, "PLAIN") == {"total": 2, "W1": 2, "W2": 0}
    reserved_matches_live_allocations(db)
    with db.reading() as session:
        assert len(session.scalars(select(OrderAllocation)).all()) == 1  # the refused plan left nothing behind
