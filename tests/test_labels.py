"""Labels over HTTP and camera-frame decoding over HTTP: what a supervisor prints and what a handheld
without BarcodeDetector sends. A printed label, photographed and decoded by the server, must resolve
to the same record through POST /scans/resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import pytest

from hardware import decoding, labels, synthetic
from hardware.decoding import GS
from hardware.fake_printer import FakePrinter
from tests.conftest import Api, make_test_app, table_counts
from tests.test_printer import well_formed_zpl
from warehouse.db import Database

V1 = "/api/v1"
PROBLEM = "application/problem+json"
SSCC = labels.build_sscc("0614141", 123456789, extension_digit=1)


# ---------------------------------------------------------------- GS1 arithmetic

def test_sscc_is_built_with_the_gs1_check_digit() -> None:
    assert SSCC == "106141411234567897"  # the GS1 General Specifications' example
    other = labels.build_sscc("4006381", 42, extension_digit=3)
    assert other[:17] == "3" "4006381" "000000042" and labels.validate_sscc(other) == other
    assert labels.validate_sscc(SSCC) == SSCC
    with pytest.raises(labels.LabelError, match="needs check digit 7, not 8"):
        labels.validate_sscc(SSCC[:17] + "8")
    with pytest.raises(labels.LabelError, match="18 digits"):
        labels.validate_sscc("12345")
    with pytest.raises(labels.LabelError, match="at most 9 digits"):
        labels.build_sscc("0614141", 10**9)


def test_gtin_check_digits() -> None:
    assert labels.gs1_check_digit("400638133393") == 1
    assert labels.gs1_check_digit("9638507") == 4
    with pytest.raises(labels.LabelError, match="check digit"):
        labels.gtin_symbol("4006381333932")


# ---------------------------------------------------------------- helpers

def decode_png(data: bytes) -> list[str]:
    """What the default decoder reads off a rendered label, photographed: pasted into a 1280x720 frame."""
    label = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    frame = np.full((720, 1280), 170, np.uint8)
    scale = min(1.0, 1200 / label.shape[1], 680 / label.shape[0])
    label = cv2.resize(label, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top, left = (720 - label.shape[0]) // 2, (1280 - label.shape[1]) // 2
    frame[top:top + label.shape[0], left:left + label.shape[1]] = label
    return [code.raw for code in decoding.registry().get().decode(frame)]


def post_frame(api: Api, data: bytes, content_type: str = "image/jpeg", as_: str = "op1") -> Any:
    return api.request("POST", f"{V1}/scans/decode", as_=as_, data=data, content_type=content_type)


def resolve(api: Api, raw: str) -> dict[str, Any]:
    return api.ok("POST", f"{V1}/scans/resolve", {"raw": raw}, as_="op1")


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["type"] == f"urn:warehouse:problem:{slug}"
    return body


# ---------------------------------------------------------------- rendering

def test_a_bin_label_in_every_format_reads_back_as_its_code(api: Api, site: dict[str, Any]) -> None:
    svg = api.get(f"{V1}/labels/locations/W1-A1.svg", as_="op1")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).lstrip().startswith("<?xml") and "W1-A1" in svg.get_data(as_text=True)

    png = api.get(f"{V1}/labels/locations/W1-A1.png", as_="op1")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode_png(png.get_data()) == ["W1-A1"]
    assert resolve(api, "W1-A1")["location"]["code"] == "W1-A1"

    zpl = api.get(f"{V1}/labels/locations/W1-A1.zpl", as_="op1")
    assert zpl.status_code == 200 and zpl.mimetype == "text/plain"
    assert "W1-A1" in well_formed_zpl(zpl.get_data())
    assert 'filename="location-W1-A1.zpl"' in zpl.headers["Content-Disposition"]


def test_an_item_label_carries_gtin_and_sku_and_both_resolve_to_the_item(api: Api, site: dict[str, Any]) -> None:
    png = api.get(f"{V1}/labels/items/PLAIN.png", as_="op1")
    assert png.status_code == 200
    read = decode_png(png.get_data())
    assert sorted(read) == ["4006381333931", "PLAIN"]
    for raw in read:
        assert resolve(api, raw)["item"]["sku"] == "PLAIN"
    fields = well_formed_zpl(api.get(f"{V1}/labels/items/LOTTED.zpl").get_data())
    assert "9638507" in fields and "LOTTED" in fields  # GTIN-8 as EAN-8 (the printer adds the check digit)


def test_an_item_without_gtin_gets_a_sku_only_label(api: Api, site: dict[str, Any]) -> None:
    assert decode_png(api.get(f"{V1}/labels/items/SERIAL.png").get_data()) == ["SERIAL"]


def test_a_pallet_label_reads_back_as_gs1_128_and_resolves_to_the_sscc(api: Api, site: dict[str, Any]) -> None:
    svg = api.get(f"{V1}/labels/sscc/{SSCC}.svg")
    assert svg.status_code == 200 and "(00) 1 0614141 123456789 7" in svg.get_data(as_text=True)
    (raw,) = decode_png(api.get(f"{V1}/labels/sscc/{SSCC}.png").get_data())
    assert raw == "]C100" + SSCC
    resolution = resolve(api, raw)
    assert resolution["kind"] == "sscc" and resolution["sscc"] == SSCC
    assert ">;>800" + SSCC in well_formed_zpl(api.get(f"{V1}/labels/sscc/{SSCC}.zpl").get_data())


def test_a_wrong_sscc_check_digit_is_422(api: Api, site: dict[str, Any]) -> None:
    body = problem(api.get(f"{V1}/labels/sscc/{SSCC[:17]}0.svg"), 422, "invalid-input")
    assert "check digit" in body["detail"] and "sscc" in body["errors"]
    problem(api.get(f"{V1}/labels/sscc/12345.zpl"), 422, "invalid-input")


def test_unknown_records_formats_and_virtual_locations_are_404(api: Api, site: dict[str, Any]) -> None:
    problem(api.get(f"{V1}/labels/locations/W9-NOPE.svg"), 404, "not-found")
    problem(api.get(f"{V1}/labels/items/NOPE.png"), 404, "not-found")
    problem(api.get(f"{V1}/labels/locations/W1-A1.pdf"), 404, "not-found")
    body = problem(api.get(f"{V1}/labels/locations/V-SUPPLIER.svg"), 404, "not-found")
    assert "virtual" in body["detail"]


def test_labels_need_a_signed_in_caller(api: Api, site: dict[str, Any]) -> None:
    problem(api.get(f"{V1}/labels/locations/W1-A1.svg", as_=None), 401, "unauthenticated")
    problem(api.get(f"{V1}/labels/sheets/locations?warehouse=W1", as_=None), 401, "unauthenticated")


def test_the_bin_label_sheet_lists_a_warehouses_active_bins_for_a4(api: Api, site: dict[str, Any]) -> None:
    api.ok("POST", f"{V1}/locations", {"code": "W1-OLD", "warehouse": "W1", "type": "storage"})
    api.ok("PATCH", f"{V1}/locations/W1-OLD", {"active": False})
    response = api.get(f"{V1}/labels/sheets/locations?warehouse=W1", as_="op1")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for code in ("W1-DOCK", "W1-A1", "W1-A2", "W1-P1"):
        assert f'<div class="code">{code}</div>' in page
    assert "W1-OLD" not in page and "W2-A1" not in page and "V-SUPPLIER" not in page
    assert page.count("<svg") == 4
    assert "size: A4" in page and "@media print" in page
    assert "style-src 'unsafe-inline'" in response.headers["Content-Security-Policy"]


def test_the_sheet_refuses_unknown_warehouses_and_zones(api: Api, site: dict[str, Any]) -> None:
    body = problem(api.get(f"{V1}/labels/sheets/locations?warehouse=W7"), 422, "invalid-input")
    assert "warehouse" in body["errors"]
    problem(api.get(f"{V1}/labels/sheets/locations"), 422, "invalid-input")
    body = problem(api.get(f"{V1}/labels/sheets/locations?warehouse=W1&zone=ZZ"), 422, "invalid-input")
    assert "zone" in body["errors"]


# ---------------------------------------------------------------- printing

@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


@pytest.fixture
def printing_api(db: Database, tmp_path: Path, cast: dict[str, Any], printer: FakePrinter) -> Api:
    app = make_test_app(db, tmp_path, LABEL_PRINTER=f"{printer.address},127.0.0.1:9")
    return Api(app.test_client(), cast)


def test_a_supervisor_prints_bin_item_and_pallet_labels(printing_api: Api, printer: FakePrinter,
                                                        site: dict[str, Any]) -> None:
    api = printing_api
    sent = api.ok("POST", f"{V1}/labels/print", {"kind": "location", "code": "W1-A1", "copies": 3}, as_="super1")
    assert sent["printer"] == printer.address and sent["copies"] == 3 and sent["bytes"] > 0
    api.ok("POST", f"{V1}/labels/print", {"kind": "item", "code": "PLAIN"}, as_="super1")
    api.ok("POST", f"{V1}/labels/print", {"kind": "sscc", "code": SSCC, "printer": printer.address}, as_="super1")
    jobs = printer.wait_for_jobs(3)
    assert len(jobs) == 3
    assert "W1-A1" in well_formed_zpl(jobs[0]) and "^PQ3" in jobs[0].decode()
    assert "PLAIN" in well_formed_zpl(jobs[1]) and "^PQ1" in jobs[1].decode()
    assert ">;>800" + SSCC in well_formed_zpl(jobs[2])
    assert len(jobs[0]) == sent["bytes"]


def test_printing_refuses_bad_requests_before_the_printer_hears_anything(printing_api: Api, printer: FakePrinter,
                                                                        db: Database, site: dict[str, Any]) -> None:
    api = printing_api
    before = table_counts(db)
    body = problem(api.post(f"{V1}/labels/print", {"kind": "location", "code": "W9-NOPE"}, as_="super1"), 422,
                   "invalid-input")
    assert "code" in body["errors"]
    body = problem(api.post(f"{V1}/labels/print", {"kind": "sscc", "code": SSCC[:17] + "0"}, as_="super1"), 422,
                   "invalid-input")
    assert "check digit" in body["detail"]
    body = problem(api.post(f"{V1}/labels/print", {"kind": "location", "code": "W1-A1", "printer": "10.1.2.3:9100"},
                            as_="super1"), 422, "invalid-input")
    assert "not a configured label printer" in body["errors"]["printer"][0]
    problem(api.post(f"{V1}/labels/print", {"kind": "location", "code": "W1-A1"}, as_="op1"), 403, "forbidden")
    assert printer.wait_for_jobs(1, timeout=0.2) == []
    assert table_counts(db) == before


def test_a_printer_that_does_not_answer_is_503_with_its_address(printing_api: Api, site: dict[str, Any]) -> None:
    with FakePrinter() as gone:
        address = gone.address
    app = printing_api.client.application
    app.config["LABEL_PRINTER"] = address
    body = problem(printing_api.post(f"{V1}/labels/print", {"kind": "location", "code": "W1-A1"}, as_="super1"),
                   503, "printer-unreachable")
    assert address in body["detail"] and "refused" in body["detail"]


def test_printing_without_a_configured_printer_says_how_to_configure_one(api: Api, site: dict[str, Any]) -> None:
    body = problem(api.post(f"{V1}/labels/print", {"kind": "location", "code": "W1-A1"}, as_="super1"), 503,
                   "printer-not-configured")
    assert "WAREHOUSE_LABEL_PRINTER" in body["detail"]


# ---------------------------------------------------------------- decoding frames over HTTP

def frame(kind: str, distortion: str = "none", ext: str = ".jpg") -> bytes:
    symbol = {s.kind: s for s in synthetic.SYMBOLS}[kind]
    return synthetic.encode(synthetic.frame(symbol, distortion, seed=11), ext)


def test_a_handheld_frame_with_a_gs1_128_label_decodes_and_resolves(api: Api, site: dict[str, Any]) -> None:
    """A case label for the catalog's PLAIN (GTIN 04006381333931) with lot and expiry, photographed."""
    content = "0104006381333931" + "10LOT42" + GS + "17281231"
    symbol = synthetic.Symbol("gs1-128", content, content, "]C1" + content, "code128")
    data = synthetic.encode(synthetic.frame(symbol, "perspective", seed=4))
    body = api.ok("POST", f"{V1}/scans/decode", as_="op1", data=data, content_type="image/jpeg")
    assert body["decoder"] == decoding.registry().default_name() == "zxing-cpp"
    assert isinstance(body["ms"], float)
    (code,) = body["codes"]
    assert code == {"raw": "]C1" + content, "text": content, "format": "code128", "decoder": "zxing-cpp"}
    resolution = resolve(api, code["raw"])
    assert resolution["symbology"] == "]C1"
    assert resolution["item"]["sku"] == "PLAIN"
    assert resolution["elements"] == {"01": "04006381333931", "10": "LOT42", "17": "281231"}
    assert resolution["expiry"] == "2028-12-31"


