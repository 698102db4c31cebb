from __future__ import annotations

from flask import Response

from warehouse.api import Api, current_db, json_body, json_response, load, require
from warehouse.scanning.normalize import ScanError
from warehouse.scanning.resolve import Resolution, resolve
from warehouse.scanning.schemas import ScanIn, ScanResolutionOut
from warehouse.scanning.services import log_scan

api = Api("scanning", __name__)

RESOLVE_PERMISSION = "stock:read"


@api.post("/scans/resolve", permission=RESOLVE_PERMISSION, raw=True, body=ScanIn, response=ScanResolutionOut,
          tags=["scanning"], errors=(422,),
          summary="What a scan identifies: badge, bin, item (GTIN, UPC-E, SKU, alias), GS1 element string, "
                  "SSCC or GS1 Digital Link. Every scan, also a refused one (422 with `reason`), is logged.")
def resolve_scan() -> Response:
    # A plain view rather than the usual one-transaction edge: that edge rolls back on any error,
    # and a refused scan must still be logged. Here the log row (and nothing else: resolving only
    # reads) is committed in this one transaction whatever the outcome, and the 422 raised after.
    # (A second transaction opened inside the edge's would wait for the first one's write lock on
    # SQLite, and inside a test's outer transaction it would be rolled back together with it.)
    actor = require(RESOLVE_PERMISSION)
    body = load(ScanIn, json_body(), where="body")
    with current_db().transaction() as session:
        outcome: Resolution | ScanError
        try:
            outcome = resolve(session, body["raw"])
        except ScanError as error:
            outcome = error
        log_scan(session, raw=body["raw"], resolution_or_error=outcome, user_id=actor.user_id,
                 device=body.get("device"), context=body.get("context"))
    if isinstance(outcome, ScanError):
        raise outcome
    return json_response(ScanResolutionOut().dump(outcome.as_dict()), 200)
