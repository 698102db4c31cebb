"""Putaway: move received goods from the dock to a storage bin the system suggests.

The operator scans the item, then the destination bin; a bin other than the suggested one is
refused (the suggestion already weighed everything a person would). Policy ``two_scan`` by
default: the item scan and the bin label are the two independent identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item, Lot
from warehouse.errors import InvalidInput
from warehouse.locations.models import Location, LocationType
from warehouse.locations.services import location_by_code, warehouse_by_code
from warehouse.stock.ledger import post_move
from warehouse.stock.models import StockLevel
from warehouse.tasks import services as tasks
from warehouse.tasks.models import Discrepancy, LineStatus, Task, TaskLine, Workflow

PUTAWAY_TYPES = (LocationType.STORAGE.value, LocationType.PICK_FACE.value)


@dataclass(frozen=True)
class Suggestion:
    location: Location
    reason: str


def suggest_bin(session: Session, *, warehouse_id: int, item: Item, lot: Lot | None, quantity: int,
                exclude: set[int] = frozenset()) -> Suggestion:  # type: ignore[assignment]
    """Where to put ``quantity`` of ``item``: a bin with room, preferring (1) one already holding this
    item and lot, (2) one holding this item without other lots (never mixing expiry dates in a bin,
    so first-expiry-first-out picking stays simple), (3) an empty bin; then the shortest walk."""
    occupancy = (select(StockLevel.location_id, func.sum(StockLevel.on_hand).label("units"))
                 .group_by(StockLevel.location_id).subquery())
    bins = session.execute(
        select(Location, func.coalesce(occupancy.c.units, 0))
        .outerjoin(occupancy, occupancy.c.location_id == Location.id)
        .where(Location.warehouse_id == warehouse_id, Location.type.in_(PUTAWAY_TYPES), Location.active.is_(True))
        .order_by(Location.walk_sequence, Location.code)).all()
    contents: dict[int, set[tuple[int, int]]] = {}
    for location_id, item_id, lot_key in session.execute(
            select(StockLevel.location_id, StockLevel.item_id, StockLevel.lot_key)
            .where(StockLevel.on_hand > 0, StockLevel.is_virtual.is_(False))):
        contents.setdefault(location_id, set()).add((item_id, lot_key))
    lot_key = lot.id if lot else 0
    ranked: list[tuple[int, int, Location, str]] = []
    for location, units in bins:
        if location.id in exclude or (location.capacity is not None and location.capacity - int(units) < quantity):
            continue
        held = contents.get(location.id, set())
        if (item.id, lot_key) in held and all(i == item.id for i, _ in held):
            ranked.append((0, location.walk_sequence, location, "already holds this item and lot"))
        elif held and all(i == item.id for i, _ in held) and lot is None:
            ranked.append((1, location.walk_sequence, location, "already holds this item"))
        elif not held:
            ranked.append((2, location.walk_sequence, location, "empty bin"))
    if not ranked:
        raise InvalidInput.field("quantity", f"no storage bin has room for {quantity} of {item.sku}")
    best = min(ranked, key=lambda entry: (entry[0], entry[1], entry[2].code))
    return Suggestion(best[2], best[3])


def create_putaway(session: Session, *, actor_id: int, warehouse: str, source: str | None = None) -> Task:
    """One line per item and lot waiting in the receiving location(s), each with a suggested bin."""
    site = warehouse_by_code(session, warehouse, field="warehouse")
    sources = [location_by_code(session, source, field="source")] if source else list(session.scalars(
        select(Location).where(Location.warehouse_id == site.id, Location.type == LocationType.RECEIVING.value)))
    if source and (sources[0].warehouse_id != site.id or sources[0].is_virtual):
        raise InvalidInput.field("source", f"{source} is not a location of {warehouse}")
    already = {(line.location_id, line.item_id, line.lot_id or 0): line.expected_quantity or 0
               for line in session.scalars(select(TaskLine).join(Task).where(
                   Task.workflow == Workflow.PUTAWAY.value, Task.warehouse_id == site.id,
                   TaskLine.status.in_([LineStatus.OPEN.value, LineStatus.AWAITING_VERIFICATION.value])))}
    lines = []
    planned: set[int] = set()
    for level in session.scalars(select(StockLevel).where(
            StockLevel.location_id.in_([s.id for s in sources]), StockLevel.on_hand - StockLevel.reserved > 0)
            .order_by(StockLevel.item_id, StockLevel.lot_key)):
        waiting = level.on_hand - level.reserved - already.get((level.location_id, level.item_id, level.lot_key), 0)
        if waiting <= 0:
            continue
        suggestion = suggest_bin(session, warehouse_id=site.id, item=level.item, lot=level.lot, quantity=waiting)
        planned.add(suggestion.location.id)
        lines.append({"item": level.item, "lot": level.lot, "location": level.location,
                      "to_location": suggestion.location, "expected_quantity": waiting,
                      "details": {"suggestion": suggestion.reason}})
    if not lines:
        raise InvalidInput.field("source", "nothing is waiting to be put away")
    return tasks.create_task(session, workflow=Workflow.PUTAWAY, warehouse_id=site.id, actor_id=actor_id,
                             reference=f"putaway {warehouse}", lines=lines)


class Putaway:
    workflow = Workflow.PUTAWAY

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        tasks.require_item(line, evidence.item)
        assert line.to_location is not None
        tasks.require_location(evidence.location, line.to_location, field_name="location")
        if evidence.quantity <= 0 or evidence.quantity > (line.expected_quantity or 0):
            raise InvalidInput.field("quantity", f"put away 1 to {line.expected_quantity} here")

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        assert line.item is not None and line.location is not None and line.to_location is not None
        move = post_move(session, item=line.item, lot=line.lot, source=line.location, destination=line.to_location,
                         quantity=agreed.quantity, reason=f"Put away (task {line.task_id})", reason_code="putaway",
                         actor_id=confirmers[0], verifier_id=confirmers[-1] if len(confirmers) > 1 else None,
                         task_id=line.task_id)
        remainder = (line.expected_quantity or 0) - agreed.quantity
        line.expected_quantity = agreed.quantity
        tasks.mark_done(line, posted_seq=move.seq)
        if remainder > 0:  # the bin was fuller than it looked: the rest gets a bin of its own
            suggestion = suggest_bin(session, warehouse_id=line.task.warehouse_id, item=line.item, lot=line.lot,
                                     quantity=remainder, exclude={line.to_location.id})
            tasks.add_line(session, line.task, item=line.item, lot=line.lot, location=line.location,
                           to_location=suggestion.location, expected_quantity=remainder,
                           details={"suggestion": suggestion.reason, "rest_of_line": line.line_no})

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        raise InvalidInput("Putaway disagreements are settled by counting again: request a recount.")

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        discrepancy.line.status = LineStatus.CANCELLED.value


tasks.register(Putaway())
