"""Customer returns (RMAs) end to end through the HTTP API: graded by two people, posted by grade,
and ``return.received`` announced once, only when every line is verified.

The event is observed where it leaves the process: ``warehouse.realtime.announce`` hands an emit
to the emitter thread only after the request's transaction commits, and that thread calls
``warehouse.realtime.socketio.emit``; the ``emitted`` fixture replaces that one method with a
recorder (and waits for the thread before it is read). So a test sees exactly what a Socket.IO client would be sent, when it would be sent, and
nothing from a request that was refused and rolled back; it does not take the service's word for it.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.conftest import Api, Emitted, count_moves, table_counts
from warehouse.db import Database

GS = "\x1d"
PLAIN_GTIN = "4006381333931"
LOTTED_L77 = f"]C101000000963850741725063010L-77{GS}"  # GTIN-8 96385074, expiry 2025-06-30, lot L-77
V1 = "/api/v1"
NO_TASK = 999_999


@pytest.fixture
def returns_site(api: Api, site: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`site` plus a returns location and a quarantine location in W1; the ledger must hold its
    invariants after every test that uses it."""
    api.ok("POST", f"{V1}/locations", {"code": "W1-RET", "warehouse": "W1", "type": "returns"}, as_="admin1")
    api.ok("POST", f"{V1}/locations", {"code": "W1-Q", "warehouse": "W1", "type": "quarantine"}, as_="admin1")
    yield site
    report = api.ok("GET", f"{V1}/stock/invariants", as_="admin1")
    assert report["ok"] is True, report["breaches"]


def received(emitted: Emitted) -> list[Any]:
    return [payload for payload, _ in emitted.of("return.received")]


def stock(api: Api, sku: str) -> dict[tuple[str, str | None], int]:
    return {(row["location"], row["lot"]): row["on_hand"] for row in api.ok("GET", f"{V1}/stock?sku={sku}")}


def create_rma(api: Api, rma: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"rma": rma, "warehouse": "W1", "order": "SO-1001", "lines": lines, **extra}
    return api.ok("POST", f"{V1}/returns", body, as_="super1", status=201)


def confirm(api: Api, task: int, line: int, as_: str, **body: Any) -> Any:
    headers = {"Idempotency-Key": body.pop("key")} if "key" in body else None
    return api.post(f"{V1}/tasks/{task}/lines/{line}/confirm", body, as_=as_, headers=headers)


