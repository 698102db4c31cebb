"""Scans: one normaliser for every reader, resolution against GS1's published examples and our
catalog, a 422 with a reason for anything that is not well formed, and a log row for every scan.

The GS1 examples are from the GS1 General Specifications (GTIN 09506000134352, SSCC
106141411234567897, UPC-E 01234565 = GTIN-12 012345000065) and the GS1 Digital Link standard.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Api, table_counts, user_id
from warehouse.db import Database
from warehouse.scanning.models import ScanLog
from warehouse.scanning.normalize import GS, ScanError, normalize
from warehouse.scanning.resolve import Resolution, resolve
from warehouse.scanning.services import log_scan

RESOLVE = "/api/v1/scans/resolve"
GTIN = "09506000134352"  # GS1's example GTIN-13 9506000134352 in its 14-digit form


# ------------------------------------------------------------------ the normaliser (no database)

@pytest.mark.parametrize(("raw", "symbology", "gs1"), [
    ("]C10109506000134352", "]C1", True),  # GS1-128
    ("]d20109506000134352", "]d2", True),  # GS1 DataMatrix
    ("]Q30109506000134352", "]Q3", True),  # GS1 QR Code
    ("]e00109506000134352", "]e0", True),  # GS1 DataBar
    ("]E09506000134352", "]E0", False),  # EAN-13 (a GTIN, not element strings)
    ("]E496385074", "]E4", False),  # EAN-8
    ("]I109506000134352", "]I1", False),  # ITF-14
    ("]A0W1-A1", "]A0", False),  # Code 39
    ("]C0W1-A1", "]C0", False),  # Code 128 without FNC1: not GS1
    ("]Q1https://id.gs1.org/01/09506000134352", "]Q1", False),  # plain QR, where Digital Links live
])
def test_each_aim_prefix_is_taken_off_and_named(raw: str, symbology: str, gs1: bool) -> None:
    scan = normalize(raw)
    assert scan.symbology == symbology and scan.gs1 is gs1
    assert scan.payload == raw[3:]


def test_camera_data_without_prefix_is_kept_as_is() -> None:
    scan = normalize("0109506000134352\x1d10ABC")
    assert (scan.payload, scan.symbology, scan.gs1, scan.leading_fnc1) == ("0109506000134352\x1d10ABC", None,
                                                                          False, False)


@pytest.mark.parametrize("suffix", ["\r", "\n", "\r\n", "\t", " \r\n"])
def test_suffix_keys_are_stripped(suffix: str) -> None:
    assert normalize(f"]C10109506000134352{GS}10ABC{suffix}").payload == f"0109506000134352{GS}10ABC"
    assert normalize(f"W1-A1{suffix}").payload == "W1-A1"


def test_gs_in_the_middle_is_kept_and_leading_or_trailing_gs_is_dropped() -> None:
    scan = normalize(f"{GS}0109506000134352{GS}17201225{GS}10ABC123{GS}\r\n")
    assert scan.payload == f"0109506000134352{GS}17201225{GS}10ABC123"
    assert scan.leading_fnc1 and scan.symbology is None
    prefixed = normalize(f"]C1{GS}0109506000134352{GS}10ABC")
    assert prefixed.payload == f"0109506000134352{GS}10ABC" and prefixed.leading_fnc1 and prefixed.gs1


@pytest.mark.parametrize("stand_in", ["{GS}", "[GS]", "\\x1d", "\\x1D", "\\u001d"])
def test_textual_gs_stand_ins_outside_gs1_characters_become_gs(stand_in: str) -> None:
    assert normalize(f"]C110ABC{stand_in}17201225").payload == f"10ABC{GS}17201225"


def test_angle_bracket_gs_is_left_alone_because_it_can_be_lot_data() -> None:
    assert normalize("]C110A<GS>B").payload == "10A<GS>B"


@pytest.mark.parametrize("raw", ["", "   ", "\r\n", "\t", GS, f"{GS}{GS}\r\n", "]C1", "]C1\r\n", "]d2{GS}"])
def test_nothing_to_read_is_empty(raw: str) -> None:
    with pytest.raises(ScanError) as caught:
        normalize(raw)
    assert caught.value.reason == "empty"


@pytest.mark.parametrize("raw", ["]", "]C", "]?1ABC", "]C\x1d0101", "AB\x00C", "AB\x1eC", "A\tB"])
def test_a_broken_prefix_or_control_characters_are_malformed(raw: str) -> None:
    with pytest.raises(ScanError) as caught:
        normalize(raw)
    assert caught.value.reason == "malformed"


# ------------------------------------------------------------------ GS1 published examples

def _resolve(db: Database, raw: str) -> Resolution:
    with db.reading() as session:
        return resolve(session, raw)


def _refused(db: Database, raw: str) -> ScanError:
    with db.reading() as session, pytest.raises(ScanError) as caught:
        resolve(session, raw)
    return caught.value


@pytest.mark.parametrize("raw", [GTIN, "9506000134352", "]E09506000134352", "]I109506000134352\r\n"])
def test_bare_gtin_is_padded_to_14_digits_under_ai_01(db: Database, raw: str) -> None:
    scan = _resolve(db, raw)
    assert (scan.kind, scan.matched, scan.elements, scan.item) == ("gtin", False, {"01": GTIN}, None)


@pytest.mark.parametrize("raw", [
    "(01)09506000134352(17)201225(10)ABC123",  # printed form, as typed from the label
    "(01) 09506000134352 (17) 201225 (10) ABC123",  # ... with the spaces some labels print
    "01095060001343521720122510ABC123",  # camera, no separators needed after fixed-length fields
    f"0109506000134352{GS}17201225{GS}10ABC123",  # camera, GS after every field
    f"]C10109506000134352{GS}17201225{GS}10ABC123\r\n",  # wedge GS1-128
    f"]d2{GS}01095060001343521720122510ABC123",  # wedge GS1 DataMatrix with leading FNC1
    f"{GS}01095060001343521720122510ABC123\n",  # wedge without identifiers, FNC1 as leading GS
    "]C10109506000134352{GS}17201225{GS}10ABC123",  # a wedge that types GS as text
])
def test_element_string_with_and_without_separators(db: Database, raw: str) -> None:
    scan = _resolve(db, raw)
    assert scan.kind == "gs1" and scan.matched is False
    assert scan.elements == {"01": GTIN, "17": "201225", "10": "ABC123"}
    assert scan.expiry == date(2020, 12, 25) and scan.dates == {"17": date(2020, 12, 25)}
    assert scan.lot is None and scan.item is None, "nothing in an empty catalog"


def test_sscc_alone_bare_or_as_element_string(db: Database) -> None:
    for raw in ["(00)106141411234567897", "]C100106141411234567897", "106141411234567897"]:
        scan = _resolve(db, raw)
        assert (scan.kind, scan.sscc, scan.elements) == ("sscc", "106141411234567897",
                                                         {"00": "106141411234567897"}), raw


def test_logistic_label_with_contents_count_and_purchase_order(db: Database) -> None:
    scan = _resolve(db, "(00)106141411234567897(02)09506000134352(37)25(400)PO-4711")
    assert scan.kind == "gs1" and scan.sscc == "106141411234567897" and scan.po == "PO-4711"
    assert scan.elements == {"00": "106141411234567897", "02": GTIN, "37": "25", "400": "PO-4711"}
    assert scan.quantity == 25, "the count, as the contents are not in the catalog"


def test_digital_link_path_and_query(db: Database) -> None:
    scan = _resolve(db, "https://id.gs1.org/01/09506000134352/10/ABC/21/12345?17=201225")
    assert scan.kind == "digital_link"
    assert scan.elements == {"01": GTIN, "10": "ABC", "21": "12345", "17": "201225"}
    assert (scan.serial, scan.expiry) == ("12345", date(2020, 12, 25))
    short = _resolve(db, "]Q1https://example.com/shop/01/9506000134352?3103=001250&utm_source=label")
    assert short.elements == {"01": GTIN, "3103": "001250"}, "GTIN-13 padded; other parameters ignored"


@pytest.mark.parametrize("raw", ["01234565", "]E001234565"])
def test_upc_e_expands_to_gtin_12(db: Database, raw: str) -> None:
    assert _resolve(db, raw).elements == {"01": "00012345000065"}  # GTIN-12 012345000065


def test_gtin_8(db: Database) -> None:
    assert _resolve(db, "]E496385074").elements == {"01": "00000096385074"}
    assert _resolve(db, "96385074").elements == {"01": "00000096385074"}, "9 is no UPC-E number system"


def test_eight_digits_that_are_both_ean_8_and_upc_e_need_the_symbology(db: Database) -> None:
    assert _refused(db, "12345670").reason == "ambiguous"
    assert _resolve(db, "]E412345670").elements == {"01": "00000012345670"}
    assert _resolve(db, "]E012345670").elements == {"01": "00123456000070"}


def test_expiry_day_00_means_the_end_of_the_month(db: Database) -> None:
    assert _resolve(db, "(01)09506000134352(17)200200").expiry == date(2020, 2, 29)
    assert _resolve(db, "(01)09506000134352(17)210200").expiry == date(2021, 2, 28)
    assert _resolve(db, "(01)09506000134352(17)261100").expiry == date(2026, 11, 30)


def test_other_dates_are_read_too(db: Database) -> None:
    scan = _resolve(db, "(01)09506000134352(11)250101(15)260315")
    assert scan.dates == {"11": date(2025, 1, 1), "15": date(2026, 3, 15)} and scan.expiry is None


def test_net_weight_with_decimals(db: Database) -> None:
    scan = _resolve(db, "(01)99506000134355(3103)001250")
    assert scan.elements["3103"] == "001250" and scan.net_weight_kg == Decimal("1.250")
    assert _resolve(db, "01995060001343553102000125").net_weight_kg == Decimal("1.25")


def test_company_internal_ais_91_to_99_are_valid(db: Database) -> None:
    scan = _resolve(db, f"]C10109506000134352{GS}91INT-7{GS}99ZZ")
    assert scan.elements == {"01": GTIN, "91": "INT-7", "99": "ZZ"}


@pytest.mark.parametrize(("raw", "reason"), [
    ("09506000134353", "bad_check_digit"),  # GTIN
    ("]E04006381333932", "bad_check_digit"),
    ("96385075", "bad_check_digit"),  # GTIN-8 (and no UPC-E: number system 9)
    ("(01)09506000134353(10)ABC", "bad_check_digit"),
    ("]C10109506000134353", "bad_check_digit"),
    ("https://id.gs1.org/01/09506000134353/10/ABC", "bad_check_digit"),
    ("(00)106141411234567898", "bad_check_digit"),  # SSCC
    ("106141411234567898", "bad_check_digit"),
    ("(23)12345", "unknown_ai"),  # 23 is unassigned (only 235 starts so)
    (f"]C10109506000134352{GS}2312345", "unknown_ai"),
    ("]C1ABC", "unknown_ai"),
    ("https://id.gs1.org/01/09506000134352/23/X", "unknown_ai"),
    ("(01)09506000134352(17)201332", "bad_date"),  # month 13
    ("]C1010950600013435217201332", "bad_date"),
    ("]C1010950600013435217210230", "bad_date"),  # 30 February
    ("https://id.gs1.org/01/09506000134352?17=201332", "bad_date"),
    ("]C110" + "A" * 21, "malformed"),  # lot longer than 20 without a GS after it
    (f"]C10109506000134352{GS}10A{GS}10B", "malformed"),  # one AI, two values
    ("https://id.gs1.org/01/09506000134352?10=A&10=B", "malformed"),
    ("https://id.gs1.org/01/09506000134352/21/1/10/A", "malformed"),  # qualifiers out of order
    ("]C1010950600013435230", "malformed"),  # count without digits
    ("]E4123", "malformed"),
    ("http://[::1/01/09506000134352", "malformed"),
    ("(01)0950600013435", "malformed"),  # 13 digits where (01) has 14
    ("   \r\n", "empty"),
    ("]C1\r\n", "empty"),
])
def test_invalid_scans_are_refused_with_their_reason(db: Database, raw: str, reason: str) -> None:
    error = _refused(db, raw)
    assert error.reason == reason, error.message
    assert error.to_problem()["errors"] == {"raw": [error.message]}


@pytest.mark.parametrize("raw", ["HELLO-42", "]A04006381333932", "https://example.com/about", "10ABC", "123",
                                 "0123-X", "(ABC)", "]C0" + "01" + "09506000134353"])
def test_well_formed_codes_that_match_nothing_resolve_unmatched(db: Database, raw: str) -> None:
    scan = _resolve(db, raw)
    assert (scan.kind, scan.matched, scan.elements) == ("unknown_code", False, {})


# ------------------------------------------------------------------ through the API, against the catalog

def _scan(api: Api, raw: str, *, as_: str = "op1", **extra: Any) -> Any:
    return api.post(RESOLVE, {"raw": raw, **extra}, as_=as_)


def _log(db: Database) -> list[ScanLog]:
    with db.reading() as session:
        rows = list(session.scalars(select(ScanLog).order_by(ScanLog.id)))
        session.expunge_all()  # keep them loaded after the reading session rolls back
        return rows


def test_gtin_of_an_item_resolves_to_it(api: Api, site: dict) -> None:
    for raw in ["4006381333931", "]E04006381333931\r\n", "04006381333931", "(01)04006381333931"]:
        body = api.ok("POST", RESOLVE, {"raw": raw}, as_="op1")
        assert body["matched"] is True and body["elements"]["01"] == "04006381333931", raw
        assert body["item"] == {"sku": "PLAIN", "name": "Plain widget", "pack_level": "each", "pack_quantity": 1}
        assert body["quantity"] == 1
    assert api.ok("POST", RESOLVE, {"raw": "4006381333931"}, as_="op1")["kind"] == "item"


def test_gtin_8_item_with_an_existing_and_a_new_lot(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments", {"sku": "LOTTED", "location": "W1-A1", "quantity": 5,
                                                 "reason": "initial count", "lot": "L-77", "expiry": "2027-03-31"})
    assert api.ok("POST", RESOLVE, {"raw": "96385074"}, as_="op1")["item"]["sku"] == "LOTTED"
    known = api.ok("POST", RESOLVE, {"raw": f"]C10100000096385074{GS}10L-77{GS}17270300"}, as_="op1")
    assert known["lot"] == {"code": "L-77", "expiry": "2027-03-31"} and known["expiry"] == "2027-03-31"
    new = api.ok("POST", RESOLVE, {"raw": "(01)00000096385074(10)L-78"}, as_="op1")
    assert new["lot"] is None and new["elements"]["10"] == "L-78" and new["item"]["sku"] == "LOTTED"


def test_pack_level_gtin_resolves_with_its_pack_quantity(api: Api, site: dict) -> None:
    api.ok("POST", "/api/v1/items", {"sku": "CASED", "name": "Cased widget", "gtins": ["09506000134352"],
                                     "pack_sizes": [{"level": "case", "quantity": 12, "gtin": "14006381333938"}]})
    case = api.ok("POST", RESOLVE, {"raw": "14006381333938"}, as_="op1")
    assert case["item"] == {"sku": "CASED", "name": "Cased widget", "pack_level": "case", "pack_quantity": 12}
    assert case["quantity"] == 12
    pallet = api.ok("POST", RESOLVE, {"raw": "(00)106141411234567897(02)14006381333938(37)3"}, as_="op1")
    assert pallet["item"]["pack_level"] == "case" and pallet["quantity"] == 36 and pallet["sscc"]
    assert api.ok("POST", RESOLVE, {"raw": "https://id.gs1.org/01/9506000134352"},
                  as_="op1")["item"]["pack_level"] == "each"


def test_location_badge_sku_and_alias(api: Api, site: dict) -> None:
    location = api.ok("POST", RESOLVE, {"raw": "]C0W1-A1\r\n"}, as_="op2")
    assert (location["kind"], location["matched"]) == ("location", True)
    assert location["location"] == {"code": "W1-A1", "warehouse": "W1", "type": "storage"}
    badge = api.ok("POST", RESOLVE, {"raw": "BADGE-OP1\n"}, as_="op2")
    assert badge["kind"] == "badge" and badge["badge"]["username"] == "op1"
    assert set(badge["badge"]) == {"username", "display_name"}, "nothing about the PIN, ever"
    assert "pin" not in str(badge).lower()
    api.ok("PATCH", "/api/v1/items/SERIAL", {"aliases": ["SCN-OLD-7"]})
    alias = api.ok("POST", RESOLVE, {"raw": "SCN-OLD-7"}, as_="op1")
    assert (alias["kind"], alias["item"]["sku"]) == ("item", "SERIAL")
    assert api.ok("POST", RESOLVE, {"raw": "PLAIN"}, as_="op1")["item"]["sku"] == "PLAIN"
    virtual = api.ok("POST", RESOLVE, {"raw": "V-SUPPLIER"}, as_="op1")
    assert virtual["kind"] == "unknown_code", "virtual locations have no label to scan"


def test_a_code_that_is_sku_of_one_item_and_alias_of_another_is_ambiguous(api: Api, site: dict) -> None:
    api.ok("PATCH", "/api/v1/items/SERIAL", {"aliases": ["PLAIN"]})
    response = _scan(api, "PLAIN")
    assert response.status_code == 422 and response.get_json()["reason"] == "ambiguous"


def test_well_formed_unknown_gtin_is_200_unmatched(api: Api, site: dict) -> None:
    body = api.ok("POST", RESOLVE, {"raw": "5901234123457"}, as_="op1")
    assert (body["kind"], body["matched"], body["item"]) == ("gtin", False, None)
    assert body["elements"] == {"01": "05901234123457"}
    assert set(body) == {"raw", "normalized", "symbology", "kind", "matched", "elements", "dates", "item", "lot",
                         "expiry", "quantity", "net_weight_kg", "serial", "sscc", "po", "location", "badge"}


def test_malformed_scan_is_422_problem_with_reason(api: Api, site: dict) -> None:
    response = _scan(api, "(01)09506000134352(17)201332")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:warehouse:problem:invalid-input" and problem["reason"] == "bad_date"
    assert list(problem["errors"]) == ["raw"] and "(17)" in problem["errors"]["raw"][0]


def test_every_scan_is_logged_with_raw_user_device_and_time(api: Api, site: dict, db: Database) -> None:
    before = table_counts(db)
    ok_raw = f"]C10104006381333931{GS}10B-1\r\n"
    api.ok("POST", RESOLVE, {"raw": ok_raw, "device": "TC52-07", "context": "receiving"}, as_="op1")
    bad = _scan(api, "4006381333932\n", as_="op2", device="TC52-08")
    assert bad.status_code == 422 and bad.get_json()["reason"] == "bad_check_digit"
    empty = _scan(api, " \r\n", as_="op2")
    assert empty.status_code == 422 and empty.get_json()["reason"] == "empty"

    after = table_counts(db)
    assert {name: after[name] - before[name] for name in after if after[name] != before[name]} == {"scan_log": 3}
    success, failure, blank = _log(db)
    assert (success.raw, success.normalized, success.kind, success.error_reason) == (
        ok_raw, f"0104006381333931{GS}10B-1", "gs1", None)
    assert (success.user_id, success.device, success.context) == (user_id(db, "op1"), "TC52-07", "receiving")
    assert success.resolved["item"]["sku"] == "PLAIN" and success.resolved["elements"]["10"] == "B-1"
    assert success.created_at.tzinfo is not None
    assert (failure.raw, failure.normalized, failure.kind, failure.resolved) == (
        "4006381333932\n", "4006381333932", None, None)
    assert (failure.error_reason, failure.user_id, failure.device) == ("bad_check_digit", user_id(db, "op2"),
                                                                       "TC52-08")
    assert "check digit" in failure.error_message
    assert (blank.raw, blank.normalized, blank.error_reason) == (" \r\n", None, "empty")


def test_a_scan_with_nul_is_refused_and_still_logged_on_every_backend(api: Api, site: dict, db: Database) -> None:
    response = _scan(api, "AB\x00C")
    assert response.status_code == 422 and response.get_json()["reason"] == "malformed"
    (entry,) = _log(db)
    assert entry.raw == "AB\ufffdC" and entry.error_reason == "malformed"


def test_requests_that_are_not_scans_are_refused_before_logging(api: Api, site: dict, db: Database) -> None:
    for body in [{"raw": ""}, {"raw": "x" * 1001}, {"raw": 42}, {}, {"raw": "W1-A1", "context": "two words"}]:
        response = api.post(RESOLVE, body, as_="op1")
        assert response.status_code == 422 and "reason" not in response.get_json(), body
    assert api.post(RESOLVE, {"raw": "W1-A1"}, as_=None).status_code == 401
    assert _log(db) == []


def test_every_role_may_resolve(api: Api, site: dict) -> None:
    for member in ["admin1", "super1", "op1", "shop"]:
        assert api.ok("POST", RESOLVE, {"raw": "W1-A2"}, as_=member)["kind"] == "location"


def test_log_scan_records_a_workflow_task(db: Database) -> None:
    op1 = user_id(db, "op1")
    with db.transaction() as session:
        resolution = resolve(session, "106141411234567897")
        entry_id = log_scan(session, raw="106141411234567897", resolution_or_error=resolution, user_id=op1,
                            device=None, context="putaway", task_id=41)
    with db.transaction() as session:
        with pytest.raises(ScanError) as refused:
            resolve(session, "]C10109506000134353")
        log_scan(session, raw="]C10109506000134353", resolution_or_error=refused.value, user_id=op1, device="x",
                 context=None, task_id=41)
    first, second = _log(db)
    assert first.id == entry_id
    assert (first.kind, first.task_id, first.context, first.resolved["sscc"]) == ("sscc", 41, "putaway",
                                                                                  "106141411234567897")
    assert (second.error_reason, second.normalized, second.task_id) == ("bad_check_digit", "0109506000134353", 41)
