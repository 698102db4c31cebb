"""Scan use cases. Each takes a Session and flushes; the edge commits."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from warehouse.db import Prepared, utcnow
from warehouse.scanning.models import MAX_RAW_LENGTH, ScanLog
from warehouse.scanning.normalize import ScanError
from warehouse.scanning.resolve import Resolution


def _storable(text: str | None, limit: int) -> str | None:
    """PostgreSQL text cannot hold NUL, and the columns are bounded. The log must never be the reason
    a scan fails, so NUL becomes U+FFFD and anything past the bound is cut off."""
    if text is None:
        return None
    return text.replace("\x00", "\ufffd")[:limit]


def log_scan(session: Session, *, raw: str, resolution_or_error: Resolution | ScanError, user_id: int,
             device: str | None, context: str | None, task_id: int | None = None) -> int:
    """Record one scan as it arrived, with what it resolved to or why it could not be resolved; returns
    the entry's id. Rows are only ever added, so they go straight to the database (every scan of the
    floor passes here).

    Floor workflows call this for every scan they receive. For a failed scan, commit the record in a
    transaction that is not rolled back with the failure (see ``routes.resolve_scan``)."""
    entry = {"raw": _storable(raw, MAX_RAW_LENGTH), "user_id": user_id, "device": _storable(device, 120),
             "context": _storable(context, 64), "task_id": task_id,
             "normalized": _storable(resolution_or_error.normalized, MAX_RAW_LENGTH), "kind": None,
             "resolved": None, "error_reason": None, "error_message": None, "created_at": utcnow()}
    if isinstance(resolution_or_error, Resolution):
        resolved = resolution_or_error.as_dict()
        del resolved["raw"], resolved["normalized"]  # already in their own columns
        entry.update(kind=resolution_or_error.kind, resolved=resolved)
    else:
        entry.update(error_reason=resolution_or_error.reason,
                     error_message=_storable(resolution_or_error.message, 500))
    return int(_INSERT.rows(session, entry)[0][0])


_INSERT = Prepared(insert(ScanLog.__table__).returning(ScanLog.__table__.c.id),
                   keys=[column.name for column in ScanLog.__table__.columns if column.name != "id"])
