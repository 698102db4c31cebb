"""Picking several orders in one walk (batch / cluster picking), verified again at the pack station.

Creating a pick task reserves the stock it will take: for each order line, bins of the warehouse's
storage and pick-face locations are chosen first-expiry-first-out for expiry-tracked items (earliest
``Lot.expiry`` first, lots without an expiry last) and first-in-first-out otherwise (oldest lot, then
the oldest stock bucket). Orders are served in the order they are listed, so when stock is scarce the
first order gets it. The reservation raises ``StockLevel.reserved`` with one guarded UPDATE per bucket
(it never reserves more than ``on_hand - reserved``); the buckets are locked first, in the same
(location, item, lot) order ``post_move`` locks them, so concurrent pick tasks and moves queue instead
of deadlocking. What cannot be reserved is listed in the task's ``details["short"]`` for the order
system to backorder; a task that could reserve nothing at all is refused (409).

The lines are in walking order (``Location.walk_sequence``, code), one per bin, item, lot and order.
A picker scans the bin label and the item (policy ``two_scan``) and confirms the quantity:

- all of it: the units move bin -> packing location, consuming the reservation; the line is done;
- less (the bin holds less than the ledger says): what was picked moves, the rest of the line's
  reservation is released, a ``short_pick`` discrepancy is opened and the bin gets a recount task
  (a count whose ``parent_task_id`` is the pick task). The line is done for picking purposes, so the
  walk goes on and the picked goods reach packing. An empty bin is a short pick of everything:
  quantity 0, with the bin scanned (no item scan needed).

Deciding a ``short_pick`` (the picked units are already posted; the recount corrects the bin):

- approve: accept the shortage. Nothing is posted; the missing quantity is added to the pick task's
  ``details["short"]`` so the order system backorders it like stock that was never there.
- reject: do not accept it: the missing quantity is reserved again (same FEFO/FIFO rules; bins waiting
  for a recount after a short pick are never chosen) on a new pick task, a child of this one, listed in
  ``details["repick_task_ids"]`` and the discrepancy's ``details["repick_task_id"]``. If nothing can be
  reserved the rejection is refused (409) and the discrepancy stays open for approval. On a cancelled
  pick task a rejection re-picks nothing: its orders are no longer being picked here.

Under a four-eyes policy two pickers may disagree (``confirmations_disagree``): recount asks both
again; reject means nothing is picked on the line: its reservation is released, the line cancelled and
its quantity added to ``details["short"]``.

When every line is done, a packing task (workflow ``packing``, policy ``two_scan``) is made with one
line per item, lot and order actually picked, located at the packing location. The packer scans the
packing location and each item and confirms the quantity. A match is done (nothing moves: the goods
are already at packing); anything else opens a ``pack_mismatch`` discrepancy:

- approve: the packer's count is what ships: the difference is posted between the packing location
  and inventory loss (units missing are written off, extra units are booked in as found), with the
  approver's reason code;
- reject: the picked quantity stands (the reviewer checked the parcel): nothing is posted;
- recount: the packer counts again (engine).

Cancelling a pick task that has posted nothing releases every reservation it still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from warehouse.audit.services import record as audit
from warehouse.catalog.models import Item, Lot
from warehouse.catalog.services import item_for_floor_line
from warehouse.counting.services import create_count
from warehouse.db import Prepared, attach_loaded, columns_of
from warehouse.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from warehouse.locations.models import Location, LocationType, Warehouse
from warehouse.locations.services import location_by_code, location_for, virtual_location, warehouse_by_code
from warehouse.stock.ledger import post_move
from warehouse.stock.models import StockLevel
from warehouse.stock.reservations import change_reserved, lock_stock
from warehouse.tasks import services as tasks
from warehouse.tasks.models import Discrepancy, LineStatus, Task, TaskLine, TaskStatus, Workflow

PICKABLE = (LocationType.STORAGE.value, LocationType.PICK_FACE.value)
ACTIVE = (TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class Wanted:
    """One item an order asks for (duplicate lines of an order merged)."""

    order: str
    item: Item
    quantity: int


@dataclass(frozen=True)
class Allocation:
    """Units of one stock bucket reserved for one order."""

    order: str
    item: Item
    lot: Lot | None
    location: Location
    quantity: int
    # Extra keys for the pick line's details (an order allocation's id, for the order hooks below).
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- reserving

# The guarded update lives with the shared reservation code (warehouse.stock.reservations); the old
# name stays for this module's callers.
_change_reserved = change_reserved


def _recounting(warehouse_ids: Any) -> Any:
    """Bins with an unfinished recount made by a short pick: the ledger is known to be wrong there,
    so nobody is sent to them again until the count is settled (a subquery of their ids)."""
    parent = aliased(Task)
    return (select(TaskLine.location_id).join(Task, TaskLine.task_id == Task.id)
            .join(parent, Task.parent_task_id == parent.id)
            .where(Task.workflow == Workflow.COUNTING.value, Task.warehouse_id.in_(warehouse_ids),
                   Task.status.in_(ACTIVE), parent.workflow == Workflow.PICKING.value,
                   TaskLine.location_id.is_not(None)))


# Prepared once (see ``db.Prepared``): every order allocation asks this, on the hot path of order intake.
_WAREHOUSE_IDS = bindparam("pickable_warehouses", expanding=True)
_PICKABLE = select(*columns_of(Location)).where(
    Location.warehouse_id.in_(_WAREHOUSE_IDS), Location.type.in_(PICKABLE), Location.active.is_(True),
    Location.is_virtual.is_(False), Location.id.not_in(_recounting(_WAREHOUSE_IDS)))
_PICKABLE_BINS = Prepared(_PICKABLE)
_PICKABLE_BINS_HOLDING = Prepared(_PICKABLE.where(Location.id.in_(
    select(StockLevel.location_id).where(StockLevel.item_id.in_(bindparam("pickable_items", expanding=True))))))


def pickable_bins(session: Session, warehouse_ids: list[int], *,
                  holding: Iterable[int] | None = None) -> dict[int, Location]:
    """The active storage and pick-face bins of the warehouses that may be reserved from now (bins
    waiting for a recount after a short pick are left out). With ``holding`` (item ids), only the bins
    with stock rows of those items: what a reservation of them can use, without reading every bin."""
    if holding is None:
        rows = _PICKABLE_BINS.rows(session, {"pickable_warehouses": list(warehouse_ids)})
    else:
        rows = _PICKABLE_BINS_HOLDING.rows(session, {"pickable_warehouses": list(warehouse_ids),
                                                     "pickable_items": sorted(holding)})
    locations = (attach_loaded(session, Location, row) for row in rows)
    return {location.id: location for location in locations}


def reserve(session: Session, *, warehouse_id: int, wanted: list[Wanted]) -> tuple[list[Allocation],
                                                                                   list[dict[str, Any]]]:
    """Reserve what ``wanted`` asks for in the warehouse's pickable bins; returns the allocations and
    what could not be reserved, as ``{"order", "sku", "quantity"}``."""
    stock = lock_stock(session, bins=pickable_bins(session, [warehouse_id]), items=[w.item for w in wanted])
    allocations: list[Allocation] = []
    short: list[dict[str, Any]] = []
    for want in wanted:
        taken = stock.take(want.item.id, want.quantity)
        allocations.extend(Allocation(want.order, want.item, bucket.lot, bucket.location, units)
                           for bucket, units in taken)
        remaining = want.quantity - sum(units for _, units in taken)
        if remaining:
            short.append({"order": want.order, "sku": want.item.sku, "quantity": remaining})
    stock.write(session)
    return allocations, short


def release_line(session: Session, line: TaskLine) -> int:
    """Give back what the line still holds reserved; returns how much (0 if it holds nothing)."""
    held = int(line.details.get("reserved", 0))
    if held:
        assert line.location_id is not None and line.item_id is not None
        _change_reserved(session, location_id=line.location_id, item_id=line.item_id, lot_id=line.lot_id,
                         delta=-held)
        line.details = {**line.details, "reserved": 0}
    return held


# ---------------------------------------------------------------- creating pick tasks

def packing_location(session: Session, site: Warehouse, code: str | None) -> Location:
    return location_for(session, warehouse=site, kind=LocationType.PACKING, code=code, field="packing")


def _wanted(session: Session, orders: list[dict[str, Any]]) -> list[Wanted]:
    seen: set[str] = set()
    wanted: list[Wanted] = []
    for index, order in enumerate(orders):
        reference = order["order"]
        if reference in seen:
            raise InvalidInput.field(f"orders.{index}.order", f"order {reference!r} is listed twice")
        seen.add(reference)
        merged: dict[int, tuple[Item, int]] = {}
        for number, line in enumerate(order["lines"]):
            item = item_for_floor_line(session, line["sku"], field=f"orders.{index}.lines.{number}.sku",
                                       work="picking")
            held = merged.get(item.id)
            merged[item.id] = (item, (held[1] if held else 0) + line["quantity"])
        wanted.extend(Wanted(reference, item, quantity) for item, quantity in merged.values())
    return wanted


def _reference(orders: list[str]) -> str:
    text = "pick " + ", ".join(orders)
    return text if len(text) <= 120 else text[:117] + "..."


def _create(session: Session, *, site: Warehouse, station: Location, wanted: list[Wanted], actor_id: int | None,
            reference: str, parent_task_id: int | None = None) -> Task:
    allocations, short = reserve(session, warehouse_id=site.id, wanted=wanted)
    if not allocations:
        asked = ", ".join(f"{w.quantity} {w.item.sku} for {w.order}" for w in wanted)
        raise InsufficientStock(f"Nothing can be reserved in {site.code} ({asked}): no unreserved stock in its "
                                "storage and pick-face bins.", short=short)
    return task_for_reserved(session, site=site, station=station, allocations=allocations, actor_id=actor_id,
                             reference=reference, orders=list(dict.fromkeys(w.order for w in wanted)),
                             short=short, parent_task_id=parent_task_id)


def task_for_reserved(session: Session, *, site: Warehouse, station: Location, allocations: list[Allocation],
                      actor_id: int | None, reference: str, orders: list[str], short: list[dict[str, Any]],
                      parent_task_id: int | None = None) -> Task:
    """A pick task for stock that is already reserved (by ``reserve``, or by orders): each line takes
    over its allocation's reservation (``details["reserved"]``), so nothing is reserved twice."""
    rank = {order: index for index, order in enumerate(orders)}
    allocations = sorted(allocations, key=lambda a: (a.location.walk_sequence, a.location.code, a.item.sku,
                                                     a.lot.code if a.lot else "", rank[a.order]))
    lines = [{"item": a.item, "lot": a.lot, "location": a.location, "to_location": station,
              "expected_quantity": a.quantity,
              # "suggestion" is the line's hint on every task view: a cluster picker needs the order's tote.
              "details": {**a.details, "order": a.order, "reserved": a.quantity, "suggestion": f"order {a.order}"}}
             for a in allocations]
    task = tasks.create_task(session, workflow=Workflow.PICKING, warehouse_id=site.id, actor_id=actor_id,
                             reference=reference, lines=lines, parent_task_id=parent_task_id,
                             details={"orders": list(rank), "packing": station.code, "short": short})
    audit(session, actor_id=actor_id, action="pick.reserved", target=f"picking/{task.id}",
          reserved=sum(a.quantity for a in allocations), short=short)
    return task


