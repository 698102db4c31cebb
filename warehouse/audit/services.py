from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.audit.models import AuditEvent


def record(session: Session, *, actor_id: int | None, action: str, target: str | None = None,
           address: str | None = None, **details: Any) -> AuditEvent:
    event = AuditEvent(actor_id=actor_id, action=action, target=target, details=details, address=address)
    session.add(event)
    return event
