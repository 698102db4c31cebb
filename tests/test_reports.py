"""The dashboard's read API: tasks in progress by operator, hourly throughput, names for user ids."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Api

REPORTS = ["/api/v1/reports/floor", "/api/v1/reports/throughput", "/api/v1/reports/people"]


def confirm(api: Api, task: int, line: int, as_: str, **body: Any) -> Any:
    response = api.post(f"/api/v1/tasks/{task}/lines/{line}/confirm", body, as_=as_)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def receipt(api: Api, reference: str, warehouse: str = "W1", **quantities: int) -> dict[str, Any]:
    lines = [{"sku": sku, "quantity": quantity} for sku, quantity in quantities.items()]
    return api.ok("POST", "/api/v1/receipts", {"reference": reference, "warehouse": warehouse, "lines": lines},
                  as_="super1", status=201)


@pytest.mark.parametrize("path", REPORTS)
def test_reports_are_for_supervisors_and_admins_not_operators(api: Api, path: str) -> None:
    assert api.get(path, as_="op1").status_code == 403
    assert api.get(path, as_="shop").status_code == 403
    assert api.get(path, as_=None).status_code == 401
    assert api.get(path, as_="super1").status_code == 200
    assert api.get(path, as_="admin1").status_code == 200


def test_floor_groups_open_tasks_under_whoever_last_worked_on_them(api: Api, site: dict, cast: dict) -> None:
    api.ok("POST", "/api/v1/locations", {"code": "W2-DOCK", "warehouse": "W2", "type": "receiving"})
    busy = receipt(api, "ASN-BUSY", PLAIN=12, LOTTED=5)
    idle = receipt(api, "ASN-IDLE", PLAIN=3)
    elsewhere = receipt(api, "ASN-W2", "W2", PLAIN=1)
    people = {p["username"]: p for p in api.ok("GET", "/api/v1/reports/people", as_="super1")}

    confirm(api, busy["id"], 1, "op1", quantity=12, location="W1-DOCK", item="PLAIN")
    floor = api.ok("GET", "/api/v1/reports/floor?warehouse=W1", as_="super1")
    assert [(o["display_name"], [t["id"] for t in o["tasks"]]) for o in floor["operators"]] == \
        [(people["op1"]["display_name"], [busy["id"]])]
    assert [t["id"] for t in floor["unassigned"]] == [idle["id"]], "W2's task is not on W1's floor"
    task = floor["operators"][0]["tasks"][0]
    assert (task["lines_total"], task["lines_done"], task["lines_waiting"]) == (2, 0, 1)
    assert task["last_user_id"] == people["op1"]["id"] and task["reference"] == "ASN-BUSY"

    # The verifier's confirmation is newer: the task moves under them, and the line is done.
    confirm(api, busy["id"], 1, "op2", quantity=12, location="W1-DOCK", item="PLAIN")
    floor = api.ok("GET", "/api/v1/reports/floor?warehouse=W1", as_="super1")
    assert [o["user_id"] for o in floor["operators"]] == [people["op2"]["id"]]
    assert floor["operators"][0]["tasks"][0]["lines_done"] == 1

    everywhere = api.ok("GET", "/api/v1/reports/floor", as_="super1")
    assert {t["id"] for t in everywhere["unassigned"]} == {idle["id"], elsewhere["id"]}

    # A finished task leaves the floor.
    label = "]C101000000963850741725063010L-77\x1d"
    for who in ("op1", "op2"):
        confirm(api, busy["id"], 2, who, quantity=5, location="W1-DOCK", item=label)
    floor = api.ok("GET", "/api/v1/reports/floor?warehouse=W1", as_="super1")
    assert floor["operators"] == [] and [t["id"] for t in floor["unassigned"]] == [idle["id"]]


def test_floor_of_an_unknown_warehouse_is_404(api: Api, site: dict) -> None:
    assert api.get("/api/v1/reports/floor?warehouse=NOPE", as_="super1").status_code == 404
    assert api.get("/api/v1/reports/throughput?warehouse=NOPE", as_="super1").status_code == 404


def test_throughput_counts_finished_lines_and_units_per_hour_and_workflow(api: Api, site: dict) -> None:
    task = receipt(api, "ASN-T", PLAIN=12)
    confirm(api, task["id"], 1, "op1", quantity=12, location="W1-DOCK", item="PLAIN")
    half = api.ok("GET", "/api/v1/reports/throughput?warehouse=W1", as_="super1")
    assert half["workflows"] == [] and sum(half["moves"]) == 0, "one of two confirmations finishes nothing"

    confirm(api, task["id"], 1, "op2", quantity=12, location="W1-DOCK", item="PLAIN")
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 7, "reason": "found behind the rack"}, status=201)
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W2-A1", "quantity": 100, "reason": "other site"}, status=201)

    today = datetime.now(timezone.utc).date()
    report = api.ok("GET", f"/api/v1/reports/throughput?warehouse=W1&date={today}", as_="super1")
    assert report["workflows"] == ["receiving", "adjustment"]
    assert all(len(series) == 24 for series in [*report["lines"].values(), *report["units"].values()])
    hour = datetime.now(timezone.utc).hour
    assert report["lines"]["receiving"][hour] == 1 and sum(report["lines"]["receiving"]) == 1
    assert sum(report["lines"]["adjustment"]) == 0
    assert sum(report["units"]["receiving"]) == 12 and sum(report["units"]["adjustment"]) == 7
    assert sum(report["moves"]) == 2

    everywhere = api.ok("GET", f"/api/v1/reports/throughput?date={today}", as_="super1")
    assert sum(everywhere["units"]["adjustment"]) == 107

    # Hours are local hours of the offset asked for: the same moves, shifted by two hours.
    shifted = api.ok("GET", f"/api/v1/reports/throughput?warehouse=W1&utc_offset=120"
                            f"&date={(datetime.now(timezone.utc) + timedelta(hours=2)).date()}", as_="super1")
    assert shifted["units"]["receiving"][(hour + 2) % 24] == 12

    yesterday = api.ok("GET", f"/api/v1/reports/throughput?warehouse=W1&date={today - timedelta(days=1)}",
                       as_="super1")
    assert yesterday["workflows"] == [] and sum(yesterday["moves"]) == 0


def test_throughput_refuses_bad_input(api: Api, site: dict) -> None:
    for query in ("utc_offset=100000", "date=yesterday", "utc_offset=abc"):
        response = api.get(f"/api/v1/reports/throughput?{query}", as_="super1")
        assert response.status_code == 422, query


def test_people_names_every_user_id(api: Api, cast: dict) -> None:
    people = api.ok("GET", "/api/v1/reports/people", as_="super1")
    assert {p["username"] for p in people} >= set(cast)
    assert all(set(p) == {"id", "username", "display_name", "role", "active"} for p in people)


def test_reports_are_in_the_openapi_document(api: Api) -> None:
    paths = api.ok("GET", "/api/v1/openapi.json")["paths"]
    for path in REPORTS:
        assert path.removeprefix("/api/v1") in paths or path in paths


def test_stock_snapshot_carries_the_exact_seq_it_reflects(api: Api, site: dict) -> None:
    empty = api.ok("GET", "/api/v1/reports/stock-snapshot?warehouse=W1", as_="op1")
    assert empty["rows"] == [] and empty["truncated"] is False
    head = api.ok("GET", "/api/v1/stock/changes?after=0&limit=1")["last_seq"]
    assert empty["seq"] == head

    move = api.ok("POST", "/api/v1/stock/adjustments",
                  {"sku": "PLAIN", "location": "W1-A1", "quantity": 9, "reason": "found"}, status=201)
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W2-A1", "quantity": 4, "reason": "found"}, status=201)
    snapshot = api.ok("GET", "/api/v1/reports/stock-snapshot?warehouse=W1", as_="super1")
    assert snapshot["seq"] == move["seq"] + 1, "the head, even when the last move was elsewhere"
    assert [(r["location"], r["sku"], r["on_hand"], r["reserved"], r["available"]) for r in snapshot["rows"]] == \
        [("W1-A1", "PLAIN", 9, 0, 9)]
    assert len(api.ok("GET", "/api/v1/reports/stock-snapshot", as_="super1")["rows"]) == 2
    assert api.get("/api/v1/reports/stock-snapshot?warehouse=NOPE", as_="super1").status_code == 404
    assert api.get("/api/v1/reports/stock-snapshot", as_=None).status_code == 401
