"""Items, how they are packed and labelled, and the lots and serials they come in."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.db import Base, utcnow


class Tracking(str, enum.Enum):
    NONE = "none"
    LOT = "lot"
    SERIAL = "serial"


class BarcodeKind(str, enum.Enum):
    GTIN = "gtin"
    ALIAS = "alias"


PACK_LEVELS = ("each", "inner", "case", "pallet")


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    uom: Mapped[str] = mapped_column(String(16), default="each")
    tracking: Mapped[str] = mapped_column(String(10), default=Tracking.NONE.value)
    expiry_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Money in minor units (cents) so that every backend stores it exactly.
    unit_value_minor: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    pack_sizes: Mapped[list["PackSize"]] = relationship(
        back_populates="item", order_by="PackSize.quantity", cascade="all, delete-orphan")
    barcodes: Mapped[list["ItemBarcode"]] = relationship(
        back_populates="item", order_by="ItemBarcode.id", cascade="all, delete-orphan")

    @property
    def gtins(self) -> list[str]:
        """GTINs of single units; pack-level GTINs are listed with their pack size."""
        return [b.code for b in self.barcodes if b.kind == BarcodeKind.GTIN.value and b.pack_level == "each"]

    @property
    def aliases(self) -> list[str]:
        return [b.code for b in self.barcodes if b.kind == BarcodeKind.ALIAS.value]


class PackSize(Base):
    """A way the item is handled: each, inner, case or pallet, as a number of base units."""

    __tablename__ = "pack_sizes"
    __table_args__ = (
        UniqueConstraint("item_id", "level"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)

    item: Mapped[Item] = relationship(back_populates="pack_sizes")


class ItemBarcode(Base):
    """A code that identifies an item when scanned: a GTIN (stored as 14 digits) or an alias.

    A GTIN may stand for a pack level (a case GTIN-14 means one case)."""

    __tablename__ = "item_barcodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    pack_level: Mapped[str] = mapped_column(String(10), default="each")

    item: Mapped[Item] = relationship(back_populates="barcodes")


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("item_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    code: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship()


class SerialNumber(Base):
    """One serial-tracked unit; ``location_id`` follows it through the ledger."""

    __tablename__ = "serial_numbers"
    __table_args__ = (UniqueConstraint("item_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