def test_a_gs1_datamatrix_frame_decodes_to_d2(api: Api, site: dict[str, Any]) -> None:
    body = api.ok("POST", f"{V1}/scans/decode", as_="op1", data=frame("gs1-datamatrix", "rotation"),
                  content_type="image/jpeg")
    (code,) = body["codes"]
    assert code["format"] == "datamatrix" and code["raw"].startswith("]d2")
    resolution = resolve(api, code["raw"])
    assert resolution["serial"] == "SN77" and resolution["elements"]["10"] == "VD-2501"


def test_qr_and_code128_frames_decode_as_plain_text(api: Api, site: dict[str, Any]) -> None:
    for kind, text in (("qrcode", "SSCC-PALLET-0042 W1-DOCK"), ("code128", "W1-A01-03")):
        body = api.ok("POST", f"{V1}/scans/decode", as_="op1", data=frame(kind, ext=".png"), content_type="image/png")
        assert [code["raw"] for code in body["codes"]] == [text]


def test_a_frame_without_a_code_is_an_empty_list(api: Api, site: dict[str, Any]) -> None:
    data = synthetic.encode(synthetic.frame(None, "noise", seed=1))
    body = api.ok("POST", f"{V1}/scans/decode", as_="op1", data=data, content_type="image/jpeg")
    assert body["codes"] == [] and body["decoder"] == "zxing-cpp"