def confirmed(api: Api, task: int, line: int, as_: str, **body: Any) -> dict[str, Any]:
    response = confirm(api, task, line, as_, **body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_rma_graded_by_two_people_lands_by_grade_and_is_announced_once(api: Api, returns_site: dict,
                                                                        emitted: Emitted) -> None:
    rma = create_rma(api, "RMA-1", [{"sku": "PLAIN", "quantity": 3, "reason": "too small"},
                                    {"sku": "LOTTED", "quantity": 2}], customer="ACME B.V.")
    task = rma["id"]
    assert (rma["workflow"], rma["policy"], rma["reference"]) == ("returns", "two_person", "RMA-1")
    assert (rma["rma"], rma["order"], rma["customer"], rma["announced"]) == ("RMA-1", "SO-1001", "ACME B.V.", False)
    assert [(line["sku"], line["expected_quantity"], line["location"], line["reason"]) for line in rma["lines"]] == \
        [("PLAIN", 3, "W1-RET", "too small"), ("LOTTED", 2, "W1-RET", None)]

    first = confirmed(api, task, 1, "op1", quantity=3, location="W1-RET", item=PLAIN_GTIN, grade="resellable")
    assert first["waiting_for_second_person"] is True
    same_person = confirm(api, task, 1, "op1", quantity=3, location="W1-RET", item=PLAIN_GTIN, grade="resellable")
    assert same_person.status_code == 403 and same_person.get_json()["reason"] == "same_person"
    seen_by_verifier = api.ok("GET", f"{V1}/returns/{task}", as_="op2")
    assert "resellable" not in str(seen_by_verifier), "the second grader grades blind"
    assert stock(api, "PLAIN") == {}, "nothing lands before the second person confirms"

    second = confirmed(api, task, 1, "op2", quantity=3, location="]C1W1-RET", item=f"]E0{PLAIN_GTIN}",
                       grade="resellable")
    assert second["line"]["status"] == "done" and second["task_status"] == "in_progress"
    assert stock(api, "PLAIN") == {("W1-RET", None): 3}, "resellable goes back to the returns location"
    assert received(emitted) == [], "one verified line of two is not a received return"
    assert api.ok("GET", f"{V1}/returns/{task}")["announced"] is False

    confirmed(api, task, 2, "op2", quantity=2, location="W1-RET", item=LOTTED_L77, grade="damaged")
    assert received(emitted) == []
    last = confirmed(api, task, 2, "op1", quantity=2, location="W1-RET", item=LOTTED_L77, grade="damaged",
                     key="rma-1-line-2")
    assert last["line"]["status"] == "done" and last["task_status"] == "done"
    assert stock(api, "LOTTED") == {("W1-Q", "L-77"): 2}, "damaged goes to quarantine, with its lot"

    events = emitted.of("return.received")
    assert events == [({"rma": "RMA-1", "order": "SO-1001", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 3, "grade": "resellable", "location": "W1-RET", "lot": None},
        {"sku": "LOTTED", "quantity": 2, "grade": "damaged", "location": "W1-Q", "lot": "L-77"}]}, "warehouse:W1")]

    replay = confirm(api, task, 2, "op1", quantity=2, location="W1-RET", item=LOTTED_L77, grade="damaged",
                     key="rma-1-line-2")
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert len(received(emitted)) == 1, "an offline replay of the last confirmation announces nothing again"

    view = api.ok("GET", f"{V1}/returns/{task}")
    assert view["status"] == "done" and view["announced"] is True and view["announced_at"]
    assert [(line["to_location"], line["received"]) for line in view["lines"]] == [
        ("W1-RET", [{"quantity": 3, "grade": "resellable", "location": "W1-RET", "lot": None}]),
        ("W1-Q", [{"quantity": 2, "grade": "damaged", "location": "W1-Q", "lot": "L-77"}])]
    assert api.get(f"{V1}/returns/{task}", as_="op1").status_code == 200

    # Resellable returns go back to stock by an ordinary putaway from the returns location.
    putaway = api.ok("POST", f"{V1}/putaway-tasks", {"warehouse": "W1", "source": "W1-RET"}, as_="op1", status=201)
    bin_ = putaway["lines"][0]["to_location"]
    assert [(line["sku"], line["location"], line["expected_quantity"]) for line in putaway["lines"]] == \
        [("PLAIN", "W1-RET", 3)]
    confirmed(api, putaway["id"], 1, "op1", quantity=3, item="PLAIN", location=bin_)
    assert stock(api, "PLAIN") == {(bin_, None): 3}


def test_graders_who_disagree_open_a_discrepancy_and_post_nothing(api: Api, db: Database, returns_site: dict,
                                                                  emitted: Emitted) -> None:
    task = create_rma(api, "RMA-2", [{"sku": "PLAIN", "quantity": 2}])["id"]
    moves = count_moves(db)
    confirmed(api, task, 1, "op1", quantity=2, location="W1-RET", item="PLAIN", grade="resellable")
    outcome = confirmed(api, task, 1, "op2", quantity=2, location="W1-RET", item="PLAIN", grade="damaged")
    assert outcome["line"]["status"] == "discrepancy" and outcome["discrepancy_id"]
    assert count_moves(db) == moves and stock(api, "PLAIN") == {}, "a grade disagreement posts nothing"

    discrepancy = outcome["discrepancy_id"]
    detail = api.ok("GET", f"{V1}/discrepancies/{discrepancy}", as_="super1")
    assert (detail["kind"], detail["details"]) == ("grade_disagree", {"first": "resellable", "second": "damaged"})
    assert [c["details"]["grade"] for c in detail["confirmations"]] == ["resellable", "damaged"]
    approve = api.post(f"{V1}/discrepancies/{discrepancy}/approve",
                       {"reason_code": "other", "reason": "looks fine to me"}, as_="super1")
    assert approve.status_code == 422 and approve.get_json()["reason"] == "grades_disagree"
    reject = api.post(f"{V1}/discrepancies/{discrepancy}/reject", {"reason": "not ours"}, as_="super1")
    assert reject.status_code == 422 and reject.get_json()["reason"] == "recount_required"
    assert count_moves(db) == moves and received(emitted) == []

    api.ok("POST", f"{V1}/discrepancies/{discrepancy}/recount", {"reason": "grade it again"}, as_="super1")
    confirmed(api, task, 1, "op2", quantity=2, location="W1-RET", item="PLAIN", grade="defective")
    done = confirmed(api, task, 1, "op1", quantity=2, location="W1-RET", item="PLAIN", grade="defective")
    assert done["task_status"] == "done"
    assert stock(api, "PLAIN") == {("W1-Q", None): 2}
    assert received(emitted) == [{"rma": "RMA-2", "order": "SO-1001", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 2, "grade": "defective", "location": "W1-Q", "lot": None}]}]


