from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.audit.models import AuditEvent
from warehouse.db import insert_through


def record(session: Session, *, actor_id: int | None, action: str, target: str | None = None,
           address: str | None = None, **details: Any) -> AuditEvent:
    # Written at once, with one INSERT (records are only ever added; see ``insert_through``).
    return insert_through(session, AuditEvent(actor_id=actor_id, action=action, target=target, details=details,
                                              address=address))