# ---------------------------------------------------------------- lines that pick an order's reservation

class ReservationOwner(Protocol):
    """Told what happens to a pick line made from an order's reservation (``details["allocation_id"]``),
    so the order's allocations follow: registered by the orders package, which picking does not import."""

    def picking(self, session: Session, line: TaskLine) -> None:
        """The line is about to be settled: take the owner's locks now, before any stock row is locked."""

    def picked(self, session: Session, line: TaskLine, *, picked: int, released: int) -> None: ...

    def handed_back(self, session: Session, line: TaskLine, *, quantity: int) -> None: ...

    def repicked(self, session: Session, line: TaskLine, repick: Task) -> None:
        """A rejected short pick of ``line`` re-reserved the missing units on ``repick``'s lines."""


OWNERS: list[ReservationOwner] = []


def register_owner(owner: ReservationOwner) -> None:
    if not any(type(known) is type(owner) for known in OWNERS):
        OWNERS.append(owner)


def _owned(line: TaskLine) -> bool:
    return line.details.get("allocation_id") is not None


def create_pick_task(session: Session, *, actor_id: int, warehouse: str, orders: list[dict[str, Any]],
                     packing: str | None = None) -> Task:
    site = warehouse_by_code(session, warehouse, field="warehouse")
    station = packing_location(session, site, packing)
    wanted = _wanted(session, orders)
    return _create(session, site=site, station=station, wanted=wanted, actor_id=actor_id,
                   reference=_reference([order["order"] for order in orders]))


