"""Scan use cases. Each takes a Session and flushes; the edge commits."""

from __future__ import annotations

from sqlalchemy.orm import Session

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
             device: str | None, context: str | None, task_id: int | None = None) -> ScanLog:
    """Record one scan as it arrived, with what it resolved to or why it could not be resolved.

    Floor workflows call this for every scan they receive. For a failed scan, commit the record in a
    transaction that is not rolled back with the failure (see ``routes.resolve_scan``)."""
    entry = ScanLog(raw=_storable(raw, MAX_RAW_LENGTH), user_id=user_id, device=_storable(device, 120),
                    context=_storable(context, 64), task_id=task_id)
    if isinstance(resolution_or_error, Resolution):
        entry.normalized = _storable(resolution_or_error.normalized, MAX_RAW_LENGTH)
        entry.kind = resolution_or_error.kind
        resolved = resolution_or_error.as_dict()
        del resolved["raw"], resolved["normalized"]  # already in their own columns
        entry.resolved = resolved
    else:
        entry.normalized = _storable(resolution_or_error.normalized, MAX_RAW_LENGTH)
        entry.error_reason = resolution_or_error.reason
        entry.error_message = _storable(resolution_or_error.message, 500)
    session.add(entry)
    session.flush()
    return entry
