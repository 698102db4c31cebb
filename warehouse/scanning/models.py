"""The scan log: every scan the service receives, as it arrived, with who, where from and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from warehouse.db import Base, utcnow

# The longest scan kept (and accepted): far above any barcode a handheld reads (a full GS1
# DataMatrix carries at most about 2,300 characters, but labels in practice stay under 200).
MAX_RAW_LENGTH = 1000


class ScanLog(Base):
    """One scan, successful or not. Rows are only ever added."""

    __tablename__ = "scan_log"
    __table_args__ = (Index("ix_scan_log_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    raw: Mapped[str] = mapped_column(String(MAX_RAW_LENGTH))
    normalized: Mapped[str | None] = mapped_column(String(MAX_RAW_LENGTH))
    kind: Mapped[str | None] = mapped_column(String(20))
    resolved: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_reason: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device: Mapped[str | None] = mapped_column(String(120))
    context: Mapped[str | None] = mapped_column(String(64))
    # The floor task the scan belonged to; a foreign key once the task tables exist.
    task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
