"""Idempotency-Key handling for POSTs that change stock.

A key is claimed in its own short transaction before the work starts, so a concurrent
duplicate finds the claim and gets 409 instead of doing the work twice. The stored response is
written in the same transaction as the work itself: either both commit or neither does. If the
work fails, the claim is released so that a corrected retry can run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from warehouse.db import Base, Database, utcnow
from warehouse.errors import IdempotencyInProgress, IdempotencyMismatch, InvalidInput

MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Claim:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status_code: int
    response: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput.field("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def claim(db: Database, *, user_id: int, key: str, fingerprint: str, ttl: timedelta) -> Claim | Replay:
    """Claim ``key`` for this request, or say what an earlier request with it produced."""
    try:
        with db.transaction() as session:
            record = IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint)
            session.add(record)
            session.flush()
            return Claim(record.id)
    except IntegrityError:
        pass
    with db.transaction() as session:
        existing = session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
        if existing is None:  # released between our insert and this read: take it now
            record = IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint)
            session.add(record)
            session.flush()
            return Claim(record.id)
        if existing.created_at < utcnow() - ttl and existing.status_code is not None:
            # An expired key starts afresh.
            existing.fingerprint, existing.status_code, existing.response = fingerprint, None, None
            existing.created_at = utcnow()
            return Claim(existing.id)
        if existing.fingerprint != fingerprint:
            raise IdempotencyMismatch("This Idempotency-Key was first used with a different request body "
                                      "or endpoint; use a new key for a new request.")
        if existing.status_code is None:
            raise IdempotencyInProgress("The first request with this Idempotency-Key has not finished yet; "
                                        "retry shortly.", headers={"Retry-After": "1"})
        return Replay(existing.status_code, existing.response)


def complete(session: Session, claim: Claim, status_code: int, response: Any) -> None:
    record = session.get(IdempotencyRecord, claim.record_id)
    assert record is not None
    record.status_code = status_code
    record.response = response


def release(db: Database, claim: Claim) -> None:
    with db.transaction() as session:
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.id == claim.record_id, IdempotencyRecord.status_code.is_(None)))
