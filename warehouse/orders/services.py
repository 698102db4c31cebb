"""Order intake and nearest-warehouse allocation.

Allocation happens when an order is paid (at creation with ``paid: true``, or ``pay``), and again on
``allocate`` (retrying what is backordered) and ``replace_lines`` (a change re-allocates):

1. Every active warehouse is a candidate, nearest first by great-circle (haversine) distance from the
   ship-to, ties by code.
2. All candidate buckets of the order's items, in every candidate warehouse's pickable bins, are read
   without locks and the plan (3, 4) made from them; each planned bucket is then reserved with one guarded
   UPDATE, in one fixed (location, item, lot) order, so rows are held only from there to the commit. If a
   concurrent order took some of those units meanwhile, the guard refuses, that attempt is rolled back
   and the order is planned again with every candidate bucket locked at once in that same order
   (``warehouse.stock.reservations``): concurrent orders queue, never deadlock, never oversell.
3. If one warehouse can fill every line that still needs stock, the nearest such warehouse fills the
   whole order (one parcel beats a nearer partial shipment). Otherwise each line is filled from the
   nearest warehouse that has stock, then the next, splitting only as needed.
4. Within a warehouse, bins and lots go first-expiry-first-out (expiry-tracked items) or first-in-first-
   out; reservations are guarded updates, so nothing is ever oversold. What cannot be reserved is the
   line's ``backordered`` quantity.

Status: ``pending_payment`` until paid; then ``allocated`` (nothing backordered), ``backordered``
(nothing reserved) or ``partially_allocated``; ``cancelled`` after ``cancel``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import defaultdict
from typing import Any, Callable, Iterable

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from warehouse.audit.services import record as audit
from warehouse.catalog.models import Item
from warehouse.catalog.services import item_by_sku, item_for_floor_line
from warehouse.db import Prepared, attach_loaded, columns_of, insert_row, utcnow
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.api import Page
from warehouse.locations.models import Location, LocationType, Warehouse
from warehouse.locations.services import virtual_location, warehouse_by_code
from warehouse.orders.models import (
    LIVE_ALLOCATIONS,
    AllocationStatus,
    Order,
    OrderAllocation,
    OrderLine,
    OrderStatus,
    PostalCode,
)
from warehouse.picking import services as picking
from warehouse.queries import paginate
from warehouse.realtime import announce
from warehouse.stock.ledger import post_move
from warehouse.stock.models import StockLevel
from warehouse.stock import watch
from warehouse.stock.reservations import Bucket, Stock, change_reserved, lock_stock, try_reserve
from warehouse.tasks.models import LineStatus, Task, TaskLine, Workflow

EARTH_RADIUS_KM = 6371.0088

# Statements of the allocation path, prepared once (see ``db.Prepared``): every paid order runs these.
_ORDER_ID_BY_EXTERNAL_ID = Prepared(select(Order.id).where(Order.external_id == bindparam("external_id")))
_ACTIVE_SITES = Prepared(select(*columns_of(Warehouse)).where(Warehouse.active.is_(True)))


def _active_sites(session: Session) -> list[Warehouse]:
    return [attach_loaded(session, Warehouse, row) for row in _ACTIVE_SITES.rows(session)]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


# ---------------------------------------------------------------- postcodes

def load_postcodes(session: Session, text: str) -> int:
    """Upsert ``country,postcode,latitude,longitude`` rows (a header line is required); returns how many.
    A bad row refuses the whole file, naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"country", "postcode", "latitude", "longitude"}
    if reader.fieldnames is None or not needed <= {name.strip().lower() for name in reader.fieldnames}:
        raise InvalidInput.field("file", "the header must name country, postcode, latitude, longitude")
    rows: dict[tuple[str, str], tuple[float, float]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items()}
        country, postcode = row["country"].upper(), normalise_postcode(row["postcode"])
        try:
            latitude, longitude = float(row["latitude"]), float(row["longitude"])
        except ValueError:
            raise InvalidInput.field("file", f"line {number}: latitude and longitude must be numbers") from None
        if (len(country) != 2 or not country.isalpha() or not 0 < len(postcode) <= 16
                or not -90 <= latitude <= 90 or not -180 <= longitude <= 180):
            raise InvalidInput.field("file", f"line {number}: need a 2-letter country, a postcode of up to 16 "
                                             "characters, latitude -90..90 and longitude -180..180")
        rows[(country, postcode)] = (latitude, longitude)
    for (country, postcode), (latitude, longitude) in sorted(rows.items()):
        known = session.get(PostalCode, (country, postcode))
        if known is None:
            session.add(PostalCode(country=country, postcode=postcode, latitude=latitude, longitude=longitude))
        else:
            known.latitude, known.longitude = latitude, longitude
    session.flush()
    return len(rows)


