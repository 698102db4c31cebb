"""Shipping an order: what passed the pack check leaves for the customer through the ledger, the order
says what shipped, and ``order.shipped`` goes out with the lines and lots; partial shipments; a re-pick
after a rejected short pick still belongs to its order.

The `site` fixture has W1 (bins W1-A1, W1-A2, W1-P1) and W2; a packing station W1-PACK is added here.
Orders are placed by ``shop`` (the order system), pick tasks made by ``super1``, picked and packed by
``op1``, shipped by ``op2``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Api, table_counts
from tests.test_orders import NEAR_W1, place, reserved_matches_live_allocations, stock
from warehouse.db import Database
from warehouse.webhooks.models import WebhookDelivery

V1 = "/api/v1"


@pytest.fixture
def shop_floor(api: Api, site: dict[str, Any]) -> dict[str, Any]:
    api.ok("POST", f"{V1}/locations", {"code": "W1-PACK", "warehouse": "W1", "type": "packing"})
    api.ok("POST", f"{V1}/webhooks/subscriptions", {"url": "https://orders.example.com/hooks",
                                                    "events": ["order.shipped", "stock.changed"]}, as_="shop")
    return site


def levels(api: Api, sku: str) -> dict[tuple[str, str | None], tuple[int, int]]:
    return {(row["location"], row["lot"]): (row["on_hand"], row["reserved"])
            for row in api.ok("GET", f"{V1}/stock?sku={sku}")}


def ledger_ok(api: Api) -> None:
    report = api.ok("GET", f"{V1}/stock/invariants")
    assert report["ok"], report["breaches"]


def confirmed(api: Api, task: int, line: int, as_: str = "op1", **body: Any) -> Any:
    response = api.post(f"{V1}/tasks/{task}/lines/{line}/confirm", body, as_=as_)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def pick_all(api: Api, order_ids: list[int]) -> dict[str, Any]:
    """A pick task for the orders, every line picked in full; returns the packing task."""
    task = api.ok("POST", f"{V1}/orders/pick-tasks", {"warehouse": "W1", "orders": order_ids}, as_="super1")
    for line in task["lines"]:
        confirmed(api, task["id"], line["line_no"], location=line["location"], item=line["sku"],
                  quantity=line["expected_quantity"])
    return api.ok("GET", f"{V1}/pick-tasks/{task['id']}/packing")


def shipped_events(db: Database) -> list[dict[str, Any]]:
    with db.reading() as session:
        return [json.loads(body) for body in session.scalars(
            select(WebhookDelivery.body).where(WebhookDelivery.event_type == "order.shipped")
            .order_by(WebhookDelivery.id))]


def test_packed_goods_ship_to_the_customer_and_order_shipped_carries_lines_and_lots(
        api: Api, db: Database, shop_floor: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 5)
    stock(api, "W1-A2", "LOTTED", 4, lot="L-1", expiry="2031-01-31")
    order = place(api, "SO-SHIP", [("PLAIN", 3), ("LOTTED", 2)], NEAR_W1)
    early = api.post(f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert early.status_code == 409 and early.get_json()["reason"] == "nothing_to_ship"
    packing = pick_all(api, [order["id"]])
    for line in packing["lines"]:
        confirmed(api, packing["id"], line["line_no"], location="W1-PACK", item=line["sku"],
                  quantity=line["expected_quantity"])
    assert levels(api, "PLAIN")[("W1-PACK", None)] == (3, 0)

    headers = {"Idempotency-Key": "ship-SO-SHIP"}
    response = api.post(f"{V1}/orders/{order['id']}/ship", as_="op2", headers=headers)
    assert response.status_code == 200, response.get_json()
    shipped = response.get_json()
    assert shipped["status"] == "shipped"
    assert [(line["sku"], line["quantity"], line["shipped"], line["backordered"]) for line in shipped["lines"]] == [
        ("PLAIN", 3, 3, 0), ("LOTTED", 2, 2, 0)]
    # The goods left the station for the customer; the bins keep what was not ordered.
    assert levels(api, "PLAIN") == {("W1-A1", None): (2, 0)}
    assert levels(api, "LOTTED") == {("W1-A2", "L-1"): (2, 0)}
    ledger_ok(api)
    reserved_matches_live_allocations(db)

    [event] = shipped_events(db)
    assert event["type"] == "order.shipped"
    data = event["data"]
    assert (data["external_id"], data["status"]) == ("SO-SHIP", "shipped")
    assert sorted((part["sku"], part["lot"], part["expiry"], part["quantity"], part["warehouse"])
                  for part in data["shipment"]) == [("LOTTED", "L-1", "2031-01-31", 2, "W1"),
                                                    ("PLAIN", None, None, 3, "W1")]
    assert [(line["sku"], line["shipped"]) for line in data["lines"]] == [("PLAIN", 3), ("LOTTED", 2)]

    # A retry with the key answers the same; without it there is nothing left to ship and nothing changes.
    before = table_counts(db)
    replay = api.post(f"{V1}/orders/{order['id']}/ship", as_="op2", headers=headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == shipped
    again = api.post(f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert again.status_code == 409 and again.get_json()["reason"] == "nothing_to_ship"
    assert table_counts(db) == before
    assert api.post(f"{V1}/orders/{order['id']}/cancel", as_="shop").status_code == 409
    assert api.post(f"{V1}/orders/{order['id']}/ship", as_="shop").status_code == 403  # floor work


def test_partial_shipment_then_the_rest_and_units_lost_at_packing_are_backordered(
        api: Api, db: Database, shop_floor: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 10)
    stock(api, "W1-A2", "LOTTED", 10, lot="L-1", expiry="2031-01-31")
    order = place(api, "SO-PART", [("PLAIN", 5), ("LOTTED", 3)], NEAR_W1)
    packing = pick_all(api, [order["id"]])
    lines = {line["sku"]: line["line_no"] for line in packing["lines"]}
    before = table_counts(db)
    not_packed = api.post(f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert not_packed.status_code == 409 and not_packed.get_json()["reason"] == "not_packed"
    assert table_counts(db) == before

    confirmed(api, packing["id"], lines["LOTTED"], location="W1-PACK", item="LOTTED", quantity=3)
    mismatch = confirmed(api, packing["id"], lines["PLAIN"], location="W1-PACK", item="PLAIN", quantity=4)
    assert mismatch["discrepancy_id"]
    first = api.ok("POST", f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert first["status"] == "partially_shipped"
    assert [(line["sku"], line["shipped"]) for line in first["lines"]] == [("PLAIN", 0), ("LOTTED", 3)]
    assert levels(api, "PLAIN")[("W1-PACK", None)] == (5, 0)  # still waiting at the station

    # One PLAIN fell behind the belt: approved, it is written off; four ship, the fifth is owed.
    api.ok("POST", f"{V1}/discrepancies/{mismatch['discrepancy_id']}/approve",
           {"reason_code": "lost", "reason": "fell behind the belt"}, as_="super1")
    rest = api.ok("POST", f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert [(line["sku"], line["shipped"], line["backordered"]) for line in rest["lines"]] == [
        ("PLAIN", 4, 1), ("LOTTED", 3, 0)]
    assert rest["status"] == "partially_shipped"
    assert ("W1-PACK", None) not in levels(api, "PLAIN")
    events = shipped_events(db)
    assert [[(part["sku"], part["quantity"]) for part in event["data"]["shipment"]] for event in events] == [
        [("LOTTED", 3)], [("PLAIN", 4)]]
    ledger_ok(api)
    reserved_matches_live_allocations(db)

    # The owed unit is allocated again and, once picked and packed, ships too.
    retried = api.ok("POST", f"{V1}/orders/{order['id']}/allocate", as_="shop")
    assert retried["lines"][0]["backordered"] == 0
    packing = pick_all(api, [order["id"]])
    [line] = packing["lines"]
    confirmed(api, packing["id"], line["line_no"], location="W1-PACK", item="PLAIN", quantity=1)
    done = api.ok("POST", f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert done["status"] == "shipped"
    assert [(line["sku"], line["shipped"]) for line in done["lines"]] == [("PLAIN", 5), ("LOTTED", 3)]
    ledger_ok(api)


def test_a_rejected_short_picks_re_pick_stays_the_orders_and_ships(api: Api, db: Database,
                                                                   shop_floor: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 4)
    stock(api, "W1-A2", "PLAIN", 10)
    order = place(api, "SO-REPICK", [("PLAIN", 4)], NEAR_W1)
    task = api.ok("POST", f"{V1}/orders/pick-tasks", {"warehouse": "W1", "orders": [order["id"]]}, as_="super1")
    [line] = task["lines"]
    short = confirmed(api, task["id"], line["line_no"], location=line["location"], item="PLAIN", quantity=1)
    assert api.ok("GET", f"{V1}/orders/{order['id']}", as_="shop")["lines"][0]["backordered"] == 3
    rejected = api.ok("POST", f"{V1}/discrepancies/{short['discrepancy_id']}/reject",
                      {"reason": "the order must go complete"}, as_="super2")
    repick = api.ok("GET", f"{V1}/pick-tasks/{rejected['details']['repick_task_id']}")
    # The re-pick holds the missing units for the order: nothing is backordered, nothing reserved twice.
    now = api.ok("GET", f"{V1}/orders/{order['id']}", as_="shop")
    assert now["lines"][0]["backordered"] == 0 and now["status"] == "allocated"
    reserved_matches_live_allocations(db)
    [again] = repick["lines"]
    confirmed(api, repick["id"], again["line_no"], location=again["location"], item="PLAIN", quantity=3)
    for pick in (task, repick):
        packing = api.ok("GET", f"{V1}/pick-tasks/{pick['id']}/packing")
        for pack in packing["lines"]:
            confirmed(api, packing["id"], pack["line_no"], location="W1-PACK", item="PLAIN",
                      quantity=pack["expected_quantity"])
    shipped = api.ok("POST", f"{V1}/orders/{order['id']}/ship", as_="op2")
    assert shipped["status"] == "shipped" and shipped["lines"][0]["shipped"] == 4
    assert ("W1-PACK", None) not in levels(api, "PLAIN")
    ledger_ok(api)
    reserved_matches_live_allocations(db)


def test_orders_are_listed_newest_first_and_filtered(api: Api, shop_floor: dict[str, Any]) -> None:
    stock(api, "W1-A1", "PLAIN", 2)
    for number in range(3):
        place(api, f"SO-L{number}", [("PLAIN", 1)], NEAR_W1)
    response = api.get(f"{V1}/orders?per_page=2", as_="shop")
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "3"
    assert [order["external_id"] for order in response.get_json()] == ["SO-L2", "SO-L1"]
    assert [o["external_id"] for o in api.ok("GET", f"{V1}/orders?per_page=2&page=2", as_="shop")] == ["SO-L0"]
    assert [o["external_id"] for o in api.ok("GET", f"{V1}/orders?status=backordered", as_="op1")] == ["SO-L2"]
    assert [o["external_id"] for o in api.ok("GET", f"{V1}/orders?external_id=SO-L1", as_="shop")] == ["SO-L1"]
    bad = api.get(f"{V1}/orders?status=lost", as_="shop")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_a_shipped_line_comes_back_on_an_rma_against_the_order(api: Api, db: Database,
                                                               shop_floor: dict[str, Any]) -> None:
    from warehouse.orders.services import shipped_units

    api.ok("POST", f"{V1}/locations", {"code": "W1-RET", "warehouse": "W1", "type": "returns"})
    stock(api, "W1-A1", "PLAIN", 5)
    order = place(api, "SO-RMA", [("PLAIN", 2)], NEAR_W1)
    packing = pick_all(api, [order["id"]])
    [line] = packing["lines"]
    confirmed(api, packing["id"], line["line_no"], location="W1-PACK", item="PLAIN", quantity=2)
    api.ok("POST", f"{V1}/orders/{order['id']}/ship", as_="op2")
    with db.reading() as session:
        assert shipped_units(session, external_id="SO-RMA") == {"PLAIN": 2}
        assert shipped_units(session, external_id="SO-NONE") is None

    too_many = api.post(f"{V1}/returns", {"rma": "RMA-SO", "warehouse": "W1", "order": "SO-RMA",
                                         "lines": [{"sku": "PLAIN", "quantity": 2}, {"sku": "PLAIN", "quantity": 1}]},
                        as_="super1")
    assert too_many.status_code == 422
    assert too_many.get_json()["errors"] == {"lines.1.quantity": ["order SO-RMA shipped 2 of PLAIN; this RMA returns 3"]}
    rma = api.ok("POST", f"{V1}/returns", {"rma": "RMA-SO", "warehouse": "W1", "order": "SO-RMA",
                                           "lines": [{"sku": "PLAIN", "quantity": 1}]}, as_="super1")
    for who in ("op1", "op2"):
        confirmed(api, rma["id"], 1, who, location="W1-RET", item="PLAIN", quantity=1, grade="resellable")
    assert levels(api, "PLAIN") == {("W1-A1", None): (3, 0), ("W1-RET", None): (1, 0)}
    ledger_ok(api)
