"""Warehouses, their zones and bins, and the virtual locations that stand for the outside world."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.db import Base, utcnow


class LocationType(str, enum.Enum):
    RECEIVING = "receiving"
    STORAGE = "storage"
    PICK_FACE = "pick-face"
    PACKING = "packing"
    SHIPPING = "shipping"
    RETURNS = "returns"
    QUARANTINE = "quarantine"
    # Virtual: the other side of every move that enters or leaves the warehouse.
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    INVENTORY_LOSS = "inventory-loss"
    SCRAP = "scrap"
    IN_TRANSIT = "in-transit"

    @property
    def is_virtual(self) -> bool:
        return self in VIRTUAL_TYPES


VIRTUAL_TYPES = frozenset({LocationType.SUPPLIER, LocationType.CUSTOMER, LocationType.INVENTORY_LOSS,
                           LocationType.SCRAP, LocationType.IN_TRANSIT})
PHYSICAL_TYPES = tuple(t for t in LocationType if t not in VIRTUAL_TYPES)

# The virtual locations exist once, created by the first migration, with these codes.
VIRTUAL_LOCATION_CODES: dict[LocationType, str] = {
    LocationType.SUPPLIER: "V-SUPPLIER",
    LocationType.CUSTOMER: "V-CUSTOMER",
    LocationType.INVENTORY_LOSS: "V-INVENTORY-LOSS",
    LocationType.SCRAP: "V-SCRAP",
    LocationType.IN_TRANSIT: "V-IN-TRANSIT",
}


class Warehouse(Base):
    __tablename__ = "warehouses"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    zones: Mapped[list["Zone"]] = relationship(back_populates="warehouse", order_by="Zone.code")


class Zone(Base):
    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("warehouse_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))

    warehouse: Mapped[Warehouse] = relationship(back_populates="zones")


class Location(Base):
    """A place stock can be. Physical ones belong to a warehouse and carry a printed code."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("is_virtual OR warehouse_id IS NOT NULL", name="physical_has_warehouse"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    is_virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    walk_sequence: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    warehouse: Mapped[Warehouse | None] = relationship()
    zone: Mapped[Zone | None] = relationship()