def _place(session: Session, ship_to: dict[str, Any]) -> tuple[float, float, str | None, str | None]:
    postcode = normalise_postcode(ship_to["postcode"]) if ship_to.get("postcode") else None
    country = ship_to["country"].upper() if ship_to.get("country") else None
    if ship_to.get("latitude") is not None:
        return float(ship_to["latitude"]), float(ship_to["longitude"]), postcode, country
    assert postcode is not None and country is not None  # the schema requires coordinates or both
    known = session.get(PostalCode, (country, postcode))
    if known is None:
        raise InvalidInput.field("ship_to.postcode", f"unknown postcode {postcode!r} in {country}; send latitude "
                                                     "and longitude instead")
    return known.latitude, known.longitude, postcode, country


# ---------------------------------------------------------------- reading

def get_order(session: Session, order_id: int, *, for_update: bool = False) -> Order:
    statement = select(Order).where(Order.id == order_id).options(
        selectinload(Order.lines).selectinload(OrderLine.allocations))
    if for_update:
        # Every change of an order queues behind the others on this row (taken before any stock row).
        statement = statement.with_for_update(of=Order).execution_options(populate_existing=True)
    order = session.scalar(statement)
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def availability(session: Session, *, sku: str) -> dict[str, Any]:
    """Available to promise: on hand minus reserved in the pickable bins allocation would use."""
    item = item_by_sku(session, sku, field="sku")
    sites = sorted(_active_sites(session), key=lambda site: site.code)
    bins = picking.pickable_bins(session, [site.id for site in sites])
    per_site: dict[int, int] = defaultdict(int)
    if bins:
        level = StockLevel.__table__.c
        for location_id, available in session.execute(
                select(level.location_id, func.sum(level.on_hand - level.reserved))
                .where(level.item_id == item.id, level.location_id.in_(sorted(bins)))
                .group_by(level.location_id)):
            per_site[bins[location_id].warehouse_id or 0] += int(available)
    rows = [{"warehouse": site.code, "available": per_site[site.id]} for site in sites]
    return {"sku": item.sku, "available": sum(row["available"] for row in rows), "warehouses": rows}


# ---------------------------------------------------------------- intake