def packing_task_of(session: Session, pick: Task) -> Task:
    packing = session.scalar(select(Task).where(Task.parent_task_id == pick.id,
                                                Task.workflow == Workflow.PACKING.value).order_by(Task.id))
    if packing is not None:
        return packing
    if pick.status == TaskStatus.CANCELLED.value:
        raise NotFound(f"Pick task {pick.id} was cancelled; there is nothing to pack.")
    if pick.status == TaskStatus.DONE.value:
        raise NotFound(f"Pick task {pick.id} picked nothing; there is nothing to pack.")
    raise NotFound(f"Pick task {pick.id} is still being picked; its packing task is made when every line is done.")


# ---------------------------------------------------------------- the workflows

def _require_lot(line: TaskLine, evidence: tasks.Evidence) -> None:
    """A lot that was scanned or typed must be the line's: the reservation is of that lot."""
    scanned = evidence.lot_code
    if line.lot is not None and scanned and scanned != line.lot.code:
        raise InvalidInput(f"Wrong lot: scanned {scanned}, this line is lot {line.lot.code}.",
                           errors={"lot": [f"expected {line.lot.code}, scanned {scanned}"]}, reason="wrong_lot")


def _lock_task(session: Session, task_id: int) -> None:
    """Queue work on one task behind any other (PostgreSQL; SQLite writers are serial anyway), and
    re-read it: the engine decides whether the task is finished from its lines' statuses, so two lines
    confirmed at once must not both see the other still open, and details must not be overwritten."""
    session.scalars(select(Task).where(Task.id == task_id).with_for_update()
                    .execution_options(populate_existing=True)).one()


