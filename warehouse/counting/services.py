"""Stocktake and cycle counts.

Counters count blind (never shown the system quantity), a second, different person counts again,
and only then is the count compared with the ledger: agreement posts nothing; a variance within
the configured tolerance is adjusted automatically and recorded as such; anything else becomes a
discrepancy for a supervisor. A bin whose stock moved after the count started is flagged, so the
reviewer knows the system quantity changed under the counters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.catalog.services import item_by_sku, lot_for
from warehouse.errors import InvalidInput
from warehouse.locations.models import Location, LocationType, Zone
from warehouse.locations.services import location_by_code, virtual_location, warehouse_by_code
from warehouse.stock.ledger import post_move
from warehouse.stock.models import StockLevel
from warehouse.tasks import services as tasks
from warehouse.db import utcnow
from warehouse.tasks.models import Discrepancy, DiscrepancyStatus, Task, TaskLine, Workflow

COUNTABLE = (LocationType.STORAGE.value, LocationType.PICK_FACE.value, LocationType.RECEIVING.value,
             LocationType.RETURNS.value, LocationType.QUARANTINE.value, LocationType.PACKING.value,
             LocationType.SHIPPING.value)


def create_count(session: Session, *, actor_id: int | None, warehouse: str, locations: list[str] | None = None,
                 zone: str | None = None, reference: str | None = None, parent_task_id: int | None = None) -> Task:
    """A count of the given bins (or every bin of a zone): one line per item and lot the ledger
    says is there, and one per empty bin (to confirm it is empty)."""
    site = warehouse_by_code(session, warehouse, field="warehouse")
    if locations:
        bins = [location_by_code(session, code, field="locations") for code in locations]
        foreign = [b.code for b in bins if b.warehouse_id != site.id or b.is_virtual]
        if foreign:
            raise InvalidInput.field("locations", f"not bins of {warehouse}: {', '.join(foreign)}")
    elif zone:
        bins = list(session.scalars(select(Location).join(Zone, Location.zone_id == Zone.id).where(
            Zone.warehouse_id == site.id, Zone.code == zone, Location.type.in_(COUNTABLE))
            .order_by(Location.walk_sequence, Location.code)))
        if not bins:
            raise InvalidInput.field("zone", f"{warehouse} has no zone {zone!r} with bins")
    else:
        raise InvalidInput.field("locations", "give the bins to count, or a zone")
    lines: list[dict[str, Any]] = []
    for bin_ in bins:
        levels = list(session.scalars(select(StockLevel).where(
            StockLevel.location_id == bin_.id, StockLevel.on_hand > 0).order_by(StockLevel.item_id, StockLevel.lot_key)))
        for level in levels:
            lines.append({"item": level.item, "lot": level.lot, "location": bin_,
                          "expected_quantity": level.on_hand})
        if not levels:
            lines.append({"item": None, "location": bin_, "expected_quantity": 0, "details": {"empty_bin": True}})
    return tasks.create_task(session, workflow=Workflow.COUNTING, warehouse_id=site.id, actor_id=actor_id,
                             reference=reference or f"count {warehouse}", lines=lines, parent_task_id=parent_task_id)


def add_found_line(session: Session, *, task: Task, location: str, sku: str, lot: str | None) -> TaskLine:
    """The counter found an item the ledger does not place in this bin: count it on a line of its own."""
    bin_ = location_by_code(session, location, field="location")
    if bin_.id not in {line.location_id for line in task.lines}:
        raise InvalidInput.field("location", f"{location} is not part of this count")
    item = item_by_sku(session, sku, field="sku")
    the_lot = lot_for(session, item, lot, create=False) if lot else None
    for line in task.lines:
        if line.location_id == bin_.id and line.item_id == item.id and line.lot_id == (the_lot.id if the_lot else None):
            raise InvalidInput.field("sku", f"{sku} already has line {line.line_no} in {location}")
    return tasks.add_line(session, task, item=item, lot=the_lot, location=bin_, expected_quantity=0,
                          details={"found": True})


def system_quantity(session: Session, line: TaskLine) -> tuple[int, int]:
    """The ledger's on_hand for the line's bucket now, and the seq of its last change."""
    if line.item_id is None:
        return 0, 0
    row = session.execute(select(StockLevel.on_hand, StockLevel.last_seq).where(
        StockLevel.location_id == line.location_id, StockLevel.item_id == line.item_id,
        StockLevel.lot_key == (line.lot_id or 0))).one_or_none()
    return (int(row[0]), int(row[1])) if row else (0, 0)


class Counting:
    workflow = Workflow.COUNTING

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        assert line.location is not None
        tasks.require_location(evidence.location, line.location)
        if line.item_id is None:
            if evidence.quantity != 0:
                raise InvalidInput.field("quantity", "this line confirms the bin is empty; if it is not, add a "
                                                     "line for what you found")
            return
        if evidence.quantity > 0:
            tasks.require_item(line, evidence.item)

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        on_hand, last_seq = system_quantity(session, line)
        moved = last_seq > line.task.start_seq
        line.details = {**line.details, "system_quantity": on_hand, "moved_since_start": moved}
        variance = agreed.quantity - on_hand
        if variance == 0:
            tasks.mark_done(line, posted_seq=None)
            return
        policy = tasks.policy_for(session, Workflow.COUNTING)
        within = abs(variance) <= policy.tolerance_units and \
            abs(variance) * 100 <= policy.tolerance_percent * max(on_hand, 1)
        if within and not moved and (policy.tolerance_units or policy.tolerance_percent):
            seq = self._adjust(session, line, variance, actor_id=confirmers[0],
                               reason=f"Count variance {variance:+d} within tolerance, approved automatically")
            # Recorded as a decided discrepancy, so the review queue shows what was let through and why.
            session.add(Discrepancy(task_id=line.task_id, line=line, kind="count_variance",
                                    status=DiscrepancyStatus.APPROVED.value, expected_quantity=on_hand,
                                    counted_quantity=agreed.quantity, details={"auto_approved": True},
                                    decided_at=utcnow(), decision_reason="within the configured tolerance",
                                    reason_code="auto_tolerance", posted_seq=seq))
            tasks.mark_done(line, posted_seq=seq)
            return
        tasks.open_discrepancy(session, line, kind="count_variance", expected=on_hand, counted=agreed.quantity,
                               moved_since_start=moved)

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """Make the ledger say what was counted (against the quantity it holds now)."""
        line = discrepancy.line
        on_hand, _ = system_quantity(session, line)
        variance = (discrepancy.counted_quantity or 0) - on_hand
        seq = self._adjust(session, line, variance, actor_id=actor_id, reason=f"Count approved: {reason}",
                           reason_code=reason_code) if variance else None
        tasks.mark_done(line, posted_seq=seq)
        return seq

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        """Keep the ledger's quantity: the count was wrong."""
        tasks.mark_done(discrepancy.line, posted_seq=None)

    def _adjust(self, session: Session, line: TaskLine, variance: int, *, actor_id: int, reason: str,
                reason_code: str = "count_correction") -> int:
        assert line.item is not None and line.location is not None
        loss = virtual_location(session, LocationType.INVENTORY_LOSS)
        source, destination = (loss, line.location) if variance > 0 else (line.location, loss)
        move = post_move(session, item=line.item, lot=line.lot, source=source, destination=destination,
                         quantity=abs(variance), reason=reason, reason_code=reason_code, actor_id=actor_id,
                         task_id=line.task_id)
        return move.seq


tasks.register(Counting())
