"""Reserving stock at bin and lot level: the one reservation path, shared by pick tasks and orders.

A reservation raises ``StockLevel.reserved`` of one (location, item, lot) bucket. It is made in two
steps inside one transaction:

1. ``lock_stock`` locks every candidate bucket up front, ordered by (location, item, lot) - the
   order ``post_move`` locks buckets in - so concurrent reservations and moves queue instead of
   deadlocking, and nothing read here can change before step 2 writes.
2. ``Stock.take`` plans what to take of an item, first-expiry-first-out for expiry-tracked items
   (earliest ``Lot.expiry`` first, lots without expiry last) and first-in-first-out otherwise (oldest
   lot, then the oldest bucket); ``Stock.write`` then raises ``reserved`` with one guarded UPDATE per
   bucket, in the lock order. The guard (never more than ``on_hand - reserved``) cannot fail while the
   rows are locked; if it ever does, the bookkeeping is wrong and the transaction is refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item, Lot
from warehouse.db import Prepared
from warehouse.errors import Conflict
from warehouse.locations.models import Location
from warehouse.stock.models import StockLevel
from warehouse.stock.watch import touched


def change_reserved(session: Session, *, location_id: int, item_id: int, lot_id: int | None, delta: int) -> None:
    """Reserve (``delta`` > 0) or release (< 0) units of one bucket with a single guarded UPDATE:
    never more than is unreserved, never release more than is reserved."""
    if not _guarded_change(session, location_id=location_id, item_id=item_id, lot_id=lot_id, delta=delta):
        # The buckets were locked (or, on SQLite, the writer holds the database) since they were read,
        # so this only happens if reservation bookkeeping went wrong: refuse rather than corrupt it.
        what = "reserve" if delta > 0 else "release"
        raise Conflict(f"Could not {what} {abs(delta)} units at location {location_id}; nothing was changed.",
                       reason="reservation_conflict")


def try_reserve(session: Session, *, location_id: int, item_id: int, lot_id: int | None, quantity: int) -> bool:
    """Reserve ``quantity`` units of one bucket if they are still unreserved; False (and nothing changed)
    if they are not. For reservations planned from an unlocked read: the guard is what keeps them honest."""
    return _guarded_change(session, location_id=location_id, item_id=item_id, lot_id=lot_id, delta=quantity)


_LEVEL = StockLevel.__table__.c
# Prepared once (see ``db.Prepared``): every order and pick task runs these. They change nothing the
# session holds in memory.
_RESERVE = Prepared(update(StockLevel.__table__)
                    .where(_LEVEL.location_id == bindparam("b_location"), _LEVEL.item_id == bindparam("b_item"),
                           _LEVEL.lot_key == bindparam("b_lot"),
                           _LEVEL.on_hand - _LEVEL.reserved >= bindparam("b_units"))
                    .values(reserved=_LEVEL.reserved + bindparam("b_units"))
                    .returning(_LEVEL.reserved))
_RELEASE = Prepared(update(StockLevel.__table__)
                    .where(_LEVEL.location_id == bindparam("b_location"), _LEVEL.item_id == bindparam("b_item"),
                           _LEVEL.lot_key == bindparam("b_lot"), _LEVEL.reserved >= bindparam("b_units"))
                    .values(reserved=_LEVEL.reserved - bindparam("b_units"))
                    .returning(_LEVEL.reserved))
_BUCKETS = (select(_LEVEL.id, _LEVEL.location_id, _LEVEL.item_id, _LEVEL.lot_id, _LEVEL.on_hand, _LEVEL.reserved)
            .where(_LEVEL.item_id.in_(bindparam("b_items", expanding=True)),
                   _LEVEL.location_id.in_(bindparam("b_locations", expanding=True)))
            .order_by(_LEVEL.location_id, _LEVEL.item_id, _LEVEL.lot_key))
_LOCKED_BUCKETS = Prepared(_BUCKETS.with_for_update())
_UNLOCKED_BUCKETS = Prepared(_BUCKETS)
_LOTS = select(Lot).where(Lot.id.in_(bindparam("b_lots", expanding=True)))


def _guarded_change(session: Session, *, location_id: int, item_id: int, lot_id: int | None, delta: int) -> bool:
    changed = (_RESERVE if delta > 0 else _RELEASE).first(session, {
        "b_location": location_id, "b_item": item_id, "b_lot": lot_id or 0, "b_units": abs(delta)})
    if changed is None:
        return False
    touched(session, item_id, location_id)
    return True


@dataclass
class Bucket:
    """One locked stock bucket and what is still unreserved in it (as planned so far)."""

    id: int
    location: Location
    item: Item
    lot: Lot | None
    available: int
    taken: int = 0

    @property
    def lot_key(self) -> int:
        return self.lot.id if self.lot else 0


@dataclass
class Stock:
    """Locked buckets: ``locked`` in lock order, ``by_item`` in rotation (FEFO/FIFO) order."""

    locked: list[Bucket] = field(default_factory=list)
    by_item: dict[int, list[Bucket]] = field(default_factory=lambda: defaultdict(list))

    def available(self, item_id: int, where: Callable[[Bucket], bool] = lambda bucket: True) -> int:
        return sum(bucket.available for bucket in self.by_item.get(item_id, ()) if where(bucket))

    def take(self, item_id: int, quantity: int,
             where: Callable[[Bucket], bool] = lambda bucket: True) -> list[tuple[Bucket, int]]:
        """Plan to take up to ``quantity`` of the item from the buckets ``where`` allows, in rotation
        order; returns (bucket, units) pairs. Nothing is written until ``write``."""
        taken: list[tuple[Bucket, int]] = []
        remaining = quantity
        for bucket in self.by_item.get(item_id, ()):
            if remaining <= 0:
                break
            units = min(remaining, bucket.available)
            if units <= 0 or not where(bucket):
                continue
            bucket.available -= units
            bucket.taken += units
            remaining -= units
            taken.append((bucket, units))
        return taken

    def write(self, session: Session) -> None:
        """Raise ``reserved`` by what was taken, bucket by bucket in the order they were locked."""
        for bucket in self.locked:
            if bucket.taken:
                change_reserved(session, location_id=bucket.location.id, item_id=bucket.item.id,
                                lot_id=bucket.lot.id if bucket.lot else None, delta=bucket.taken)
                bucket.taken = 0


def _rotation_key(bucket: Bucket) -> tuple[object, ...]:
    """FEFO for expiry-tracked items, FIFO otherwise (lot ids and bucket ids grow with time)."""
    if bucket.item.expiry_tracked:
        expiry = bucket.lot.expiry if bucket.lot else None
        return (expiry is None, expiry or date.max, bucket.lot_key, bucket.id)
    return (bucket.lot_key, bucket.id)


def lock_stock(session: Session, *, bins: dict[int, Location], items: Iterable[Item], lock: bool = True) -> Stock:
    """Lock the buckets of ``items`` in ``bins`` (id -> location) and return them for planning. With
    ``lock=False`` they are only read: a plan made from them must be written with ``try_reserve``."""
    by_id = {item.id: item for item in items}
    stock = Stock()
    if not bins or not by_id:
        return stock
    rows = (_LOCKED_BUCKETS if lock else _UNLOCKED_BUCKETS).rows(
        session, {"b_items": sorted(by_id), "b_locations": sorted(bins)})
    lot_ids = sorted({lot_id for _, _, _, lot_id, _, _ in rows if lot_id})
    lots = {lot.id: lot for lot in session.scalars(_LOTS, {"b_lots": lot_ids})} if lot_ids else {}
    for bucket_id, location_id, item_id, lot_id, on_hand, reserved in rows:
        bucket = Bucket(bucket_id, bins[location_id], by_id[item_id], lots.get(lot_id), int(on_hand) - int(reserved))
        stock.locked.append(bucket)
        stock.by_item[item_id].append(bucket)
    for buckets in stock.by_item.values():
        buckets.sort(key=_rotation_key)
    return stock