def test_refused_confirmations_write_nothing_but_the_scan_log(api: Api, db: Database, returns_site: dict,
                                                              emitted: Emitted) -> None:
    task = create_rma(api, "RMA-3", [{"sku": "PLAIN", "quantity": 2}, {"sku": "LOTTED", "quantity": 1}])["id"]
    good = {"location": "W1-RET", "item": "PLAIN", "grade": "resellable"}
    attempts = [
        ({"quantity": 3, **good}, "quantity", "more_than_expected"),
        ({"quantity": 2, "location": "W1-RET", "item": "PLAIN"}, "grade", None),
        ({"quantity": 2, **good, "location": "W1-A1"}, "location", "wrong_location"),
        ({"quantity": 2, **good, "item": "LOTTED"}, "item", "wrong_item"),
    ]
    for body, field, reason in attempts:
        before = table_counts(db)
        response = confirm(api, task, 1, "op1", **body)
        problem = response.get_json()
        assert response.status_code == 422 and field in problem["errors"], (body, problem)
        assert problem.get("reason") == reason, (body, problem)
        after = table_counts(db)
        # The scans are kept even though the confirmation was refused (evidence); nothing else is written.
        assert after.pop("scan_log") == before.pop("scan_log") + 2, body
        assert after == before, body
    lot_missing = confirm(api, task, 2, "op1", quantity=1, location="W1-RET", item="LOTTED", grade="resellable")
    assert lot_missing.status_code == 422 and "lot" in lot_missing.get_json()["errors"]
    bad_grade = confirm(api, task, 1, "op1", quantity=2, location="W1-RET", item="PLAIN", grade="like new")
    assert bad_grade.status_code == 422 and "grade" in bad_grade.get_json()["errors"]

    # A warehouse without a quarantine location cannot take damaged goods: refused before anyone grades.
    api.ok("POST", f"{V1}/locations", {"code": "W2-RET", "warehouse": "W2", "type": "returns"}, as_="admin1")
    w2 = api.ok("POST", f"{V1}/returns", {"rma": "RMA-3B", "warehouse": "W2", "order": "SO-2", "lines": [
        {"sku": "PLAIN", "quantity": 1}]}, as_="super1", status=201)
    assert w2["lines"][0]["location"] == "W2-RET"
    no_quarantine = confirm(api, w2["id"], 1, "op1", quantity=1, location="W2-RET", item="PLAIN", grade="damaged")
    assert no_quarantine.status_code == 422 and "no quarantine location" in no_quarantine.get_json()["detail"]
    assert api.ok("GET", f"{V1}/returns/{w2['id']}")["lines"][0]["confirmed_by"] == []
    assert count_moves(db) == 0 and received(emitted) == []


