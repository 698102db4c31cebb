"""Min/max replenishment: a pick face refilled from reserve bins by a verified move task, a warehouse
refilled by draft purchase orders grouped by supplier that become expected receipts; ``stock.low`` once
per crossing, in the outbox and live; bad rules refused without writing anything.

The `site` fixture has W1 (storage W1-A1, W1-A2, pick face W1-P1, dock W1-DOCK) and W2 (storage W2-A1).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from sqlalchemy import select

from tests.conftest import Api, Emitted, LiveServer, table_counts
from tests.test_concurrency import call, in_threads, invariants, ok
from tests.test_orders import NEAR_W2, place, reserved_matches_live_allocations, stock
from warehouse.db import Database
from warehouse.replenishment.models import PurchaseOrderLine
from warehouse.tasks.models import Task
from warehouse.webhooks.models import WebhookDelivery

V1 = "/api/v1"


@pytest.fixture
def watched(api: Api, site: dict[str, Any]) -> dict[str, Any]:
    api.ok("POST", f"{V1}/webhooks/subscriptions", {"url": "https://orders.example.com/hooks",
                                                    "events": ["stock.low"]}, as_="shop")
    return site


def low_events(db: Database) -> list[dict[str, Any]]:
    """The rule-driven stock.low deliveries in the outbox (the global WAREHOUSE_LOW_STOCK_AT ones carry no rule)."""
    with db.reading() as session:
        bodies = [json.loads(body) for body in session.scalars(
            select(WebhookDelivery.body).where(WebhookDelivery.event_type == "stock.low").order_by(WebhookDelivery.id))]
    return [body["data"] for body in bodies if "rule_id" in body["data"]]


def live_lows(emitted: Emitted, room: str) -> list[int]:
    """Rule ids of the stock.low events emitted live to ``room``."""
    return [payload["rule_id"] for payload, to in emitted.of("stock.low") if to == room and "rule_id" in payload]


def rule(api: Api, **body: Any) -> dict[str, Any]:
    return api.ok("PUT", f"{V1}/replenishment/rules", body, as_="super1")


def levels(api: Api, sku: str) -> dict[tuple[str, str | None], int]:
    return {(row["location"], row["lot"]): row["on_hand"] for row in api.ok("GET", f"{V1}/stock?sku={sku}")}


def ledger_ok(api: Api) -> None:
    report = api.ok("GET", f"{V1}/stock/invariants")
    assert report["ok"], report["breaches"]


def replenishment_tasks(api: Api) -> list[dict[str, Any]]:
    return [task for task in api.ok("GET", f"{V1}/tasks?workflow=putaway", as_="super1")
            if task["details"].get("kind") == "replenishment"]


def test_a_pick_face_below_its_minimum_is_refilled_from_reserve_once_per_crossing(
        api: Api, db: Database, watched: dict[str, Any], emitted: Emitted) -> None:
    stock(api, "W1-P1", "LOTTED", 5, lot="L-MID", expiry="2030-06-30")
    stock(api, "W1-A1", "LOTTED", 10, lot="L-LATE", expiry="2031-06-30")
    stock(api, "W1-A2", "LOTTED", 4, lot="L-EARLY", expiry="2030-01-31")
    face = rule(api, sku="LOTTED", warehouse="W1", location="W1-P1", minimum=3, maximum=8)
    assert (face["location"], face["low"], face["open_task_id"]) == ("W1-P1", False, None)

    stock(api, "W1-P1", "LOTTED", -2, lot="L-MID")  # 3 left: at the minimum, not below it
    assert low_events(db) == [] and replenishment_tasks(api) == []
    stock(api, "W1-P1", "LOTTED", -1, lot="L-MID")  # 2: crosses
    [event] = low_events(db)
    assert (event["sku"], event["warehouse"], event["location"], event["available"], event["minimum"],
            event["maximum"]) == ("LOTTED", "W1", "W1-P1", 2, 3, 8)
    assert event["replenishment"]["kind"] == "move_task" and event["replenishment"]["quantity"] == 6
    assert live_lows(emitted, "warehouse:W1") == [face["id"]]
    [task] = replenishment_tasks(api)
    assert task["id"] == event["replenishment"]["task_id"]
    # Up to the maximum, earliest expiry first, from reserve bins into the pick face.
    assert [(line["location"], line["to_location"], line["lot"], line["expected_quantity"])
            for line in task["lines"]] == [("W1-A2", "W1-P1", "L-EARLY", 4), ("W1-A1", "W1-P1", "L-LATE", 2)]

    stock(api, "W1-P1", "LOTTED", -1, lot="L-MID")  # further below: no second event, no second task
    assert len(low_events(db)) == 1 and len(replenishment_tasks(api)) == 1
    assert api.ok("GET", f"{V1}/replenishment/rules?sku=LOTTED")[0]["low"] is True

    # The move is verified like a putaway: the item, then the pick face's label.
    for line in task["lines"]:
        wrong = api.post(f"{V1}/tasks/{task['id']}/lines/{line['line_no']}/confirm",
                         {"item": "LOTTED", "lot": line["lot"], "location": "W1-A1", "quantity": 1}, as_="op1")
        assert wrong.status_code == 422 and wrong.get_json()["reason"] == "wrong_location"
        done = api.post(f"{V1}/tasks/{task['id']}/lines/{line['line_no']}/confirm",
                        {"item": "LOTTED", "lot": line["lot"], "location": "W1-P1",
                         "quantity": line["expected_quantity"]}, as_="op1")
        assert done.status_code == 200, done.get_json()
    assert levels(api, "LOTTED") == {("W1-P1", "L-MID"): 1, ("W1-P1", "L-EARLY"): 4, ("W1-P1", "L-LATE"): 2,
                                     ("W1-A1", "L-LATE"): 8}
    assert api.ok("GET", f"{V1}/tasks/{task['id']}", as_="super1")["status"] == "done"
    assert api.ok("GET", f"{V1}/replenishment/rules?sku=LOTTED")[0]["low"] is False  # re-armed
    ledger_ok(api)

    # The next crossing is a new one: announced again, with a new task.
    stock(api, "W1-P1", "LOTTED", -4, lot="L-EARLY")
    assert len(low_events(db)) == 1
    stock(api, "W1-P1", "LOTTED", -2, lot="L-LATE")
    assert [event["available"] for event in low_events(db)] == [2, 1]
    assert [[(line["location"], line["lot"], line["expected_quantity"]) for line in task["lines"]]
            for task in replenishment_tasks(api) if task["status"] == "open"] == [[("W1-A1", "L-LATE", 7)]]


def test_a_warehouse_below_its_minimum_gets_draft_purchase_orders_by_supplier(
        api: Api, db: Database, watched: dict[str, Any]) -> None:
    stock(api, "W2-A1", "PLAIN", 10)
    stock(api, "W2-A1", "LOTTED", 3, lot="L-1", expiry="2031-01-31")
    rule(api, sku="PLAIN", warehouse="W2", minimum=5, maximum=20, supplier="Acme")
    rule(api, sku="LOTTED", warehouse="W2", minimum=2, maximum=6, supplier="Acme")
    assert api.ok("GET", f"{V1}/replenishment/purchase-orders") == []

    # An order's reservation takes the available total below the minimum: that is the crossing.
    order = place(api, "SO-LOW", [("PLAIN", 6)], NEAR_W2)
    assert order["status"] == "allocated"
    [event] = low_events(db)
    assert (event["sku"], event["warehouse"], event["location"], event["available"]) == ("PLAIN", "W2", None, 4)
    [draft] = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")
    assert (draft["warehouse"], draft["supplier"], draft["reference"]) == ("W2", "Acme", f"PO-{draft['id']}")
    assert [(line["sku"], line["quantity"]) for line in draft["lines"]] == [("PLAIN", 16)]
    assert event["replenishment"] == {"kind": "purchase_order", "purchase_order_id": draft["id"],
                                      "reference": draft["reference"], "supplier": "Acme", "quantity": 16}
    reserved_matches_live_allocations(db)

    place(api, "SO-LOW2", [("PLAIN", 1)], NEAR_W2)  # still low: nothing new
    stock(api, "W2-A1", "LOTTED", -2, lot="L-1")  # the same supplier's draft collects it
    [draft] = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")
    assert [(line["sku"], line["quantity"]) for line in draft["lines"]] == [("PLAIN", 16), ("LOTTED", 5)]
    assert len(low_events(db)) == 2

    # Another supplier gets a draft of its own.
    rule(api, sku="SERIAL", warehouse="W2", minimum=1, maximum=3, supplier="Bolt")  # none in stock: acts at once
    drafts = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft&warehouse=W2")
    assert sorted((d["supplier"], [(line["sku"], line["quantity"]) for line in d["lines"]]) for d in drafts) == [
        ("Acme", [("PLAIN", 16), ("LOTTED", 5)]), ("Bolt", [("SERIAL", 3)])]

    # One call turns the draft into an expected receipt of the receiving workflow.
    api.ok("POST", f"{V1}/locations", {"code": "W2-DOCK", "warehouse": "W2", "type": "receiving"})
    sent = api.ok("POST", f"{V1}/replenishment/purchase-orders/{draft['id']}/receipt", as_="super1")
    assert sent["status"] == "expected" and sent["receipt_task_id"]
    receipt = api.ok("GET", f"{V1}/tasks/{sent['receipt_task_id']}", as_="super1")
    assert (receipt["workflow"], receipt["reference"], receipt["status"]) == ("receiving", draft["reference"], "open")
    assert [(line["sku"], line["to_location"]) for line in receipt["lines"]] == [("PLAIN", "W2-DOCK"),
                                                                                ("LOTTED", "W2-DOCK")]
    before = table_counts(db)
    again = api.post(f"{V1}/replenishment/purchase-orders/{draft['id']}/receipt", as_="super1")
    assert again.status_code == 409 and again.get_json()["reason"] == "not_draft"
    assert table_counts(db) == before
    # While its receipt is expected, the rule's replenishment is open: going up and down again orders nothing.
    stock(api, "W2-A1", "PLAIN", 10)
    stock(api, "W2-A1", "PLAIN", -10)
    assert len(low_events(db)) == 4
    assert [d["supplier"] for d in api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")] == ["Bolt"]
    ledger_ok(api)


def test_bad_rules_are_refused_and_write_nothing(api: Api, db: Database, watched: dict[str, Any]) -> None:
    good = {"sku": "PLAIN", "warehouse": "W1", "location": "W1-P1", "minimum": 2, "maximum": 10}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "sku": "NOPE"}, "sku"),
        ({**good, "warehouse": "W7"}, "warehouse"),
        ({**good, "location": "W1-A1"}, "location"),  # storage, not a pick face
        ({**good, "location": "W2-A1"}, "location"),  # another warehouse's
        ({**good, "location": "NOWHERE"}, "location"),
        ({**good, "maximum": 1}, "maximum"),
        ({**good, "minimum": -1}, "minimum"),
        ({**good, "maximum": 0, "minimum": 0}, "maximum"),
        ({**good, "minimum": "2"}, "minimum"),
        ({**good, "supplier": "Acme"}, "supplier"),  # a pick face is refilled from reserve
    ]
    before = table_counts(db)
    for body, field in cases:
        response = api.request("PUT", f"{V1}/replenishment/rules", json=body, as_="super1")
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert table_counts(db) == before
    assert api.request("PUT", f"{V1}/replenishment/rules", json=good, as_="op1").status_code == 403
    assert api.request("PUT", f"{V1}/replenishment/rules", json=good, as_="shop").status_code == 403
    missing = api.post(f"{V1}/replenishment/purchase-orders/999999/receipt", as_="super1")
    assert missing.status_code == 404
    assert table_counts(db) == before
    # Setting the same rule twice changes it, never duplicates it.
    first = rule(api, **good)
    second = rule(api, **{**good, "maximum": 12})
    assert first["id"] == second["id"] and second["maximum"] == 12
    assert len(api.ok("GET", f"{V1}/replenishment/rules?warehouse=W1")) == 1


def test_concurrent_orders_crossing_a_minimum_announce_it_once(live_server: LiveServer) -> None:
    """16 clients order the same SKU at once in one warehouse: the pick face and the warehouse total each
    fall through their minimum exactly once, so there is one stock.low each, one purchase order line and
    one move task."""
    live = live_server
    with requests.Session() as http:
        ok(http, live, "POST", "/warehouses", json={"code": "CW", "name": "CW", "latitude": 52.37, "longitude": 4.89})
        for code, kind in (("CW-R1", "storage"), ("CW-R2", "storage"), ("CW-PF", "pick-face")):
            ok(http, live, "POST", "/locations", json={"code": code, "warehouse": "CW", "type": kind})
        ok(http, live, "POST", "/items", json={"sku": "HOT", "name": "Hot item"})
        for code, quantity in (("CW-PF", 40), ("CW-R1", 60), ("CW-R2", 60)):  # the pick face's is the oldest
            ok(http, live, "POST", "/stock/adjustments", as_="super1",
               json={"sku": "HOT", "location": code, "quantity": quantity, "reason": "initial"})
        ok(http, live, "POST", "/webhooks/subscriptions", as_="shop",
           json={"url": "https://orders.example.com/hooks", "events": ["stock.low"]})
        ok(http, live, "PUT", "/replenishment/rules", as_="super1",
           json={"sku": "HOT", "warehouse": "CW", "minimum": 100, "maximum": 300, "supplier": "Acme"})
        ok(http, live, "PUT", "/replenishment/rules", as_="super1",
           json={"sku": "HOT", "warehouse": "CW", "location": "CW-PF", "minimum": 20, "maximum": 40})

    def client(number: int, barrier: threading.Barrier) -> int:
        statuses = 0
        with requests.Session() as http:
            barrier.wait()
            for index in range(6):
                reply = call(http, live, "POST", "/orders", as_="shop",
                             json={"external_id": f"HOT-{number}-{index}", "paid": True,
                                   "ship_to": {"latitude": 52.0, "longitude": 5.0},
                                   "lines": [{"sku": "HOT", "quantity": 1}]})
                assert reply.status == 201, reply.body
                statuses += reply.body["status"] == "allocated"
        return statuses

    assert sum(in_threads(16, client)) == 96  # 160 on hand: every order is filled
    with live.database.reading() as session:
        lows = [json.loads(body)["data"] for body in session.scalars(
            select(WebhookDelivery.body).where(WebhookDelivery.event_type == "stock.low"))]
        lines = session.execute(select(PurchaseOrderLine.quantity)).scalars().all()
        tasks = session.execute(select(Task.id).where(Task.workflow == "putaway")).scalars().all()
    ruled = sorted((event["location"] or "", event["available"] < event["minimum"]) for event in lows
                   if "rule_id" in event)
    # Orders take the oldest bucket (the pick face's) first: it crosses 20 once; the warehouse total
    # (160 -> 64) crosses 100 once.
    assert ruled == [("", True), ("CW-PF", True)], lows
    assert len(lines) == 1 and len(tasks) == 1
    report = invariants(live)
    assert report["ok"], report["breaches"]


def test_items_crossing_their_minimums_at_once_share_one_draft_purchase_order(live_server: LiveServer) -> None:
    """Eight items of one supplier fall below their minimums in the same instant, each through its own
    order: they are grouped on one draft purchase order, not one draft each."""
    live, skus = live_server, [f"GROUP-{number}" for number in range(8)]
    with requests.Session() as http:
        ok(http, live, "POST", "/warehouses", json={"code": "GW", "name": "GW", "latitude": 52.37, "longitude": 4.89})
        ok(http, live, "POST", "/locations", json={"code": "GW-R1", "warehouse": "GW", "type": "storage"})
        for sku in skus:
            ok(http, live, "POST", "/items", json={"sku": sku, "name": sku})
            ok(http, live, "POST", "/stock/adjustments", as_="super1",
               json={"sku": sku, "location": "GW-R1", "quantity": 10, "reason": "initial"})
            ok(http, live, "PUT", "/replenishment/rules", as_="super1",
               json={"sku": sku, "warehouse": "GW", "minimum": 5, "maximum": 10, "supplier": "Acme"})

    def client(number: int, barrier: threading.Barrier) -> str:
        with requests.Session() as http:
            barrier.wait()
            reply = call(http, live, "POST", "/orders", as_="shop",
                         json={"external_id": f"GROUP-{number}", "paid": True,
                               "ship_to": {"latitude": 52.0, "longitude": 5.0},
                               "lines": [{"sku": skus[number], "quantity": 6}]})
            assert reply.status == 201, reply.body
            return str(reply.body["status"])

    assert in_threads(len(skus), client) == ["allocated"] * len(skus)
    with requests.Session() as http:
        drafts = ok(http, live, "GET", "/replenishment/purchase-orders?status=draft&warehouse=GW", as_="super1")
    assert [draft["supplier"] for draft in drafts] == ["Acme"], drafts
    assert sorted((line["sku"], line["quantity"]) for line in drafts[0]["lines"]) == [(sku, 6) for sku in skus]


def test_a_deleted_rule_watches_no_more_and_its_purchase_order_stays(
        api: Api, db: Database, watched: dict[str, Any]) -> None:
    stock(api, "W2-A1", "PLAIN", 10)
    plain = rule(api, sku="PLAIN", warehouse="W2", minimum=12, maximum=20, supplier="Acme")  # below: orders now
    [draft] = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")
    assert [(line["sku"], line["quantity"], line["rule_id"]) for line in draft["lines"]] == [("PLAIN", 10, plain["id"])]

    assert api.request("DELETE", f"{V1}/replenishment/rules/{plain['id']}", as_="op1").status_code == 403
    removed = api.ok("DELETE", f"{V1}/replenishment/rules/{plain['id']}", as_="super1")
    assert (removed["id"], removed["sku"]) == (plain["id"], "PLAIN")
    assert api.ok("GET", f"{V1}/replenishment/rules?warehouse=W2") == []
    [draft] = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")
    assert [(line["sku"], line["quantity"], line["rule_id"]) for line in draft["lines"]] == [("PLAIN", 10, None)]

    # Going up and down across the old minimum again announces nothing and orders nothing.
    lows = len(low_events(db))
    stock(api, "W2-A1", "PLAIN", 10)
    stock(api, "W2-A1", "PLAIN", -15)
    assert len(low_events(db)) == lows
    [draft] = api.ok("GET", f"{V1}/replenishment/purchase-orders?status=draft")
    assert [line["quantity"] for line in draft["lines"]] == [10]

    before = table_counts(db)
    missing = api.request("DELETE", f"{V1}/replenishment/rules/{plain['id']}", as_="super1")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert table_counts(db) == before
