from __future__ import annotations

from typing import Any

from flask import Response, current_app
from sqlalchemy import text

from hardware import decoding
from scanner_ui import missing_vendor_files
from warehouse import __version__
from warehouse.api import Api, current_db, json_response
from warehouse.migrate import current_revision
from warehouse.system.schemas import HealthOut

api = Api("system", __name__)


@api.get("/health", permission=None, public=True, raw=True, response=HealthOut, tags=["system"], errors=(503,),
         summary="Liveness and readiness: database reachable, its backend and schema revision, and which "
                 "barcode decoders can run, front-end files not installed (no sign-in)")
def health() -> Response:
    db = current_db()
    payload: dict[str, Any] = {"status": "ok", "version": __version__, "database": db.backend}
    registry = decoding.registry(current_app.config["DECODER"])
    payload["decoders"] = [status.as_dict() for status in registry.statuses()]
    payload["decoder"] = registry.default_name()
    payload["screens_missing_files"] = missing_vendor_files()
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            payload["schema_revision"] = current_revision(connection)
    except Exception as exc:  # health must answer even when the database does not
        payload.update(status="unavailable", schema_revision=None, error=type(exc).__name__)
        return json_response(HealthOut().dump(payload), 503)
    if payload["schema_revision"] is None:
        payload["status"] = "unmigrated"
        return json_response(HealthOut().dump(payload), 503)
    return json_response(HealthOut().dump(payload), 200)