def _add_short(task: Task, *, order: str, sku: str, quantity: int) -> None:
    task.details = {**task.details, "short": [*task.details.get("short", []),
                                              {"order": order, "sku": sku, "quantity": quantity}]}


def _recount(session: Session, line: TaskLine) -> Task:
    """The pick task's open recount of this bin, or a new one."""
    existing = session.scalar(
        select(Task).join(TaskLine, TaskLine.task_id == Task.id)
        .where(Task.parent_task_id == line.task_id, Task.workflow == Workflow.COUNTING.value,
               Task.status.in_(ACTIVE), TaskLine.location_id == line.location_id).order_by(Task.id).limit(1))
    if existing is not None:
        return existing
    assert line.location is not None
    return create_count(session, actor_id=None, warehouse=line.task.warehouse.code, locations=[line.location.code],
                        reference=f"recount {line.location.code} after short pick (task {line.task_id} line "
                                  f"{line.line_no})", parent_task_id=line.task_id)


class Picking:
    workflow = Workflow.PICKING

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        assert line.location is not None
        tasks.require_location(evidence.location, line.location, field_name="location")
        expected = line.expected_quantity or 0
        if evidence.quantity > expected:
            raise InvalidInput.field("quantity", f"pick 0 to {expected} here (0: the bin is empty)")
        # An empty bin has nothing to scan; any item scan that is sent must still be the right one.
        if evidence.quantity > 0 or evidence.item is not None:
            tasks.require_item(line, evidence.item)
        _require_lot(line, evidence)

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        assert line.item is not None and line.location is not None and line.to_location is not None
        _lock_task(session, line.task_id)
        if _owned(line):
            for owner in OWNERS:
                owner.picking(session, line)
        expected, picked = line.expected_quantity or 0, agreed.quantity
        order = line.details.get("order")
        seq = None
        if picked:
            move = post_move(session, item=line.item, lot=line.lot, source=line.location,
                             destination=line.to_location, quantity=picked, from_reserved=picked,
                             reason=f"Picked for order {order} (task {line.task_id})", reason_code="pick",
                             actor_id=confirmers[0], verifier_id=confirmers[-1] if len(confirmers) > 1 else None,
                             task_id=line.task_id, device=agreed.device)
            seq = move.seq
        line.details = {**line.details, "reserved": int(line.details.get("reserved", 0)) - picked, "picked": picked}
        if _owned(line):
            # The units not found are released below: the order backorders them.
            for owner in OWNERS:
                owner.picked(session, line, picked=picked, released=expected - picked)
        if picked < expected:
            short = expected - picked
            release_line(session, line)
            recount = _recount(session, line)
            line.details = {**line.details, "short": short, "recount_task_id": recount.id}
            tasks.open_discrepancy(session, line, kind="short_pick", expected=expected, counted=picked,
                                   details={"order": order, "short": short, "recount_task_id": recount.id})
        # Done for picking purposes even when short: the walk goes on, and what was picked reaches packing.
        tasks.mark_done(line, posted_seq=seq)

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """Accept the shortage: nothing to post (the recount corrects the bin); the order is short."""
        if discrepancy.kind != "short_pick":
            raise InvalidInput(f"A {discrepancy.kind} discrepancy on a pick cannot be approved: request a "
                               "recount or reject.", reason="not_approvable")
        _lock_task(session, discrepancy.task_id)
        line = discrepancy.line
        assert line.item is not None
        _add_short(line.task, order=line.details.get("order", ""), sku=line.item.sku,
                   quantity=int(line.details.get("short", 0)))
        return None

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        _lock_task(session, discrepancy.task_id)
        line, task = discrepancy.line, discrepancy.task
        assert line.item is not None
        if _owned(line):  # the order's lock before the stock rows a release or a re-pick locks
            for owner in OWNERS:
                owner.picking(session, line)
        order = line.details.get("order", "")
        if discrepancy.kind != "short_pick":
            # The pickers disagree on what they took: nothing is picked on this line.
            if _owned(line):
                for owner in OWNERS:
                    owner.picked(session, line, picked=0, released=int(line.details.get("reserved", 0)))
            release_line(session, line)
            line.status = LineStatus.CANCELLED.value
            _add_short(task, order=order, sku=line.item.sku, quantity=line.expected_quantity or 0)
            return
        if task.status == TaskStatus.CANCELLED.value:
            return
        station = location_by_code(session, task.details["packing"])
        repick = _create(session, site=task.warehouse, station=station, actor_id=actor_id,
                         wanted=[Wanted(order, line.item, int(line.details.get("short", 0)))],
                         reference=f"re-pick {order} (task {task.id} line {line.line_no})", parent_task_id=task.id)
        discrepancy.details = {**discrepancy.details, "repick_task_id": repick.id}
        if _owned(line):
            # The re-pick serves the same order: its lines must follow the order's allocations like the first.
            for owner in OWNERS:
                owner.repicked(session, line, repick)
        task.details = {**task.details, "repick_task_ids": [*task.details.get("repick_task_ids", []), repick.id]}

    def release(self, session: Session, task: Task) -> None:
        """Cancelling: give back every reservation the task still holds."""
        # Re-read the lines locked (after the engine's status changes are flushed): a confirmation that
        # committed while this cancel waited has posted stock and consumed its reservation.
        lines = list(session.scalars(
            select(TaskLine).where(TaskLine.task_id == task.id).with_for_update()
            .execution_options(populate_existing=True)))
        posted = [line.line_no for line in lines if line.posted_seq is not None]
        if posted:
            raise Conflict(f"Task {task.id} posted stock on line(s) {posted} meanwhile; finish it instead of "
                           "cancelling.")
        released = 0
        for line in sorted(lines, key=lambda l: (l.location_id or 0, l.item_id or 0, l.lot_id or 0, l.id)):
            held = int(line.details.get("reserved", 0))
            if _owned(line) and held:
                # An order's reservation goes back to the order (still reserved there), not to the shelf.
                line.details = {**line.details, "reserved": 0}
                for owner in OWNERS:
                    owner.handed_back(session, line, quantity=held)
                continue
            released += release_line(session, line)
        audit(session, actor_id=None, action="pick.released", target=f"picking/{task.id}", released=released)

    def finished(self, session: Session, task: Task) -> None:
        """Every line is picked (or given up): make the packing task of what was picked."""
        rank = {order: index for index, order in enumerate(task.details.get("orders", []))}
        picked: dict[tuple[str, int, int], tuple[TaskLine, int]] = {}
        for line in task.lines:
            quantity = int(line.details.get("picked", 0)) if line.status == LineStatus.DONE.value else 0
            if quantity and line.item_id is not None:
                key = (line.details.get("order", ""), line.item_id, line.lot_id or 0)
                held = picked.get(key)
                picked[key] = (held[0] if held else line, (held[1] if held else 0) + quantity)
        if not picked:
            return
        station = location_by_code(session, task.details["packing"])
        ordered = sorted(picked.items(), key=lambda entry: (
            rank.get(entry[0][0], len(rank)), entry[0][0], entry[1][0].item.sku if entry[1][0].item else "",
            entry[1][0].lot.code if entry[1][0].lot else ""))
        lines = [{"item": first.item, "lot": first.lot, "location": station, "expected_quantity": quantity,
                  "details": {"order": order, "suggestion": f"order {order}"}}
                 for (order, _, _), (first, quantity) in ordered]
        packing = tasks.create_task(session, workflow=Workflow.PACKING, warehouse_id=task.warehouse_id,
                                    actor_id=None, reference=task.reference, lines=lines, parent_task_id=task.id,
                                    details={"pick_task_id": task.id, "orders": task.details.get("orders", []),
                                             "packing": station.code})
        task.details = {**task.details, "packing_task_id": packing.id}