def _fingerprint(external_id: str, paid: bool, ship_to: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    canonical = json.dumps({"external_id": external_id, "paid": paid, "ship_to": ship_to, "lines": lines},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _items(session: Session, lines: list[dict[str, Any]]) -> list[tuple[Item, int]]:
    seen: set[int] = set()
    result = []
    for number, line in enumerate(lines):
        item = item_for_floor_line(session, line["sku"], field=f"lines.{number}.sku", work="ordering")
        if item.id in seen:
            raise InvalidInput.field(f"lines.{number}.sku", f"{item.sku} is listed twice; send one line per SKU")
        seen.add(item.id)
        result.append((item, line["quantity"]))
    return result


def create_order(session: Session, *, actor_id: int | None, external_id: str, paid: bool, ship_to: dict[str, Any],
                 lines: list[dict[str, Any]]) -> tuple[Order, bool]:
    """Returns the order and whether it was created now. The same ``external_id`` with the same body is
    the order already made (a retry); with another body it is refused (409): orders change through
    their own endpoints, never by re-sending a create."""
    fingerprint = _fingerprint(external_id, paid, ship_to, lines)
    found = _ORDER_ID_BY_EXTERNAL_ID.first(session, {"external_id": external_id})
    if found is not None:
        order = get_order(session, found[0])
        if order.fingerprint != fingerprint:
            raise Conflict(f"Order {external_id!r} exists (id {order.id}) with another body; change it with PUT "
                           f"/api/v1/orders/{order.id}/lines, pay or cancel it.", reason="external_id_reused",
                           order_id=order.id)
        return order, False
    latitude, longitude, postcode, country = _place(session, ship_to)
    wanted = _items(session, lines)
    now = utcnow()
    # Built in memory with every column set, and written by _write_new (not added to the session).
    order = Order(external_id=external_id, status=OrderStatus.PENDING_PAYMENT.value, paid=paid, latitude=latitude,
                  longitude=longitude, postcode=postcode, country=country, fingerprint=fingerprint,
                  created_by=actor_id, created_at=now, updated_at=now, paid_at=now if paid else None,
                  # allocations=[]: a new line holds nothing, and saying so spares a lazy load later (inside
                  # the stock locks, where every statement counts).
                  lines=[OrderLine(line_no=number, item=item, item_id=item.id, quantity=quantity,
                                   backordered=quantity, allocations=[])
                         for number, (item, quantity) in enumerate(wanted, start=1)])

    def created() -> None:
        audit(session, actor_id=actor_id, action="order.created", target=f"orders/{order.id}",
              external_id=external_id, paid=paid)

    if paid:
        # The order is written once, by the allocation, already in its allocated state.
        _allocate(session, order, written=created)
    else:
        _write_new(session, order)
        created()
    return order, True


def _write_new(session: Session, order: Order) -> None:
    """Write a new order, built in memory with every column set, its lines and their allocations: one
    prepared INSERT per row, and the objects become the session's persistent rows as they are, as if
    just loaded (no unit-of-work flush, which cost several times the INSERTs, and nothing read back).
    Later changes to them (a status, a released allocation) go through the session as usual."""
    insert_row(session, order)
    allocations = []
    for line in order.lines:
        line.order_id = order.id
        insert_row(session, line)
        for allocation in line.allocations:
            allocation.line_id = line.id
            insert_row(session, allocation)
            allocations.append(allocation)
    for written in (order, *order.lines, *allocations):
        make_transient_to_detached(written)
    session.add(order)  # and with it (cascade) its lines and their allocations, all persistent


def pay(session: Session, *, order_id: int, actor_id: int | None) -> Order:
    order = get_order(session, order_id, for_update=True)
    _require_open(order)
    if order.paid:
        raise Conflict(f"Order {order.external_id!r} is already paid; POST .../allocate retries its backorders.",
                       reason="already_paid")
    order.paid, order.paid_at = True, utcnow()
    audit(session, actor_id=actor_id, action="order.paid", target=f"orders/{order.id}")
    _allocate(session, order)
    return order


def allocate(session: Session, *, order_id: int, actor_id: int | None) -> Order:
    """Retry what is backordered (same rules as at payment; nothing already reserved moves)."""
    order = get_order(session, order_id, for_update=True)
    _require_open(order)
    if not order.paid:
        raise Conflict(f"Order {order.external_id!r} is not paid yet; stock is reserved at payment.",
                       reason="not_paid")
    audit(session, actor_id=actor_id, action="order.allocate", target=f"orders/{order.id}")
    _allocate(session, order)
    return order


def cancel(session: Session, *, order_id: int, actor_id: int | None) -> Order:
    order = get_order(session, order_id, for_update=True)
    _require_open(order)
    _require_unpicked(order, "cancel")
    released = _release(session, order)
    order.status, order.updated_at = OrderStatus.CANCELLED.value, utcnow()
    for line in order.lines:
        line.backordered = 0  # nothing is owed on a cancelled order
    audit(session, actor_id=actor_id, action="order.cancelled", target=f"orders/{order.id}", released=released)
    return order


def replace_lines(session: Session, *, order_id: int, actor_id: int | None, lines: list[dict[str, Any]]) -> Order:
    """A change: the old lines' reservations are released and the new lines allocated afresh (if paid) in
    the same transaction, so stock the order held is first in line for it again."""
    order = get_order(session, order_id, for_update=True)
    _require_open(order)
    _require_unpicked(order, "change")
    wanted = _items(session, lines)
    held = [a for line in order.lines for a in line.allocations if a.status == AllocationStatus.RESERVED.value]
    order.lines.clear()
    session.flush()  # the old lines and their allocations go (their release is written below)
    order.lines.extend(OrderLine(line_no=number, item=item, quantity=quantity, backordered=quantity,
                                 allocations=[])
                       for number, (item, quantity) in enumerate(wanted, start=1))
    session.flush()
    audit(session, actor_id=actor_id, action="order.changed", target=f"orders/{order.id}",
          lines=[{"sku": item.sku, "quantity": quantity} for item, quantity in wanted])
    if order.paid:
        _allocate(session, order, release=[(a.location_id, a.item_id, a.lot_id, a.quantity) for a in held])
    else:
        _write_releases(session, [(a.location_id, a.item_id, a.lot_id, a.quantity) for a in held])
        _set_status(order)
    return order


def _require_open(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED.value:
        raise Conflict(f"Order {order.external_id!r} is cancelled.", reason="cancelled")


def _require_unpicked(order: Order, what: str) -> None:
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.status in (AllocationStatus.PICKED.value, AllocationStatus.SHIPPED.value):
                raise Conflict(f"Order {order.external_id!r} has picked goods; it can no longer {what} here.",
                               reason="already_picked")
            if allocation.status == AllocationStatus.RESERVED.value and allocation.task_line_id is not None:
                raise Conflict(f"Order {order.external_id!r} is on a pick task; cancel that task first to {what} it.",
                               reason="being_picked")


Release = tuple[int, int, int | None, int]  # location, item, lot, quantity


def _write_releases(session: Session, releases: Iterable[Release]) -> int:
    """Give reserved units back, bucket by bucket in lock order (location, item, lot)."""
    total: dict[tuple[int, int, int], int] = defaultdict(int)
    for location_id, item_id, lot_id, quantity in releases:
        total[(location_id, item_id, lot_id or 0)] += quantity
    for (location_id, item_id, lot_key), quantity in sorted(total.items()):
        change_reserved(session, location_id=location_id, item_id=item_id, lot_id=lot_key or None, delta=-quantity)
    return sum(total.values())


def _release(session: Session, order: Order) -> int:
    held = []
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.status == AllocationStatus.RESERVED.value:
                allocation.status = AllocationStatus.RELEASED.value
                held.append((allocation.location_id, allocation.item_id, allocation.lot_id, allocation.quantity))
    return _write_releases(session, held)


# ---------------------------------------------------------------- allocating

def _live(line: OrderLine) -> int:
    return sum(a.quantity for a in line.allocations if a.status in LIVE_ALLOCATIONS)


def shipped_of(line: OrderLine) -> int:
    return sum(a.quantity for a in line.allocations if a.status == AllocationStatus.SHIPPED.value)


def _set_status(order: Order) -> None:
    for line in order.lines:
        line.backordered = max(0, line.quantity - _live(line))
    order.updated_at = utcnow()
    if order.status == OrderStatus.CANCELLED.value:
        return
    if not order.paid:
        order.status = OrderStatus.PENDING_PAYMENT.value
        return
    backordered = sum(line.backordered for line in order.lines)
    if any(shipped_of(line) for line in order.lines):
        # Once goods have left, that is what the order system needs to hear; each line still says what
        # is backordered.
        done = all(shipped_of(line) == line.quantity for line in order.lines)
        order.status = OrderStatus.SHIPPED.value if done else OrderStatus.PARTIALLY_SHIPPED.value
    elif backordered == 0:
        order.status = OrderStatus.ALLOCATED.value
    elif backordered == sum(line.quantity for line in order.lines):
        order.status = OrderStatus.BACKORDERED.value
    else:
        order.status = OrderStatus.PARTIALLY_ALLOCATED.value


def _in(site: Warehouse) -> Any:
    return lambda bucket: bucket.location.warehouse_id == site.id


def _plan(stock: Stock, sites: list[Warehouse], needs: list[tuple[OrderLine, int]]) -> list[tuple[OrderLine, Bucket,
                                                                                                   int]]:
    needs = [(line, need) for line, need in needs if need > 0]
    plan: list[tuple[OrderLine, Bucket, int]] = []
    for site in sites:  # nearest first: the nearest warehouse that can fill the whole order does
        if all(stock.available(line.item_id, _in(site)) >= need for line, need in needs):
            for line, need in needs:
                plan.extend((line, bucket, units) for bucket, units in stock.take(line.item_id, need, _in(site)))
            return plan
    for line, need in needs:  # no single warehouse can: line by line, nearest first, splitting as needed
        for site in sites:
            if need <= 0:
                break
            taken = stock.take(line.item_id, need, _in(site))
            plan.extend((line, bucket, units) for bucket, units in taken)
            need -= sum(units for _, units in taken)
    return plan


def _allocate(session: Session, order: Order, *, release: Iterable[Release] = (),
              written: Callable[[], None] | None = None) -> None:
    """Allocate what the order still needs (see the module's docstring for the rules).

    Orders for the same SKUs queue on the same stock rows, and every statement run while holding them
    makes the queue slower. So, unless buckets are also being released (a change of lines), the plan is
    made from an unlocked read, the order, its lines and allocations are written, and only then is each
    planned bucket reserved with one guarded UPDATE, in lock order: the rows are held from that UPDATE to
    the commit only. If another order took some of those units since the read, a guard refuses, what
    was reserved is rolled back, and the allocation is planned again with every candidate row locked,
    as before. The guard, not the read, is what makes overselling impossible. ``written`` runs once the
    order is written (it has its id), before any stock row is locked: the caller's audit record, say."""
    release = list(release)
    with session.no_autoflush:
        watch.prepare(session, {line.item_id for line in order.lines} | {item_id for _, item_id, _, _ in release})
    if not release:
        with session.no_autoflush:
            stock, sites, made = _reserve_plan(session, order, [], lock=False)
        _write(session, order)
        if written is not None:
            written()
            written = None
            session.flush()  # now, not at the commit while the stock rows are locked
        if _try_write(session, stock):
            _announce(session, order, sites)
            return
        for allocation in made:
            allocation.line.allocations.remove(allocation)
        session.flush()
    # Nothing is flushed until the plan is made and the order's status set.
    with session.no_autoflush:
        stock, sites, _ = _reserve_plan(session, order, release, lock=True)
    stock.write(session)
    _write(session, order)
    if written is not None:
        written()
    _announce(session, order, sites)


def _write(session: Session, order: Order) -> None:
    if order.id is None:
        _write_new(session, order)  # a new order, once, in its final state
    else:
        session.flush()  # the order's changes and its new allocations


# A savepoint of the allocation's own, never released: PostgreSQL and SQLite commit it with the transaction,
# and its release would be one more round trip while the reserved rows are locked and other orders for the
# same SKUs queue on them. Only guarded UPDATEs run inside it, so rolling back to it changes nothing the
# session holds in memory.
_SAVEPOINT = Prepared(text("SAVEPOINT order_allocation"))
_ROLLBACK_TO_SAVEPOINT = Prepared(text("ROLLBACK TO SAVEPOINT order_allocation"))


def _try_write(session: Session, stock: Stock) -> bool:
    """Reserve what the unlocked plan took, bucket by bucket in lock order, inside a savepoint: on the
    first refusal the savepoint is rolled back, which also lets go of the rows locked so far (a refused
    guarded UPDATE can leave its row locked too), so the locked retry takes every lock in order again
    (holding one while asking for an earlier one could deadlock against another allocation)."""
    taken = [bucket for bucket in stock.locked if bucket.taken]
    if not taken:
        return True
    _SAVEPOINT.run(session)
    for bucket in taken:
        if not try_reserve(session, location_id=bucket.location.id, item_id=bucket.item.id,
                           lot_id=bucket.lot.id if bucket.lot else None, quantity=bucket.taken):
            _ROLLBACK_TO_SAVEPOINT.run(session)
            return False
    return True


def _reserve_plan(session: Session, order: Order, release: list[Release], *,
                  lock: bool) -> tuple[Stock, list[Warehouse], list[OrderAllocation]]:
    """Read (``lock``: and lock) the candidate stock, plan the order's reservations and record them on the
    order (allocations, status); the caller writes the reservations."""
    sites = sorted(_active_sites(session),
                   key=lambda site: (haversine_km(order.latitude, order.longitude, site.latitude, site.longitude),
                                     site.code))
    items = {line.item_id: line.item for line in order.lines}
    bins = picking.pickable_bins(session, [site.id for site in sites], holding=items)
    pickable = set(bins)
    for location_id, item_id, _, _ in release:
        # Lock the buckets being released too, in the same single ordered pass: taking a lock on a bucket
        # outside that order (to release it first) could deadlock against another allocation.
        if location_id not in bins:
            bins[location_id] = session.get_one(Location, location_id)
        if item_id not in items:
            items[item_id] = session.get_one(Item, item_id)
    stock = lock_stock(session, bins=bins, items=items.values(), lock=lock)
    buckets = {(b.location.id, b.item.id, b.lot_key): b for b in stock.locked}
    for location_id, item_id, lot_id, quantity in release:
        bucket = buckets[(location_id, item_id, lot_id or 0)]
        bucket.available += quantity
        bucket.taken -= quantity
    # Buckets in bins no longer pickable (deactivated, awaiting a recount) are only there to be released.
    for item_buckets in stock.by_item.values():
        item_buckets[:] = [bucket for bucket in item_buckets if bucket.location.id in pickable]
    plan = _plan(stock, sites, [(line, line.quantity - _live(line)) for line in order.lines])
    made = []
    now = utcnow()
    for line, bucket, units in plan:
        # Every column set: a new order's allocations are written by _write_new.
        made.append(OrderAllocation(
            warehouse_id=bucket.location.warehouse_id, location_id=bucket.location.id, location=bucket.location,
            item_id=bucket.item.id, lot_id=bucket.lot.id if bucket.lot else None, lot=bucket.lot, quantity=units,
            status=AllocationStatus.RESERVED.value, task_line_id=None, created_at=now))
        line.allocations.append(made[-1])
    _set_status(order)
    return stock, sites, made


def event_payload(order: Order) -> dict[str, Any]:
    return {"order_id": order.id, "external_id": order.external_id, "status": order.status,
            "lines": [{"sku": line.item.sku, "quantity": line.quantity, "backordered": line.backordered,
                       "shipped": shipped_of(line), "allocations": allocations_of(line)} for line in order.lines]}


def allocations_of(line: OrderLine) -> list[dict[str, Any]]:
    """What the line holds, per warehouse, bin and lot (allocations of one bucket added up)."""
    merged: dict[tuple[str, str, str | None], int] = {}
    for allocation in line.allocations:
        if allocation.status in LIVE_ALLOCATIONS:
            key = (allocation.warehouse.code, allocation.location.code, allocation.lot.code if allocation.lot else None)
            merged[key] = merged.get(key, 0) + allocation.quantity
    return [{"warehouse": warehouse, "location": location, "lot": lot, "quantity": quantity}
            for (warehouse, location, lot), quantity in merged.items()]


def _announce(session: Session, order: Order, sites: list[Warehouse]) -> None:
    payload = event_payload(order)
    used = sorted({a.warehouse.code for line in order.lines for a in line.allocations
                   if a.status == AllocationStatus.RESERVED.value})
    if order.status in (OrderStatus.ALLOCATED.value, OrderStatus.PARTIALLY_ALLOCATED.value):
        announce(session, "order.allocated", payload, used)
    if order.status in (OrderStatus.BACKORDERED.value, OrderStatus.PARTIALLY_ALLOCATED.value):
        # Every warehouse hears of a backorder: any of them may receive the stock that fills it.
        announce(session, "order.backordered", payload, [site.code for site in sites])


# ---------------------------------------------------------------- pick tasks from orders' reservations

def create_pick_task(session: Session, *, actor_id: int, warehouse: str, orders: list[int],
                     packing: str | None = None) -> Task:
    """One pick task for what the orders hold reserved in ``warehouse``: each line takes over one
    allocation's reservation (nothing is reserved again)."""
    site = warehouse_by_code(session, warehouse, field="warehouse")
    if len(set(orders)) != len(orders):
        raise InvalidInput.field("orders", "an order is listed twice")
    locked = {order.id: order for order in session.scalars(
        select(Order).where(Order.id.in_(sorted(orders))).order_by(Order.id).with_for_update(of=Order)
        .options(selectinload(Order.lines).selectinload(OrderLine.allocations))
        .execution_options(populate_existing=True))}
    unknown = [order_id for order_id in orders if order_id not in locked]
    if unknown:
        raise InvalidInput.field("orders", f"unknown order(s) {unknown}")
    chosen: list[tuple[Order, OrderAllocation]] = []
    for order_id in orders:
        order = locked[order_id]
        _require_open(order)
        chosen += [(order, a) for line in order.lines for a in line.allocations
                   if a.status == AllocationStatus.RESERVED.value and a.task_line_id is None
                   and a.warehouse_id == site.id]
    station = picking.packing_location(session, site, packing)
    if not chosen:
        raise Conflict(f"The orders hold nothing reserved in {site.code} that is not being picked already.",
                       reason="nothing_reserved")
    task = picking.task_for_reserved(
        session, site=site, station=station, actor_id=actor_id, short=[],
        reference=f"pick orders {', '.join(locked[o].external_id for o in orders)}"[:120],
        orders=[locked[o].external_id for o in orders],
        allocations=[picking.Allocation(order.external_id, a.item, a.lot, a.location, a.quantity,
                                        details={"allocation_id": a.id}) for order, a in chosen])
    by_id = {a.id: a for _, a in chosen}
    for line in task.lines:
        by_id[line.details["allocation_id"]].task_line_id = line.id
    return task


class OrderReservations:
    """Keeps allocations in step with the pick lines that took them over (see picking.ReservationOwner)."""

    def _allocation(self, session: Session, line: TaskLine) -> OrderAllocation | None:
        return session.get(OrderAllocation, line.details["allocation_id"])

    def picking(self, session: Session, line: TaskLine) -> None:
        """Queue behind any other change of the order (a shipment, a payment) before the pick posts stock:
        the order row is always locked before stock rows, so the two never wait on each other in a circle,
        and the status written afterwards is computed from what they committed."""
        allocation = self._allocation(session, line)
        if allocation is not None:
            get_order(session, allocation.line.order_id, for_update=True)

    def picked(self, session: Session, line: TaskLine, *, picked: int, released: int) -> None:
        allocation = self._allocation(session, line)
        if allocation is None:
            return
        order_line = allocation.line
        if picked:
            allocation.quantity, allocation.status = picked, AllocationStatus.PICKED.value
            allocation.task_line_id = line.id
        else:
            allocation.status = AllocationStatus.RELEASED.value
        if released and picked:
            # The units the bin did not hold: history, and the line backorders them.
            order_line.allocations.append(OrderAllocation(
                warehouse_id=allocation.warehouse_id, location_id=allocation.location_id, item_id=allocation.item_id,
                lot_id=allocation.lot_id, quantity=released, status=AllocationStatus.RELEASED.value,
                task_line_id=line.id))
        session.flush()
        order = order_line.order
        status = order.status
        _set_status(order)
        if order.status != status and order.status != OrderStatus.ALLOCATED.value:
            announce(session, "order.backordered", event_payload(order), [allocation.warehouse.code])

    def handed_back(self, session: Session, line: TaskLine, *, quantity: int) -> None:
        allocation = self._allocation(session, line)
        if allocation is not None:
            allocation.task_line_id = None  # reserved for the order again, free for another pick task

    def repicked(self, session: Session, line: TaskLine, repick: Task) -> None:
        """The units a short pick missed were reserved again on ``repick``: they are the order line's again
        (an allocation per re-pick line, taken over by that line), unless the order has meanwhile been
        allocated those units some other way; then the re-pick stays a pick of its own."""
        allocation = self._allocation(session, line)
        if allocation is None:
            return
        order = get_order(session, allocation.line.order_id, for_update=True)
        order_line = allocation.line
        units = sum(new.expected_quantity or 0 for new in repick.lines)
        if order.status == OrderStatus.CANCELLED.value or order_line.backordered < units:
            return
        for new in repick.lines:
            assert new.location_id is not None and new.item_id is not None
            linked = OrderAllocation(warehouse_id=repick.warehouse_id, location_id=new.location_id,
                                     item_id=new.item_id, lot_id=new.lot_id, quantity=new.expected_quantity or 0,
                                     status=AllocationStatus.RESERVED.value, task_line_id=new.id)
            order_line.allocations.append(linked)
            session.flush()
            new.details = {**new.details, "allocation_id": linked.id}
        _set_status(order)


picking.register_owner(OrderReservations())


# ---------------------------------------------------------------- listing

def list_orders(session: Session, query: dict[str, Any]) -> Page:
    statement = select(Order).options(selectinload(Order.lines).selectinload(OrderLine.allocations)).order_by(
        Order.id.desc())
    if query.get("status"):
        statement = statement.where(Order.status == query["status"])
    if query.get("external_id"):
        statement = statement.where(Order.external_id == query["external_id"])
    return paginate(session, statement, query)


# ---------------------------------------------------------------- shipping what is packed

def _packing_lines(session: Session, order: Order, pick_line_ids: list[int]) -> tuple[dict[int, int], dict[
        tuple[int, int, int], TaskLine]]:
    """Pick line -> its pick task's packing task, and (packing task, item, lot) -> the packing line of this
    order's goods there. The packing tasks are locked, so a pack check settling at the same time is either
    seen done or not at all."""
    pick_task_of = dict(session.execute(select(TaskLine.id, TaskLine.task_id).where(
        TaskLine.id.in_(pick_line_ids))).all())
    packing_tasks = dict(session.execute(
        select(Task.parent_task_id, Task.id)
        .where(Task.parent_task_id.in_(sorted(set(pick_task_of.values()))), Task.workflow == Workflow.PACKING.value)
        .order_by(Task.id).with_for_update()).all())
    packing_of = {line_id: packing_tasks[task_id] for line_id, task_id in pick_task_of.items()
                  if task_id in packing_tasks}
    lines: dict[tuple[int, int, int], TaskLine] = {}
    for line in session.scalars(select(TaskLine).where(TaskLine.task_id.in_(sorted(set(packing_tasks.values()))))
                                .execution_options(populate_existing=True)):
        if line.details.get("order") == order.external_id and line.item_id is not None:
            lines[(line.task_id, line.item_id, line.lot_id or 0)] = line
    return packing_of, lines


def ship(session: Session, *, order_id: int, actor_id: int, idempotency_key: str | None = None) -> Order:
    """Send what is packed to the customer: per packing line that passed its check, the packed units move
    from the packing station to the customer (``V-CUSTOMER``) and the order's picked allocations become
    ``shipped``. Units picked but lost at packing (an approved pack mismatch wrote them off) are released
    and the line backorders them. What is not packed yet stays picked: a later call ships it."""
    order = get_order(session, order_id, for_update=True)
    _require_open(order)
    gone = (AllocationStatus.PICKED.value, AllocationStatus.SHIPPED.value)
    taken = [a for line in order.lines for a in line.allocations if a.status in gone and a.task_line_id]
    if not any(a.status == AllocationStatus.PICKED.value for a in taken):
        raise Conflict(f"Order {order.external_id!r} has nothing picked that is not shipped yet.",
                       reason="nothing_to_ship")
    packing_of, packing = _packing_lines(session, order, sorted({a.task_line_id for a in taken if a.task_line_id}))
    shipped_before: dict[tuple[int, int, int], int] = defaultdict(int)  # by earlier calls, per packing line
    groups: dict[tuple[int, int, int], list[OrderAllocation]] = defaultdict(list)
    for allocation in taken:
        packing_id = packing_of.get(allocation.task_line_id or 0)
        if packing_id is None:
            continue  # still being picked: no packing task yet
        key = (packing_id, allocation.item_id, allocation.lot_id or 0)
        if allocation.status == AllocationStatus.SHIPPED.value:
            shipped_before[key] += allocation.quantity
        else:
            groups[key].append(allocation)
    plan: list[tuple[TaskLine, list[OrderAllocation], int]] = []
    for key, allocations in groups.items():
        line = packing.get(key)
        if line is None or line.status != LineStatus.DONE.value:
            continue  # not packed yet (or its pack check is under review): it ships later
        packed = int(line.details.get("packed", line.expected_quantity or 0))
        plan.append((line, allocations, max(0, min(packed - shipped_before[key],
                                                   sum(a.quantity for a in allocations)))))
    if not plan:
        raise Conflict(f"Nothing of order {order.external_id!r} has passed the pack check yet; ship once it is "
                       "packed.", reason="not_packed")
    customer = virtual_location(session, LocationType.CUSTOMER)
    shipment: list[dict[str, Any]] = []
    # Moves in lock order (station, item, lot), like every other multi-bucket change.
    plan.sort(key=lambda entry: (entry[0].location_id or 0, entry[0].item_id or 0, entry[0].lot_id or 0))
    for line, allocations, quantity in plan:
        assert line.item is not None and line.location is not None
        if quantity:
            seq = post_move(session, item=line.item, lot=line.lot, source=line.location, destination=customer,
                            quantity=quantity, reason=f"Shipped order {order.external_id}", reason_code="ship",
                            actor_id=actor_id, task_id=line.task_id, idempotency_key=idempotency_key).seq
            shipment.append({"sku": line.item.sku, "quantity": quantity, "lot": line.lot.code if line.lot else None,
                             "expiry": line.lot.expiry.isoformat() if line.lot and line.lot.expiry else None,
                             # Serial-tracked items are refused at order intake, so orders ship none (yet).
                             "serials": [],
                             "warehouse": line.location.warehouse.code if line.location.warehouse else None,
                             "from": line.location.code, "seq": seq})
        remaining = quantity
        for allocation in allocations:
            if remaining >= allocation.quantity:
                allocation.status = AllocationStatus.SHIPPED.value
                remaining -= allocation.quantity
                continue
            if remaining:  # split: what shipped, and the rest that never made it through packing
                allocation.line.allocations.append(OrderAllocation(
                    warehouse_id=allocation.warehouse_id, location_id=allocation.location_id,
                    item_id=allocation.item_id, lot_id=allocation.lot_id, quantity=remaining,
                    status=AllocationStatus.SHIPPED.value, task_line_id=allocation.task_line_id))
                allocation.quantity -= remaining
                remaining = 0
            allocation.status = AllocationStatus.RELEASED.value
    session.flush()
    _set_status(order)
    audit(session, actor_id=actor_id, action="order.shipped", target=f"orders/{order.id}",
          shipped=sum(entry["quantity"] for entry in shipment))
    if shipment:
        announce(session, "order.shipped", {**event_payload(order), "shipment": shipment},
                 sorted({entry["warehouse"] for entry in shipment if entry["warehouse"]}))
    return order


def shipped_units(session: Session, *, external_id: str) -> dict[str, int] | None:
    """SKU -> units shipped on the order with this external id (None: no such order): what a return
    against it may bring back."""
    order_id = session.scalar(select(Order.id).where(Order.external_id == external_id))
    if order_id is None:
        return None
    order = get_order(session, order_id)
    return {line.item.sku: shipped_of(line) for line in order.lines if shipped_of(line)}
