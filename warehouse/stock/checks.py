"""The ledger's invariants, checked against the database as it is.

1. Every projection row equals the sum of the moves into and out of its bucket.
2. Every item sums to zero over all locations, virtual ones included (double entry).
3. Physical locations never hold less than zero, nor reserve more than they hold.
4. Sequence numbers run 1..N without a gap, and the ledger head issued exactly N
   (a deleted or rewritten move shows up here).
5. Each serial-tracked unit sits where its last move took it, and serial counts match on_hand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item, SerialNumber, Tracking
from warehouse.stock.models import LedgerHead, Move, MoveSerial, StockLevel


@dataclass
class LedgerReport:
    moves: int = 0
    last_seq: int = 0
    breaches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaches


def check_ledger(session: Session, *, limit: int = 100) -> LedgerReport:
    report = LedgerReport()
    Bucket = tuple[int, int, int]
    from_moves: dict[Bucket, int] = defaultdict(int)
    for location_id, item_id, lot_id, total in session.execute(
            select(Move.to_location_id, Move.item_id, Move.lot_id, func.sum(Move.quantity))
            .group_by(Move.to_location_id, Move.item_id, Move.lot_id)):
        from_moves[(location_id, item_id, lot_id or 0)] += int(total)
    for location_id, item_id, lot_id, total in session.execute(
            select(Move.from_location_id, Move.item_id, Move.lot_id, func.sum(Move.quantity))
            .group_by(Move.from_location_id, Move.item_id, Move.lot_id)):
        from_moves[(location_id, item_id, lot_id or 0)] -= int(total)

    levels = session.execute(select(StockLevel.location_id, StockLevel.item_id, StockLevel.lot_key,
                                    StockLevel.is_virtual, StockLevel.on_hand, StockLevel.reserved)).all()
    projected: dict[Bucket, int] = {}
    item_sums: dict[int, int] = defaultdict(int)
    for location_id, item_id, lot_key, is_virtual, on_hand, reserved in levels:
        key = (location_id, item_id, lot_key)
        projected[key] = int(on_hand)
        item_sums[item_id] += int(on_hand)
        if not is_virtual and on_hand < 0:
            report.breaches.append(f"negative on_hand {on_hand} at location {location_id} item {item_id} lot {lot_key}")
        if not is_virtual and not 0 <= reserved <= on_hand:
            report.breaches.append(f"reserved {reserved} outside 0..on_hand {on_hand} at location {location_id} "
                                   f"item {item_id} lot {lot_key}")
        if is_virtual and reserved != 0:
            report.breaches.append(f"reservation {reserved} on virtual location {location_id}")
    for key in sorted(set(projected) | set(from_moves)):
        if projected.get(key, 0) != from_moves.get(key, 0):
            report.breaches.append(f"projection {projected.get(key, 0)} != moves {from_moves.get(key, 0)} at "
                                   f"location {key[0]} item {key[1]} lot {key[2]}")
    for item_id, total in sorted(item_sums.items()):
        if total != 0:
            report.breaches.append(f"item {item_id} sums to {total} over all locations, not 0")

    count, low, high = session.execute(select(func.count(), func.min(Move.seq), func.max(Move.seq))).one()
    head = session.scalar(select(LedgerHead.last_seq).where(LedgerHead.id == 1))
    report.moves, report.last_seq = int(count), int(high or 0)
    if head is None:
        report.breaches.append("ledger head row is missing")
    elif count and (low != 1 or high != count):
        report.breaches.append(f"seq runs {low}..{high} over {count} moves: a move is missing")
    elif (high or 0) != head:
        report.breaches.append(f"ledger head says {head} moves were issued but the ledger holds {high or 0}")

    _check_serials(session, report, projected)
    del report.breaches[limit:]
    return report


def _check_serials(session: Session, report: LedgerReport, projected: dict[tuple[int, int, int], int]) -> None:
    last_move = (select(MoveSerial.serial_id, func.max(MoveSerial.move_seq).label("seq"))
                 .group_by(MoveSerial.serial_id).subquery())
    for serial, location_id, destination in session.execute(
            select(SerialNumber.serial, SerialNumber.location_id, Move.to_location_id)
            .join(last_move, last_move.c.serial_id == SerialNumber.id)
            .join(Move, Move.seq == last_move.c.seq)):
        if location_id != destination:
            report.breaches.append(f"serial {serial} is recorded at location {location_id} but its last move "
                                   f"took it to {destination}")
    lot_key = func.coalesce(SerialNumber.lot_id, literal_column("0"))
    counts = session.execute(
        select(SerialNumber.location_id, SerialNumber.item_id, lot_key, func.count())
        .join(Item, SerialNumber.item_id == Item.id).where(Item.tracking == Tracking.SERIAL.value)
        .group_by(SerialNumber.location_id, SerialNumber.item_id, lot_key)).all()
    serial_items = set(session.scalars(select(Item.id).where(Item.tracking == Tracking.SERIAL.value)))
    counted = {(loc, item, lot): n for loc, item, lot, n in counts}
    for key, on_hand in projected.items():
        if key[1] in serial_items and on_hand > 0 and counted.get(key, 0) != on_hand:
            report.breaches.append(f"{counted.get(key, 0)} serials at location {key[0]} item {key[1]} "
                                   f"but on_hand is {on_hand}")
