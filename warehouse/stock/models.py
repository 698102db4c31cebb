"""The stock ledger: append-only moves with a global sequence, and the quantity projection.

Every change of stock is a ``Move`` of a positive quantity of one item (and lot) from one
location to another; the outside world is represented by virtual locations, so the sum of
every item over all locations is always zero. ``StockLevel`` rows are the running totals per
(location, item, lot), updated in the same transaction as the move that changes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.catalog.models import Item, Lot, SerialNumber
from warehouse.db import Base, utcnow
from warehouse.locations.models import Location


class LedgerHead(Base):
    """One row holding the last issued move sequence number.

    Taking the next number locks this row until commit, so sequence numbers become visible in
    the order they were issued and a reader paging by ``seq`` never skips a move that commits
    late."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Move(Base):
    __tablename__ = "moves"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),
        Index("ix_moves_item_id_seq", "item_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    reason_code: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    task_id: Mapped[int | None] = mapped_column(Integer)
    device: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship()
    lot: Mapped[Lot | None] = relationship()
    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id])
    serials: Mapped[list["MoveSerial"]] = relationship(order_by="MoveSerial.serial_id")


class MoveSerial(Base):
    """Which serial-tracked units a move carried."""

    __tablename__ = "move_serials"

    move_seq: Mapped[int] = mapped_column(ForeignKey("moves.seq"), primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serial_numbers.id"), primary_key=True, index=True)

    unit: Mapped[SerialNumber] = relationship()


class StockLevel(Base):
    """Projection of the ledger per (location, item, lot).

    ``lot_key`` is the lot id or 0, so that the uniqueness of a bucket does not depend on how a
    database compares NULLs. Physical locations can never go below zero, nor reserve more than
    they hold: the database refuses it even if a bug in the code tried."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("location_id", "item_id", "lot_key"),
        CheckConstraint(
            "is_virtual OR (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)",
            name="physical_never_negative"),
        Index("ix_stock_levels_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    lot_key: Mapped[int] = mapped_column(Integer)
    is_virtual: Mapped[bool] = mapped_column(Boolean)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    location: Mapped[Location] = relationship()
    item: Mapped[Item] = relationship()
    lot: Mapped[Lot | None] = relationship()