def test_frames_that_are_not_images_are_refused_clearly(api: Api, db: Database, site: dict[str, Any]) -> None:
    before = table_counts(db)
    body = problem(post_frame(api, frame("code128"), "text/plain"), 415, "unsupported-media-type")
    assert "image/jpeg or image/png" in body["detail"]
    problem(post_frame(api, b'{"raw": "x"}', "application/json"), 415, "unsupported-media-type")
    body = problem(post_frame(api, b"not an image at all"), 422, "invalid-input")
    assert "image" in body["errors"]
    problem(post_frame(api, frame("code128")[:100]), 422, "invalid-input")  # cut off inside the header
    problem(post_frame(api, b"", "image/png"), 422, "invalid-input")
    problem(post_frame(api, b"\0" * (1_048_576 + 1)), 413, "payload-too-large")
    problem(post_frame(api, frame("code128"), as_=None), 401, "unauthenticated")
    assert table_counts(db) == before


def test_the_service_and_its_health_carry_on_without_libzbar(api: Api, monkeypatch: pytest.MonkeyPatch,
                                                            site: dict[str, Any]) -> None:
    def missing() -> object:
        raise ImportError("Unable to find zbar shared library")

    monkeypatch.setattr(decoding, "_registries", {})
    monkeypatch.setattr(decoding.PyzbarDecoder, "_load", staticmethod(missing))
    health = api.ok("GET", f"{V1}/health", as_=None)
    decoders = {d["name"]: d for d in health["decoders"]}
    assert decoders["pyzbar"]["available"] is False and "libzbar" in decoders["pyzbar"]["reason"]
    assert decoders["zxing-cpp"] == {"name": "zxing-cpp", "available": True, "reason": None}
    assert health["decoder"] == "zxing-cpp"
    body = api.ok("POST", f"{V1}/scans/decode", as_="op1", data=frame("code128"), content_type="image/jpeg")
    assert body["codes"][0]["raw"] == "W1-A01-03"


