"""Orders, their lines and what is reserved for them, and the postcode table that places a ship-to.

An ``OrderAllocation`` is units of one stock bucket (location, item, lot) held for one order line.
While it is ``reserved`` its units are counted in ``StockLevel.reserved``; when a pick task takes it
over (``task_line_id``), the pick line holds those same units (no second reservation) until they are
picked (``picked``) or handed back (``reserved`` again, task line cleared). Once packed they are
``shipped`` (moved to the customer; ``task_line_id`` still names the pick line). ``released`` allocations
are history: cancelled, replaced, not found on the shelf or lost at packing (then the line is backordered).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.catalog.models import Item, Lot
from warehouse.db import Base, utcnow
from warehouse.locations.models import Location, Warehouse


class OrderStatus(str, enum.Enum):
    PENDING_PAYMENT = "pending_payment"
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    BACKORDERED = "backordered"
    # Some units have left for the customer (the rest is still to ship, or backordered).
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class AllocationStatus(str, enum.Enum):
    RESERVED = "reserved"
    RELEASED = "released"
    PICKED = "picked"
    SHIPPED = "shipped"


# Allocations whose units are still the order's (reserved on the shelf, or picked/shipped for it).
LIVE_ALLOCATIONS = (AllocationStatus.RESERVED.value, AllocationStatus.PICKED.value, AllocationStatus.SHIPPED.value)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    postcode: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    # SHA-256 of the creating request's body: a retried create with the same body is the same order.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.line_no",
                                                    cascade="all, delete-orphan")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("backordered >= 0 AND backordered <= quantity", name="backordered_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    backordered: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()
    allocations: Mapped[list["OrderAllocation"]] = relationship(back_populates="line", order_by="OrderAllocation.id",
                                                                cascade="all, delete-orphan")

    @property
    def sku(self) -> str:
        return self.item.sku


class OrderAllocation(Base):
    __tablename__ = "order_allocations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_order_allocations_status_location_id", "status", "location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    task_line_id: Mapped[int | None] = mapped_column(ForeignKey("task_lines.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    line: Mapped[OrderLine] = relationship(back_populates="allocations")
    warehouse: Mapped[Warehouse] = relationship()
    location: Mapped[Location] = relationship()
    item: Mapped[Item] = relationship()
    lot: Mapped[Lot | None] = relationship()


class PostalCode(Base):
    """Where a postcode is: a ship-to may name one instead of coordinates (``warehouse postcodes load``)."""

    __tablename__ = "postal_codes"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    postcode: Mapped[str] = mapped_column(String(16), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