class Packing:
    workflow = Workflow.PACKING

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        assert line.location is not None
        tasks.require_location(evidence.location, line.location, field_name="location")
        # Nothing of the item at the station: there is nothing to scan, and 0 says so.
        if evidence.quantity > 0 or evidence.item is not None:
            tasks.require_item(line, evidence.item)
        _require_lot(line, evidence)

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        _lock_task(session, line.task_id)
        expected = line.expected_quantity or 0
        if agreed.quantity == expected:
            line.details = {**line.details, "packed": expected}
            tasks.mark_done(line, posted_seq=None)  # the goods are at packing already: nothing moves
            return
        tasks.open_discrepancy(session, line, kind="pack_mismatch", expected=expected, counted=agreed.quantity,
                               details={"order": line.details.get("order")})

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """The packer's count is what ships: post the difference against inventory loss."""
        if discrepancy.kind != "pack_mismatch":
            raise InvalidInput(f"A {discrepancy.kind} discrepancy on packing cannot be approved: request a "
                               "recount or reject.", reason="not_approvable")
        _lock_task(session, discrepancy.task_id)
        line = discrepancy.line
        assert line.item is not None and line.location is not None
        counted, expected = discrepancy.counted_quantity or 0, discrepancy.expected_quantity or 0
        variance = counted - expected
        seq = None
        if variance:
            loss = virtual_location(session, LocationType.INVENTORY_LOSS)
            source, destination = (loss, line.location) if variance > 0 else (line.location, loss)
            seq = post_move(session, item=line.item, lot=line.lot, source=source, destination=destination,
                            quantity=abs(variance), reason=f"Pack check approved: {reason}", reason_code=reason_code,
                            actor_id=actor_id, task_id=line.task_id).seq
        line.details = {**line.details, "packed": counted}
        tasks.mark_done(line, posted_seq=seq)
        return seq

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        """The picked quantity stands: nothing is posted."""
        _lock_task(session, discrepancy.task_id)
        line = discrepancy.line
        line.details = {**line.details, "packed": line.expected_quantity or 0}
        tasks.mark_done(line, posted_seq=None)


tasks.register(Picking())
tasks.register(Packing())