def test_a_configured_decoder_that_cannot_run_is_503_and_health_says_why(
        db: Database, tmp_path: Path, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> object:
        raise ImportError("Unable to find zbar shared library")

    monkeypatch.setattr(decoding, "_registries", {})
    monkeypatch.setattr(decoding.PyzbarDecoder, "_load", staticmethod(missing))
    api = Api(make_test_app(db, tmp_path, DECODER="pyzbar").test_client(), cast)
    health = api.ok("GET", f"{V1}/health", as_=None)
    assert health["decoder"] is None
    body = problem(post_frame(api, frame("code128")), 503, "unavailable")
    assert "pyzbar" in body["detail"] and "libzbar" in body["detail"]


def test_the_health_lists_every_decoder_and_no_missing_screen_files(api: Api) -> None:
    health = api.ok("GET", f"{V1}/health", as_=None)
    assert [d["name"] for d in health["decoders"]] == ["zxing-cpp", "pyzbar", "opencv"]
    assert health["screens_missing_files"] == [], "make install ran npm ci: the screens have their files"
    assert health["decoder"] == "zxing-cpp"


def test_the_health_names_screen_files_npm_has_not_installed(api: Api, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import scanner_ui

    monkeypatch.setattr(scanner_ui, "NODE_MODULES", tmp_path)  # as on a machine where `npm ci` never ran
    health = api.ok("GET", f"{V1}/health", as_=None)
    assert health["status"] == "ok"  # the API itself works
    assert health["screens_missing_files"] == ["socket.io.min.js", "uPlot.iife.min.js", "uPlot.min.css"]
    assert api.get("/ui/vendor/socket.io.min.js", as_=None).status_code == 404