def test_short_return_posts_what_arrived_and_the_shortfall_waits_for_a_supervisor(api: Api, db: Database,
                                                                                   returns_site: dict,
                                                                                   emitted: Emitted) -> None:
    task = create_rma(api, "RMA-4", [{"sku": "PLAIN", "quantity": 5}, {"sku": "LOTTED", "quantity": 4}])["id"]
    confirmed(api, task, 1, "op1", quantity=3, location="W1-RET", item=PLAIN_GTIN, grade="resellable")
    short = confirmed(api, task, 1, "super2", quantity=3, location="W1-RET", item=PLAIN_GTIN, grade="resellable")
    assert short["line"]["status"] == "discrepancy" and short["discrepancy_id"]
    assert stock(api, "PLAIN") == {("W1-RET", None): 3}, "what arrived is posted at once"
    queue = api.ok("GET", f"{V1}/discrepancies?workflow=returns&status=open", as_="super1")
    assert [(d["kind"], d["expected_quantity"], d["counted_quantity"], d["details"]) for d in queue] == \
        [("return_short", 5, 3, {"missing": 2, "grade": "resellable"})]

    own = api.post(f"{V1}/discrepancies/{short['discrepancy_id']}/approve",
                   {"reason_code": "lost", "reason": "customer kept two"}, as_="super2")
    assert own.status_code == 403 and own.get_json()["reason"] == "participant"
    approved = api.ok("POST", f"{V1}/discrepancies/{short['discrepancy_id']}/approve",
                      {"reason_code": "lost", "reason": "customer kept two"}, as_="super1")
    assert approved["status"] == "approved" and approved["posted_seq"] is None, "accepting a shortfall posts nothing"
    assert stock(api, "PLAIN") == {("W1-RET", None): 3}
    assert received(emitted) == [], "line 2 is not verified yet"

    confirmed(api, task, 2, "op1", quantity=1, location="W1-RET", item=LOTTED_L77, grade="wrong_item")
    line_2 = confirmed(api, task, 2, "op2", quantity=1, location="W1-RET", item=LOTTED_L77, grade="wrong_item")
    assert stock(api, "LOTTED") == {("W1-Q", "L-77"): 1}, "a wrongly shipped unit waits in quarantine"
    assert received(emitted) == [], "a return with an open shortfall is not yet received"
    moves = count_moves(db)
    rejected = api.ok("POST", f"{V1}/discrepancies/{line_2['discrepancy_id']}/reject",
                      {"reason": "customer says all four were sent; claim with the carrier"}, as_="super1")
    assert rejected["status"] == "rejected" and count_moves(db) == moves, "rejecting a shortfall posts nothing"

    view = api.ok("GET", f"{V1}/returns/{task}")
    assert view["status"] == "done" and view["announced"] is True
    assert [line["status"] for line in view["lines"]] == ["done", "done"]
    assert received(emitted) == [{"rma": "RMA-4", "order": "SO-1001", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 3, "grade": "resellable", "location": "W1-RET", "lot": None},
        {"sku": "LOTTED", "quantity": 1, "grade": "wrong_item", "location": "W1-Q", "lot": "L-77"}]}]
    detail = api.ok("GET", f"{V1}/discrepancies/{line_2['discrepancy_id']}", as_="super1")
    assert detail["kind"] == "return_short" and detail["line_no"] == 2


def test_units_arriving_after_a_short_return_are_counted_on_recount_never_posted_twice(api: Api, returns_site: dict,
                                                                                      emitted: Emitted) -> None:
    task = create_rma(api, "RMA-5", [{"sku": "PLAIN", "quantity": 5}])["id"]
    for who in ("op1", "op2"):
        short = confirmed(api, task, 1, who, quantity=3, location="W1-RET", item="PLAIN", grade="resellable")
    api.ok("POST", f"{V1}/discrepancies/{short['discrepancy_id']}/recount", {"reason": "second parcel arrived"},
           as_="super1")
    line = api.ok("GET", f"{V1}/returns/{task}", as_="op1")["lines"][0]
    assert (line["status"], line["round"], line["hint"]) == \
        ("open", 2, "3 of 5 received; a recount confirms only what arrives later")
    too_many = confirm(api, task, 1, "op1", quantity=3, location="W1-RET", item="PLAIN", grade="damaged")
    assert too_many.status_code == 422 and too_many.get_json()["reason"] == "more_than_expected"
    assert "3 of 5 were received earlier" in too_many.get_json()["detail"]
    for who in ("op1", "op2"):
        done = confirmed(api, task, 1, who, quantity=2, location="W1-RET", item="PLAIN", grade="damaged")
    assert done["task_status"] == "done"
    assert stock(api, "PLAIN") == {("W1-RET", None): 3, ("W1-Q", None): 2}
    assert received(emitted) == [{"rma": "RMA-5", "order": "SO-1001", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 3, "grade": "resellable", "location": "W1-RET", "lot": None},
        {"sku": "PLAIN", "quantity": 2, "grade": "damaged", "location": "W1-Q", "lot": None}]}]


