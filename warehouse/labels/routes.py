from __future__ import annotations

import logging
import time
from typing import Any, Callable

from flask import Response, current_app, request
from sqlalchemy.orm import Session

from hardware import decoding, labels
from warehouse.api import Api, current_db, json_body, json_response, load, require, unstorable
from warehouse.errors import InvalidInput, NotFound, ServiceUnavailable, UnsupportedMediaType
from warehouse.labels import services
from warehouse.labels.schemas import DecodeOut, PrintIn, PrintOut, SheetQuery

log = logging.getLogger(__name__)

api = Api("labels", __name__)

# Anyone who may see locations and items may see (and print from a browser) their labels.
RENDER_PERMISSION = "locations:read"
# Sending jobs to the shared label printer: the people who plan the floor's work (supervisors, admins,
# and integrations creating receipts), not every operator's handheld.
PRINT_PERMISSION = "tasks:manage"
# Decoding a camera frame is a scan: every signed-in floor user does it.
DECODE_PERMISSION = "stock:read"

FORMATS = {"svg": "image/svg+xml", "png": "image/png", "zpl": "text/plain"}
IMAGE_TYPES = ("image/jpeg", "image/png")


class UnsupportedImageType(UnsupportedMediaType):
    title = "Send a JPEG or PNG image"


def _label_response(label: labels.Label, fmt: str) -> Response:
    if fmt == "svg":
        body: str | bytes = labels.render_svg(label)
    elif fmt == "png":
        body = labels.render_png(label)
    else:
        body = labels.render_zpl(label)
    mimetype = FORMATS[fmt]
    response = Response(body, mimetype=mimetype)
    if mimetype.startswith("text/"):
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{label.filename}.{fmt}"'
    return response


def _render(path_values: tuple[str, ...], build: Callable[[Session], labels.Label], fmt: str) -> Response:
    # The format is checked here rather than by the URL rule, so that a stranger gets 401 for any
    # label URL instead of learning which exist.
    require(RENDER_PERMISSION)
    if fmt not in FORMATS:
        raise NotFound(f"No label format {fmt!r}; use .svg, .png or .zpl.")
    if unstorable(list(path_values)):
        raise NotFound(f"Nothing at {request.path!r}.")
    with current_db().reading() as session:
        label = build(session)
    return _label_response(label, fmt)


@api.get("/labels/locations/<code>.<fmt>", permission=RENDER_PERMISSION, raw=True,
         tags=["labels"], errors=(404, 422),
         summary="A bin label (Code 128 of the location code) as SVG, PNG (203 dpi) or ZPL II")
def location_label(code: str, fmt: str) -> Response:
    return _render((code,), lambda session: services.location_label(session, code), fmt)


@api.get("/labels/items/<sku>.<fmt>", permission=RENDER_PERMISSION, raw=True, tags=["labels"],
         errors=(404, 422),
         summary="An item label: its GTIN (EAN-13/EAN-8, or GS1-128 for a GTIN-14) and SKU (Code 128)")
def item_label(sku: str, fmt: str) -> Response:
    return _render((sku,), lambda session: services.item_label(session, sku), fmt)


@api.get("/labels/sscc/<sscc>.<fmt>", permission=RENDER_PERMISSION, raw=True, tags=["labels"],
         errors=(422,),
         summary="A GS1-128 pallet label for an 18-digit SSCC (AI 00); a wrong check digit is 422")
def sscc_label(sscc: str, fmt: str) -> Response:
    return _render((sscc,), lambda session: services.sscc_label(sscc), fmt)


@api.get("/labels/sheets/locations", permission=RENDER_PERMISSION, raw=True, query=SheetQuery, tags=["labels"],
         errors=(422,),
         summary="An A4 HTML sheet of a warehouse's bin labels in walking order, to print from a browser")
def location_sheet() -> Response:
    require(RENDER_PERMISSION)
    query = load(SheetQuery, request.args.to_dict(), where="query string")
    with current_db().reading() as session:
        page = services.location_sheet(session, warehouse=query["warehouse"], zone=query.get("zone"))
    response = Response(page, mimetype="text/html")
    response.charset = "utf-8"
    # The sheet is self-contained: its style is inline and its barcodes inline SVG, nothing else loads.
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    return response


@api.post("/labels/print", permission=PRINT_PERMISSION, raw=True, body=PrintIn, response=PrintOut, tags=["labels"],
          errors=(422, 503),
          summary="Print a location, item or SSCC label on the network label printer (ZPL over raw TCP 9100); "
                  "503 when none is configured or it does not answer")
def print_label() -> Response:
    # A plain view: the edge would hold a transaction (on SQLite the write lock) while the printer
    # is contacted; here the lookup reads and the network is used with no transaction open.
    require(PRINT_PERMISSION)
    body = load(PrintIn, json_body(), where="body", refuse_nul=True)
    with current_db().reading() as session:
        label = services.label_for(session, body["kind"], body["code"])
    printer = services.choose_printer(body.get("printer"))
    sent = services.print_label(label, copies=body["copies"], printer=printer)
    log.info("printed %s label %s x%d on %s", body["kind"], body["code"], body["copies"], printer)
    payload: dict[str, Any] = {"kind": body["kind"], "code": body["code"], "copies": body["copies"],
                               "printer": str(printer), "bytes": sent}
    return json_response(PrintOut().dump(payload), 200)


@api.post("/scans/decode", permission=DECODE_PERMISSION, raw=True, response=DecodeOut, tags=["scanning"],
          errors=(413, 415, 422, 503),
          summary="Decode the barcodes in a camera frame (body: the JPEG or PNG itself) for handhelds whose "
                  "browser has no BarcodeDetector. Each code's `raw` goes as is to POST /scans/resolve; "
                  "a frame without a code gives `codes: []`.")
def decode_frame() -> Response:
    require(DECODE_PERMISSION)
    if request.mimetype not in IMAGE_TYPES:
        raise UnsupportedImageType(f"Got Content-Type {request.mimetype or 'none'}; send the frame as "
                                   "image/jpeg or image/png.")
    data = request.get_data(cache=False)
    try:
        decoder = decoding.registry(current_app.config["DECODER"]).get()
    except decoding.DecoderUnavailable as exc:
        raise ServiceUnavailable(str(exc)) from None
    started = time.perf_counter()
    try:
        codes = decoding.decode_frame(data, decoder)
    except decoding.ImageError as exc:
        raise InvalidInput(f"image: {exc}", errors={"image": [str(exc)]}) from None
    except Exception:  # a decoder library failing on one odd frame must not look like a server fault
        log.exception("decoder %s failed on a %d-byte %s frame", decoder.name, len(data), request.mimetype)
        message = f"The decoder {decoder.name} could not process this image."
        raise InvalidInput(f"image: {message}", errors={"image": [message]}) from None
    elapsed = (time.perf_counter() - started) * 1000
    payload = {"codes": [code.as_dict() for code in codes], "decoder": decoder.name, "ms": round(elapsed, 2)}
    return json_response(DecodeOut().dump(payload), 200)
