"""Posting moves: the only code that changes stock quantities.

``post_move`` takes the next sequence number, changes the two projection rows with guarded
single statements (a source bucket is only decremented if it holds enough unreserved stock),
appends the move, and announces the change for after the commit.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item, Lot, SerialNumber, Tracking
from warehouse.db import Prepared, core, insert_through, utcnow
from warehouse.errors import InsufficientStock, InvalidInput
from warehouse.locations.models import Location
from warehouse.realtime import announce
from warehouse.stock.models import LedgerHead, Move, MoveSerial, StockLevel
from warehouse.stock.watch import touched

MAX_QUANTITY = 1_000_000_000


@dataclass(frozen=True)
class LevelChange:
    """What one side of a move did to one projection bucket."""

    location: Location
    delta: int
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


# The statements of the hot path are prepared once per dialect and run on the driver's connection
# (see ``db.Prepared``), not through the ORM.
_NEXT_SEQ = Prepared(update(LedgerHead.__table__).where(LedgerHead.__table__.c.id == 1)
                     .values(last_seq=LedgerHead.__table__.c.last_seq + 1).returning(LedgerHead.__table__.c.last_seq))

# A move refused after taking its seq gives the seq back (the head stays locked until the commit).
_GIVE_BACK_SEQ = Prepared(update(LedgerHead.__table__).where(LedgerHead.__table__.c.id == 1)
                          .values(last_seq=LedgerHead.__table__.c.last_seq - 1))

_level = StockLevel.__table__.c

# (An UPDATE's parameters may not be named like the table's columns.)
_TAKE = Prepared(update(StockLevel.__table__)
                 .where(_level.location_id == bindparam("at_location"), _level.item_id == bindparam("of_item"),
                        _level.lot_key == bindparam("of_lot"),
                        _level.on_hand - _level.reserved >= bindparam("free_needed"),
                        _level.reserved >= bindparam("from_reserved"))
                 .values(on_hand=_level.on_hand - bindparam("quantity"),
                         reserved=_level.reserved - bindparam("from_reserved"), last_seq=bindparam("seq"))
                 .returning(_level.on_hand, _level.reserved))

_AVAILABLE = Prepared(select(_level.on_hand - _level.reserved).where(
    _level.location_id == bindparam("at_location"), _level.item_id == bindparam("of_item"),
    _level.lot_key == bindparam("of_lot")))


_LOCK_BUCKET = Prepared(select(_level.id).where(
    _level.location_id == bindparam("at_location"), _level.item_id == bindparam("of_item"),
    _level.lot_key == bindparam("of_lot")).with_for_update())

_BUCKET_COLUMNS = ["location_id", "item_id", "lot_id", "lot_key", "is_virtual", "on_hand", "reserved", "last_seq"]


def _add_to_bucket(insert_for: Any) -> Prepared:
    """Insert a bucket or add to the one that exists: one statement, whichever the case."""
    statement = insert_for(StockLevel.__table__)
    return Prepared(statement.on_conflict_do_update(
        index_elements=[_level.location_id, _level.item_id, _level.lot_key],
        set_={"on_hand": _level.on_hand + statement.excluded.on_hand, "last_seq": statement.excluded.last_seq},
    ).returning(_level.on_hand, _level.reserved), keys=_BUCKET_COLUMNS)


_ADD = {"postgresql": _add_to_bucket(postgresql.insert), "sqlite": _add_to_bucket(sqlite.insert)}


def next_seq(session: Session) -> int:
    """Issue the next ledger sequence number (locks the ledger head until commit)."""
    return int(_NEXT_SEQ.rows(session)[0][0])


def _add(connection: Connection, *, location: Location, item: Item, lot: Lot | None, delta: int,
         seq: int) -> tuple[int, int]:
    (on_hand, reserved), = _ADD[connection.dialect.name].rows(connection, {
        "location_id": location.id, "item_id": item.id, "lot_id": lot.id if lot else None,
        "lot_key": lot.id if lot else 0, "is_virtual": location.is_virtual, "on_hand": delta, "reserved": 0,
        "last_seq": seq})
    return int(on_hand), int(reserved)


def _bucket(location: Location, item: Item, lot: Lot | None) -> dict[str, int]:
    return {"at_location": location.id, "of_item": item.id, "of_lot": lot.id if lot else 0}


def _take(connection: Connection, *, location: Location, item: Item, lot: Lot | None, quantity: int,
          from_reserved: int, seq: int) -> tuple[int, int]:
    """Decrement a physical bucket only if it holds the stock; never below zero."""
    bucket = _bucket(location, item, lot)
    row = _TAKE.first(connection, {**bucket, "quantity": quantity, "from_reserved": from_reserved,
                                   "free_needed": quantity - from_reserved, "seq": seq})
    if row is None:
        found = _AVAILABLE.first(connection, bucket)
        available = found[0] if found else 0
        lot_text = f" lot {lot.code}" if lot else ""
        raise InsufficientStock(
            f"{location.code} holds {available} available of {item.sku}{lot_text}; "
            f"{quantity} requested.",
            location=location.code, sku=item.sku, lot=lot.code if lot else None,
            available=int(available), requested=quantity)
    return int(row[0]), int(row[1])


def _check_tracking(item: Item, lot: Lot | None, serials: Sequence[str], quantity: int) -> None:
    if lot is not None and lot.item_id != item.id:
        raise InvalidInput.field("lot", f"lot {lot.code} belongs to another item")
    if item.tracking == Tracking.LOT.value and lot is None:
        raise InvalidInput.field("lot", f"{item.sku} is lot-tracked: give the lot")
    if item.tracking == Tracking.SERIAL.value:
        if len(serials) != quantity:
            raise InvalidInput.field("serials", f"{item.sku} is serial-tracked: give one serial number per unit "
                                                f"({quantity} expected, {len(serials)} given)")
        if len(set(serials)) != len(serials):
            raise InvalidInput.field("serials", "a serial number is listed twice")
    elif serials:
        raise InvalidInput.field("serials", f"{item.sku} is not serial-tracked")


def _move_serials(session: Session, *, item: Item, lot: Lot | None, serials: Sequence[str],
                  source: Location, destination: Location, seq: int) -> None:
    known = {s.serial: s for s in session.scalars(
        select(SerialNumber).where(SerialNumber.item_id == item.id, SerialNumber.serial.in_(serials)))}
    for serial in serials:
        unit = known.get(serial)
        if unit is None:
            if not source.is_virtual:
                raise InvalidInput.field("serials", f"serial {serial} is not in {source.code}")
            unit = SerialNumber(item_id=item.id, serial=serial, lot_id=lot.id if lot else None,
                                location_id=destination.id)
            session.add(unit)
            session.flush()
        elif unit.location_id != source.id:
            raise InvalidInput.field("serials", f"serial {serial} is not in {source.code}")
        else:
            unit.location_id = destination.id
        session.add(MoveSerial(move_seq=seq, serial_id=unit.id))


def _change_levels(connection: Connection, *, item: Item, lot: Lot | None, source: Location, destination: Location,
                   quantity: int, from_reserved: int, seq: int) -> list[LevelChange]:
    """Take the quantity from the source's bucket (only if it holds it) and add it to the destination's.

    The take comes first, so that a refusal finds nothing else written. Physical buckets are locked in
    location order, as reservations lock them, so that the two queue instead of deadlocking: a destination
    that comes first in that order is locked before the take. (On SQLite the writer holds the whole
    database and the lock is a plain read.) Virtual locations are never reserved."""
    changes: list[LevelChange] = []
    if source.is_virtual:
        changes.append(LevelChange(source, -quantity, *_add(connection, location=source, item=item, lot=lot,
                                                            delta=-quantity, seq=seq)))
    else:
        if not destination.is_virtual and destination.id < source.id:
            _LOCK_BUCKET.run(connection, _bucket(destination, item, lot))
        changes.append(LevelChange(source, -quantity, *_take(connection, location=source, item=item, lot=lot,
                                                             quantity=quantity, from_reserved=from_reserved,
                                                             seq=seq)))
    changes.append(LevelChange(destination, quantity, *_add(connection, location=destination, item=item, lot=lot,
                                                            delta=quantity, seq=seq)))
    return sorted(changes, key=lambda change: change.location.id)


def post_move(session: Session, *, item: Item, source: Location, destination: Location, quantity: int,
              reason: str, reason_code: str, actor_id: int | None, lot: Lot | None = None,
              serials: Sequence[str] = (), from_reserved: int = 0, verifier_id: int | None = None,
              task_id: int | None = None, device: str | None = None,
              idempotency_key: str | None = None, at: datetime | None = None) -> Move:
    """Append one move and update the projection, or raise and change nothing."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= MAX_QUANTITY:
        raise InvalidInput.field("quantity", f"must be a whole number from 1 to {MAX_QUANTITY}")
    if source.id == destination.id:
        raise InvalidInput.field("location", "a move needs two different locations")
    if source.is_virtual and destination.is_virtual:
        raise InvalidInput.field("location", "a move between two virtual locations changes no stock")
    if not 0 <= from_reserved <= quantity:
        raise InvalidInput.field("quantity", "cannot consume more reserved stock than is moved")
    _check_tracking(item, lot, serials, quantity)

    # A refusal (not enough stock) leaves nothing behind, even for a caller that catches it and carries on:
    # the take is the only step that can be refused, and nothing but the seq is written before it. Serial
    # numbers can be refused after the levels changed: those moves run in a savepoint.
    with session.begin_nested() if serials else nullcontext():
        connection = core(session)
        seq = next_seq(session)
        try:
            changes = _change_levels(connection, item=item, lot=lot, source=source, destination=destination,
                                     quantity=quantity, from_reserved=from_reserved, seq=seq)
        except InsufficientStock:
            _GIVE_BACK_SEQ.run(connection)
            raise
        for change in changes:
            if not change.location.is_virtual:
                touched(session, item.id, change.location.id)
        move = insert_through(session, Move(
            seq=seq, item_id=item.id, lot_id=lot.id if lot else None, from_location_id=source.id,
            to_location_id=destination.id, quantity=quantity, reason=reason, reason_code=reason_code,
            actor_id=actor_id, verifier_id=verifier_id, task_id=task_id, device=device,
            idempotency_key=idempotency_key, created_at=at or utcnow(),
            item=item, lot=lot, from_location=source, to_location=destination))
        if serials:
            _move_serials(session, item=item, lot=lot, serials=serials, source=source,
                          destination=destination, seq=seq)
            session.flush()
    _announce(session, move, changes)
    return move


def _announce(session: Session, move: Move, changes: list[LevelChange]) -> None:
    for change in changes:
        if change.location.is_virtual or change.location.warehouse is None:
            continue
        payload: dict[str, Any] = {
            "seq": move.seq,
            "sku": move.item.sku,
            "item_name": move.item.name,
            "location": change.location.code,
            "warehouse": change.location.warehouse.code,
            "lot": move.lot.code if move.lot else None,
            "delta": change.delta,
            "on_hand": change.on_hand,
            "reserved": change.reserved,
            "available": change.available,
            "reason": move.reason,
            "reason_code": move.reason_code,
            "task_id": move.task_id,
            "user_id": move.actor_id,
            "at": move.created_at.isoformat(),
        }
        announce(session, "stock.changed", payload, [change.location.warehouse.code])