def test_an_rma_is_entered_once_and_checked_before_anything_is_written(api: Api, db: Database,
                                                                      returns_site: dict) -> None:
    body = {"rma": "RMA-6", "warehouse": "W1", "order": "SO-6", "lines": [{"sku": "PLAIN", "quantity": 1}]}
    key = {"Idempotency-Key": "rma-6"}
    created = api.ok("POST", f"{V1}/returns", body, as_="super1", headers=key, status=201)
    replay = api.post(f"{V1}/returns", body, as_="super1", headers=key)
    assert replay.status_code == 201 and replay.get_json()["id"] == created["id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"

    before = table_counts(db)
    again = api.post(f"{V1}/returns", body, as_="super1")
    assert again.status_code == 409 and again.get_json()["reason"] == "rma_exists"
    assert again.get_json()["task_id"] == created["id"]
    for change, field in [({"location": "W1-A1"}, "location"), ({"location": "W1-Q"}, "location"),
                          ({"warehouse": "W2"}, "location"), ({"lines": [{"sku": "SERIAL", "quantity": 1}]},
                                                             "lines.0.sku"),
                          ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku"),
                          ({"lines": [{"sku": "PLAIN", "quantity": 0}]}, "lines")]:
        refused = api.post(f"{V1}/returns", {**body, "rma": "RMA-7", **change}, as_="super1")
        assert refused.status_code == 422 and field in refused.get_json()["errors"], (change, refused.get_json())
    assert api.post(f"{V1}/returns", {**body, "rma": "RMA-7"}, as_="op1").status_code == 403
    assert table_counts(db) == before

    api.ok("POST", f"{V1}/tasks/{created['id']}/cancel", {"reason": "entered on the wrong day"}, as_="super1")
    assert api.ok("POST", f"{V1}/returns", body, as_="super1", status=201)["id"] != created["id"], \
        "a cancelled RMA may be entered again"
    assert api.get(f"{V1}/returns/{NO_TASK}").status_code == 404
    receipt = api.ok("POST", f"{V1}/receipts", {"reference": "ASN-9", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 1}]}, as_="super1", status=201)
    assert api.get(f"{V1}/returns/{receipt['id']}").status_code == 404, "a receipt is not a return"


def test_a_line_of_which_nothing_arrived_is_confirmed_as_zero_and_goes_to_review(api: Api, db: Database,
                                                                                   returns_site: dict,
                                                                                   emitted: Emitted) -> None:
    task = create_rma(api, "RMA-9", [{"sku": "PLAIN", "quantity": 1}, {"sku": "LOTTED", "quantity": 2}])["id"]
    confirmed(api, task, 1, "op1", quantity=1, location="W1-RET", item="PLAIN", grade="resellable")
    confirmed(api, task, 1, "op2", quantity=1, location="W1-RET", item="PLAIN", grade="resellable")
    confirmed(api, task, 2, "op1", quantity=0, location="W1-RET")
    empty = confirmed(api, task, 2, "op2", quantity=0, location="W1-RET")
    assert empty["discrepancy_id"] and received(emitted) == [], "not announced while a line is undecided"
    assert stock(api, "LOTTED") == {}
    api.ok("POST", f"{V1}/discrepancies/{empty['discrepancy_id']}/approve",
           {"reason_code": "lost", "reason": "customer kept them"}, as_="super1")
    assert [event["rma"] for event in received(emitted)] == ["RMA-9"]
