"""Replenishment rules (min/max per item, per warehouse or per pick face) and draft purchase orders.

A rule with a ``location`` watches one pick face's available units (on hand - reserved) and is refilled
from the warehouse's reserve (storage) bins by an internal move task; a rule without one watches the
warehouse's total and is refilled from a supplier by a purchase order. ``low`` remembers that the
level is below the minimum, so that crossing it announces ``stock.low`` once, not on every move below it;
the open task or purchase order keeps a second replenishment of the same rule from being made.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.catalog.models import Item
from warehouse.db import Base, utcnow
from warehouse.locations.models import Location, Warehouse


class PurchaseOrderStatus(str, enum.Enum):
    DRAFT = "draft"  # collecting lines; a buyer reviews it
    EXPECTED = "expected"  # sent: it is an expected receipt (a receiving task) now
    CANCELLED = "cancelled"


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    supplier: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), index=True)
    receipt_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    warehouse: Mapped[Warehouse] = relationship()
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(back_populates="purchase_order",
                                                            order_by="PurchaseOrderLine.id")

    @property
    def reference(self) -> str:
        return f"PO-{self.id}"


class ReplenishmentRule(Base):
    __tablename__ = "replenishment_rules"
    __table_args__ = (
        # location_key is the pick face's id, or 0 for the warehouse total (NULLs are never equal in a key).
        UniqueConstraint("item_id", "warehouse_id", "location_key"),
        CheckConstraint("minimum >= 0 AND maximum >= minimum AND maximum > 0", name="levels_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    location_key: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int] = mapped_column(Integer)
    maximum: Mapped[int] = mapped_column(Integer)
    supplier: Mapped[str | None] = mapped_column(String(120))
    low: Mapped[bool] = mapped_column(Boolean, default=False)
    open_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    open_purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship()
    warehouse: Mapped[Warehouse] = relationship()
    location: Mapped[Location | None] = relationship()


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("replenishment_rules.id"))

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()
