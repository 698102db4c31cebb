"""Tasks of the floor workflows, their lines, the confirmations that verify them, and discrepancies.

A task (a receipt, a putaway, a pick, a count, a return) has lines. A line is done only when its
confirmations agree under the workflow's verification policy: two different people confirming
blind (``two_person``), one person scanning two independent identifiers (``two_scan``), or a
second person for a random share of lines (``sampled``). When confirmations disagree with each
other or with what was expected, a discrepancy is opened and nothing is posted to available stock
for that line until a supervisor who took no part in it decides.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.catalog.models import Item, Lot
from warehouse.db import Base, utcnow
from warehouse.locations.models import Location, Warehouse


class Workflow(str, enum.Enum):
    RECEIVING = "receiving"
    PUTAWAY = "putaway"
    PICKING = "picking"
    PACKING = "packing"
    COUNTING = "counting"
    RETURNS = "returns"


class Policy(str, enum.Enum):
    TWO_PERSON = "two_person"
    TWO_SCAN = "two_scan"
    SAMPLED = "sampled"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class LineStatus(str, enum.Enum):
    OPEN = "open"
    AWAITING_VERIFICATION = "awaiting_verification"
    DONE = "done"
    DISCREPANCY = "discrepancy"
    CANCELLED = "cancelled"


class DiscrepancyStatus(str, enum.Enum):
    OPEN = "open"
    RECOUNT_REQUESTED = "recount_requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class VerificationPolicy(Base):
    """How lines of one workflow are verified; set by an admin, read when a task is created."""

    __tablename__ = "verification_policies"
    __table_args__ = (
        CheckConstraint("sample_percent BETWEEN 0 AND 100", name="sample_percent_range"),
        CheckConstraint("tolerance_percent >= 0 AND tolerance_units >= 0", name="tolerance_non_negative"),
    )

    workflow: Mapped[str] = mapped_column(String(20), primary_key=True)
    policy: Mapped[str] = mapped_column(String(20))
    sample_percent: Mapped[int] = mapped_column(Integer, default=10)
    # Lines of items worth at least this much per unit always get a second person.
    two_person_from_value_minor: Mapped[int | None] = mapped_column(Integer)
    # Counts whose variance is within both tolerances are approved automatically (and say so).
    tolerance_units: Mapped[int] = mapped_column(Integer, default=0)
    tolerance_percent: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(String(20), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN.value)
    policy: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(120))
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    # The ledger seq when the task was created: a count compares it with the bins' last change.
    start_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    warehouse: Mapped[Warehouse] = relationship()
    lines: Mapped[list["TaskLine"]] = relationship(back_populates="task", order_by="TaskLine.line_no")


class TaskLine(Base):
    __tablename__ = "task_lines"
    __table_args__ = (
        UniqueConstraint("task_id", "line_no"),
        CheckConstraint("expected_quantity IS NULL OR expected_quantity >= 0", name="expected_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    expected_quantity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), default=LineStatus.OPEN.value, index=True)
    needs_second_person: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_quantity: Mapped[int | None] = mapped_column(Integer)
    posted_seq: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    task: Mapped[Task] = relationship(back_populates="lines")
    item: Mapped[Item | None] = relationship()
    lot: Mapped[Lot | None] = relationship()
    location: Mapped[Location | None] = relationship(foreign_keys=[location_id])
    to_location: Mapped[Location | None] = relationship(foreign_keys=[to_location_id])
    confirmations: Mapped[list["Confirmation"]] = relationship(order_by="Confirmation.id", back_populates="line")


class Confirmation(Base):
    """One person's account of a line: what they scanned and counted, on which device, when."""

    __tablename__ = "confirmations"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        UniqueConstraint("line_id", "round", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("task_lines.id"), index=True)
    # A recount starts a new round; the earlier rounds stay as evidence.
    round: Mapped[int] = mapped_column(Integer, default=1)
    stage: Mapped[str] = mapped_column(String(10))  # "first" or "second"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    lot_code: Mapped[str | None] = mapped_column(String(64))
    expiry: Mapped[str | None] = mapped_column(String(10))
    scanned_location: Mapped[str | None] = mapped_column(String(64))
    scanned_item: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    device: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    line: Mapped[TaskLine] = relationship(back_populates="confirmations")


class Discrepancy(Base):
    __tablename__ = "discrepancies"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("task_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=DiscrepancyStatus.OPEN.value, index=True)
    expected_quantity: Mapped[int | None] = mapped_column(Integer)
    counted_quantity: Mapped[int | None] = mapped_column(Integer)
    stock_moved_since_start: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    posted_seq: Mapped[int | None] = mapped_column(BigInteger)

    task: Mapped[Task] = relationship()
    line: Mapped[TaskLine] = relationship()
