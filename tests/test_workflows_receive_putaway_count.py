"""Receiving, putaway and counting end to end through the HTTP API, four eyes enforced by the server."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

GS = "\x1d"


def stock(api: Api, **filters: str) -> dict[tuple[str, str | None], int]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return {(row["location"], row["lot"]): row["on_hand"] for row in api.ok("GET", f"/api/v1/stock?{query}")}


def confirm(api: Api, task: int, line: int, as_: str, **body: Any) -> Any:
    return api.post(f"/api/v1/tasks/{task}/lines/{line}/confirm", body, as_=as_)


def test_receipt_counted_by_two_people_lands_on_the_dock(api: Api, site: dict) -> None:
    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-1", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 12}, {"sku": "LOTTED", "quantity": 5}]}, as_="super1", status=201)
    assert receipt["workflow"] == "receiving" and receipt["policy"] == "two_person"
    task = receipt["id"]

    first = confirm(api, task, 1, "op1", quantity=12, location="W1-DOCK", item="4006381333931")
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["waiting_for_second_person"] is True
    assert stock(api, sku="PLAIN") == {}, "nothing lands before the second person confirms"

    same_person = confirm(api, task, 1, "op1", quantity=12, location="W1-DOCK", item="4006381333931")
    assert same_person.status_code == 403 and same_person.get_json()["reason"] == "same_person"

    view = api.ok("GET", f"/api/v1/tasks/{task}", as_="op2")
    assert "12" not in str([c for line in view["lines"] for c in line["confirmed_by"]]), "verifier sees no counts"
    second = confirm(api, task, 1, "op2", quantity=12, location="]C1W1-DOCK", item="]E04006381333931")
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["line"]["status"] == "done"
    assert stock(api, sku="PLAIN") == {("W1-DOCK", None): 12}

    # GS1-128 label with GTIN-8 item, lot and expiry; counted short by both people -> discrepancy.
    label = f"]C101000000963850741725063010L-77{GS}"
    assert confirm(api, task, 2, "op1", quantity=4, location="W1-DOCK", item=label).status_code == 200
    short = confirm(api, task, 2, "op2", quantity=4, location="W1-DOCK", item=label).get_json()
    assert short["discrepancy_id"] and short["line"]["status"] == "discrepancy"
    assert stock(api, sku="LOTTED") == {}, "a line under discrepancy posts nothing"

    refused = api.post(f"/api/v1/discrepancies/{short['discrepancy_id']}/approve",
                       {"reason_code": "supplier_short", "reason": "driver confirmed"}, as_="super1")
    assert refused.status_code == 200, refused.get_json()
    detail = refused.get_json()
    assert detail["status"] == "approved" and detail["posted_seq"]
    assert [c["quantity"] for c in detail["confirmations"]] == [4, 4]
    assert any(s["raw"] == label for s in detail["scans"])
    assert stock(api, sku="LOTTED") == {("W1-DOCK", "L-77"): 4}
    assert api.ok("GET", f"/api/v1/tasks/{task}")["status"] == "done"
    assert api.ok("GET", "/api/v1/stock/invariants")["ok"] is True


def test_a_counter_cannot_approve_their_own_discrepancy(api: Api, site: dict, cast: dict) -> None:
    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-2", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 10}]}, as_="super1", status=201)
    assert confirm(api, receipt["id"], 1, "super2", quantity=11, location="W1-DOCK", item="PLAIN").status_code == 200
    over = confirm(api, receipt["id"], 1, "op1", quantity=11, location="W1-DOCK", item="PLAIN").get_json()
    discrepancy = over["discrepancy_id"]
    own = api.post(f"/api/v1/discrepancies/{discrepancy}/approve",
                   {"reason_code": "supplier_over", "reason": "keep it"}, as_="super2")
    assert own.status_code == 403 and own.get_json()["reason"] == "participant"
    assert api.get(f"/api/v1/discrepancies/{discrepancy}", as_="op1").status_code == 403
    rejected = api.ok("POST", f"/api/v1/discrepancies/{discrepancy}/reject", {"reason": "refused at the dock"},
                      as_="super1")
    assert rejected["status"] == "rejected"
    assert stock(api, sku="PLAIN") == {}


def test_putaway_suggests_a_bin_and_refuses_a_wrong_one(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-DOCK", "quantity": 6, "reason": "received"}, status=201)
    task = api.ok("POST", "/api/v1/putaway-tasks", {"warehouse": "W1"}, as_="op1", status=201)
    line = task["lines"][0]
    assert task["policy"] == "two_scan" and line["to_location"] and line["expected_quantity"] == 6
    wrong = "W1-A2" if line["to_location"] != "W1-A2" else "W1-A1"
    refused = confirm(api, task["id"], 1, "op1", quantity=6, item="PLAIN", location=wrong)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "wrong_location"
    done = confirm(api, task["id"], 1, "op1", quantity=6, item="PLAIN", location=line["to_location"]).get_json()
    assert done["line"]["status"] == "done" and done["task_status"] == "done"
    assert stock(api, sku="PLAIN") == {(line["to_location"], None): 6}


def test_blind_count_agreeing_posts_nothing_and_variance_goes_to_review(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 20, "reason": "opening"}, status=201)
    count = api.ok("POST", "/api/v1/count-tasks", {"warehouse": "W1", "locations": ["W1-A1", "W1-A2"]},
                   as_="super1", status=201)
    lines = {line["location"]: line for line in count["lines"]}
    assert lines["W1-A1"]["expected_quantity"] is None, "counters never see the system quantity"
    seen_by_counter = api.ok("GET", f"/api/v1/tasks/{count['id']}", as_="op1")
    assert all(line["expected_quantity"] is None for line in seen_by_counter["lines"])
    assert "system_quantity" not in str(seen_by_counter) and "on_hand" not in str(seen_by_counter)
    a1, a2 = lines["W1-A1"]["line_no"], lines["W1-A2"]["line_no"]
    before = api.ok("GET", "/api/v1/stock/changes?after=0&limit=1000")["next_after"]

    for who in ("op1", "op2"):
        assert confirm(api, count["id"], a2, who, quantity=0, location="W1-A2").status_code == 200
    for who in ("op1", "op2"):
        assert confirm(api, count["id"], a1, who, quantity=17, location="W1-A1", item="PLAIN").status_code == 200
    assert api.ok("GET", f"/api/v1/stock/changes?after={before}")["changes"] == [], "a count posts nothing itself"
    queue = api.ok("GET", "/api/v1/discrepancies?status=open&workflow=counting", as_="super1")
    assert [(d["location"], d["expected_quantity"], d["counted_quantity"]) for d in queue] == [("W1-A1", 20, 17)]
    approved = api.ok("POST", f"/api/v1/discrepancies/{queue[0]['id']}/approve",
                      {"reason_code": "count_correction", "reason": "three damaged units binned"}, as_="super1")
    assert approved["posted_seq"]
    assert stock(api, sku="PLAIN") == {("W1-A1", None): 17}


def test_count_within_tolerance_is_adjusted_automatically_and_says_so(api: Api, site: dict) -> None:
    api.ok("PUT", "/api/v1/verification-policies/counting",
           {"policy": "two_person", "tolerance_units": 2, "tolerance_percent": 10}, as_="admin1")
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 50, "reason": "opening"}, status=201)
    count = api.ok("POST", "/api/v1/count-tasks", {"warehouse": "W1", "locations": ["W1-A1"]}, as_="super1",
                   status=201)
    for who in ("op1", "op2"):
        confirm(api, count["id"], 1, who, quantity=49, location="W1-A1", item="PLAIN")
    decided = api.ok("GET", "/api/v1/discrepancies?workflow=counting", as_="super1")
    assert [(d["status"], d["reason_code"], d["details"]) for d in decided] == \
        [("approved", "auto_tolerance", {"auto_approved": True})]
    assert stock(api, sku="PLAIN") == {("W1-A1", None): 49}


def test_a_refused_scan_is_still_in_the_scan_log(api: Api, site: dict, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from warehouse.scanning.models import ScanLog

    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-3", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 1}]}, as_="super1", status=201)
    refused = confirm(api, receipt["id"], 1, "op1", quantity=1, location="W1-A1", item="PLAIN", device="zebra-7")
    assert refused.status_code == 422 and refused.get_json()["reason"] == "wrong_location"
    with db.reading() as session:
        logged = session.execute(select(ScanLog.raw, ScanLog.device, ScanLog.context)
                                 .where(ScanLog.task_id == receipt["id"])).all()
    assert ("W1-A1", "zebra-7", "receiving:location") in logged
    assert api.ok("GET", f"/api/v1/tasks/{receipt['id']}")["lines"][0]["confirmed_by"] == [], "nothing confirmed"


def test_disagreeing_counts_go_to_a_recount_round(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 9, "reason": "opening"}, status=201)
    count = api.ok("POST", "/api/v1/count-tasks", {"warehouse": "W1", "locations": ["W1-A1"]}, as_="super1",
                   status=201)
    confirm(api, count["id"], 1, "op1", quantity=9, location="W1-A1", item="PLAIN")
    disagree = confirm(api, count["id"], 1, "op2", quantity=8, location="W1-A1", item="PLAIN").get_json()
    discrepancy = disagree["discrepancy_id"]
    cannot = api.post(f"/api/v1/discrepancies/{discrepancy}/approve",
                      {"reason_code": "count_correction", "reason": "pick one"}, as_="super1")
    assert cannot.status_code == 422 and cannot.get_json()["reason"] == "counts_disagree"
    api.ok("POST", f"/api/v1/discrepancies/{discrepancy}/recount", {"reason": "count again"}, as_="super1")
    line = api.ok("GET", f"/api/v1/tasks/{count['id']}")["lines"][0]
    assert (line["status"], line["round"], line["confirmed_by"]) == ("open", 2, [])
    # In the new round op1 and op2 may count again; both now agree with the ledger.
    for who in ("op2", "op1"):
        assert confirm(api, count["id"], 1, who, quantity=9, location="W1-A1", item="PLAIN").status_code == 200
    assert api.ok("GET", f"/api/v1/tasks/{count['id']}")["status"] == "done"
    assert stock(api, sku="PLAIN") == {("W1-A1", None): 9}


def test_a_count_flags_stock_that_moved_after_it_started(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 10, "reason": "opening"}, status=201)
    count = api.ok("POST", "/api/v1/count-tasks", {"warehouse": "W1", "locations": ["W1-A1"]}, as_="super1",
                   status=201)
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": -2, "reason": "damaged"}, status=201)
    for who in ("op1", "op2"):
        confirm(api, count["id"], 1, who, quantity=10, location="W1-A1", item="PLAIN")
    [flagged] = api.ok("GET", "/api/v1/discrepancies?workflow=counting&status=open", as_="super1")
    assert flagged["stock_moved_since_start"] is True
    assert (flagged["expected_quantity"], flagged["counted_quantity"]) == (8, 10)


def test_receipts_import_from_csv_all_or_nothing(api: Api, site: dict) -> None:
    good = "reference,warehouse,sku,quantity,lot,expiry\nPO-7,W1,PLAIN,5,,\nPO-7,W1,LOTTED,3,L9,2031-05-31\n"
    created = api.request("POST", "/api/v1/receipts/import", as_="super1", data=good.encode(),
                          headers={"Content-Type": "text/csv"})
    assert created.status_code == 201, created.get_json()
    [receipt] = created.get_json()
    assert [(line["sku"], line["expected_quantity"]) for line in receipt["lines"]] == [("PLAIN", 5), ("LOTTED", 3)]
    bad = "reference,warehouse,sku,quantity\nPO-8,W1,PLAIN,five\nPO-8,W1,NOPE,1\n"
    refused = api.request("POST", "/api/v1/receipts/import", as_="super1", data=bad.encode(),
                          headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422 and "row 2" in refused.get_json()["errors"]
    assert [t["reference"] for t in api.ok("GET", "/api/v1/tasks?workflow=receiving")] == ["PO-7"]


def test_unexpected_goods_are_counted_and_always_reviewed(api: Api, site: dict) -> None:
    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-4", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 2}]}, as_="super1", status=201)
    extra = api.ok("POST", f"/api/v1/receipts/{receipt['id']}/lines", {"sku": "LOTTED"}, as_="op1", status=201)
    for who in ("op1", "op2"):
        result = confirm(api, receipt["id"], extra["line_no"], who, quantity=3, location="W1-DOCK", item="96385074",
                         lot="X1", expiry="2032-01-31").get_json()
    assert result["discrepancy_id"]
    queue = api.ok("GET", "/api/v1/discrepancies?kind=unexpected", as_="super1")
    assert [(d["sku"], d["expected_quantity"], d["counted_quantity"]) for d in queue] == [("LOTTED", 0, 3)]


def test_high_value_lines_always_get_a_second_person(api: Api, site: dict) -> None:
    api.ok("PUT", "/api/v1/verification-policies/receiving",
           {"policy": "two_scan", "two_person_from_value": "100.00"}, as_="admin1")
    api.ok("POST", "/api/v1/items", {"sku": "GOLD", "name": "Gold bar", "unit_value": "5000.00"}, status=201)
    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-5", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 1}, {"sku": "GOLD", "quantity": 1}]}, as_="super1", status=201)
    needs = {line["sku"]: line["needs_second_person"] for line in receipt["lines"]}
    assert needs == {"PLAIN": False, "GOLD": True}
    plain = confirm(api, receipt["id"], 1, "op1", quantity=1, location="W1-DOCK", item="PLAIN").get_json()
    assert plain["line"]["status"] == "done", "two_scan: one person, two scans"
    gold = confirm(api, receipt["id"], 2, "op1", quantity=1, location="W1-DOCK", item="GOLD").get_json()
    assert gold["waiting_for_second_person"] is True


def test_the_move_names_the_first_counter_as_actor_and_the_second_as_verifier(api: Api, site: dict, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tests.conftest import user_id
    from warehouse.stock.models import Move

    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-6", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 2}]}, as_="super1", status=201)
    confirm(api, receipt["id"], 1, "op2", quantity=2, location="W1-DOCK", item="PLAIN")
    done = confirm(api, receipt["id"], 1, "op1", quantity=2, location="W1-DOCK", item="PLAIN").get_json()
    assert done["line"]["status"] == "done"
    with db.reading() as session:
        actor, verifier = session.execute(select(Move.actor_id, Move.verifier_id)
                                          .where(Move.task_id == receipt["id"])).one()
    assert (actor, verifier) == (user_id(db, "op2"), user_id(db, "op1"))


def test_an_unreadable_scan_is_refused_with_its_reason_and_kept_in_the_log(api: Api, site: dict, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from warehouse.scanning.models import ScanLog

    receipt = api.ok("POST", "/api/v1/receipts", {"reference": "ASN-7", "warehouse": "W1", "lines": [
        {"sku": "PLAIN", "quantity": 1}]}, as_="super1", status=201)
    bad_check_digit = "]C10104006381333932"
    refused = confirm(api, receipt["id"], 1, "op1", quantity=1, location="W1-DOCK", item=bad_check_digit)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "bad_check_digit"
    with db.reading() as session:
        logged = session.execute(select(ScanLog.raw, ScanLog.error_reason).where(
            ScanLog.task_id == receipt["id"], ScanLog.error_reason.is_not(None))).all()
    assert logged == [(bad_check_digit, "bad_check_digit")]
