"""Min/max replenishment.

A rule holds a minimum and a maximum of one item, either for a pick face (a ``pick-face`` location,
refilled from the warehouse's reserve storage bins) or for a warehouse in total (refilled from a
supplier). The level watched is what is available: on hand minus reserved, at the pick face or over
every physical location of the warehouse.

Just before any transaction that changed stock commits (``warehouse.stock.watch``), the rules of the
items it touched are judged, inside that transaction:

- the level went below the minimum and the rule was not low: the rule becomes ``low``, ``stock.low`` is
  announced (webhook outbox row and live event) and a replenishment is made for the quantity that
  restores the maximum, unless the rule's previous one is still open:
  - pick face: a move task (workflow ``putaway``, so the putaway machinery verifies it: scan the item and
    the pick face) with one line per reserve bin and lot, first-expiry-first-out, up to the maximum;
  - warehouse: a line on the warehouse's draft purchase order for the rule's supplier (one draft per
    warehouse and supplier collects every item that runs low). ``POST .../purchase-orders/<id>/receipt``
    turns a draft into an expected receipt of the receiving workflow;
- still below the minimum and already low: nothing (one crossing, one announcement);
- back at or above the minimum: the rule is re-armed for the next crossing.

A replenishment task does not reserve the reserve stock it names (nor do putaway tasks): reserving would
take those units out of the warehouse's available total and make them unpromisable to orders while they
are on the shelf. If orders take them first, confirming the move is refused (409) like any move of
stock that is not there.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from warehouse.api import Page
from warehouse.audit.services import record as audit
from warehouse.catalog.models import Lot
from warehouse.catalog.services import item_by_sku
from warehouse.db import Prepared, attach_loaded, columns_of, utcnow
from warehouse.errors import Conflict, InvalidInput
from warehouse.locations.models import Location, LocationType, Warehouse
from warehouse.locations.services import location_by_code, warehouse_by_code
from warehouse.picking.services import pickable_bins
from warehouse.queries import one_by_id, paginate
from warehouse.realtime import announce
from warehouse.receiving.services import create_receipt
from warehouse.replenishment.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReplenishmentRule,
)
from warehouse.stock import watch
from warehouse.stock.models import StockLevel
from warehouse.tasks import services as tasks
from warehouse.tasks.models import Task, TaskStatus, Workflow

ACTIVE = (TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value)
LOW_EVENT = "stock.low"


# ---------------------------------------------------------------- rules

def set_rule(session: Session, *, actor_id: int, sku: str, warehouse: str, minimum: int, maximum: int,
             location: str | None = None, supplier: str | None = None) -> ReplenishmentRule:
    """Create or change the rule of an item for a warehouse (or one of its pick faces). The level is judged
    at once: a rule set below the current level replenishes now, as if the level had just crossed it."""
    item = item_by_sku(session, sku, field="sku")
    site = warehouse_by_code(session, warehouse, field="warehouse")
    if maximum < minimum:
        raise InvalidInput.field("maximum", f"must be at least the minimum ({minimum})")
    face = None
    if location is not None:
        face = location_by_code(session, location, field="location")
        if face.warehouse_id != site.id:
            raise InvalidInput.field("location", f"{location} is not a location of {site.code}")
        if face.type != LocationType.PICK_FACE.value or not face.active:
            raise InvalidInput.field("location", f"{location} is not an active pick face; a rule without a "
                                                 "location watches the warehouse's total")
        if supplier is not None:
            raise InvalidInput.field("supplier", "a pick face is refilled from reserve stock, not from a supplier")
    rule = session.scalar(select(ReplenishmentRule).where(
        ReplenishmentRule.item_id == item.id, ReplenishmentRule.warehouse_id == site.id,
        ReplenishmentRule.location_key == (face.id if face else 0)).with_for_update())
    if rule is None:
        rule = ReplenishmentRule(item=item, warehouse=site, location=face, location_key=face.id if face else 0,
                                 low=False)
        session.add(rule)
    session.info.pop(_RULES, None)  # read ahead before this rule existed, perhaps
    rule.minimum, rule.maximum, rule.supplier = minimum, maximum, supplier
    rule.updated_by, rule.updated_at = actor_id, utcnow()
    session.flush()
    audit(session, actor_id=actor_id, action="replenishment.rule_set", target=f"replenishment/rules/{rule.id}",
          sku=item.sku, warehouse=site.code, location=face.code if face else None, minimum=minimum,
          maximum=maximum, supplier=supplier)
    _judge(session, rule)
    return rule


def delete_rule(session: Session, *, actor_id: int, rule_id: int) -> ReplenishmentRule:
    """Stop watching an item: the rule goes, what it already set in motion stays (an open move task, the
    lines of a purchase order, which keep their quantities but no longer name the rule)."""
    rule = one_by_id(session, ReplenishmentRule, rule_id, noun="replenishment rule", for_update=True)
    session.execute(update(PurchaseOrderLine).where(PurchaseOrderLine.rule_id == rule.id).values(rule_id=None))
    audit(session, actor_id=actor_id, action="replenishment.rule_deleted", target=f"replenishment/rules/{rule.id}",
          sku=rule.item.sku, warehouse=rule.warehouse.code, location=rule.location.code if rule.location else None,
          minimum=rule.minimum, maximum=rule.maximum, supplier=rule.supplier)
    session.delete(rule)
    session.flush()
    session.info.pop(_RULES, None)  # read ahead while the rule existed, perhaps
    return rule


def list_rules(session: Session, query: dict[str, Any]) -> Page:
    statement = select(ReplenishmentRule).order_by(ReplenishmentRule.id)
    if query.get("warehouse"):
        statement = statement.where(ReplenishmentRule.warehouse_id == warehouse_by_code(
            session, query["warehouse"], field="warehouse").id)
    if query.get("sku"):
        statement = statement.where(ReplenishmentRule.item_id == item_by_sku(session, query["sku"], field="sku").id)
    return paginate(session, statement, query)


# ---------------------------------------------------------------- levels

def level(session: Session, rule: ReplenishmentRule) -> int:
    """Available units the rule watches, as this transaction sees them."""
    available = StockLevel.on_hand - StockLevel.reserved
    if rule.location_id is not None:
        return int(session.scalar(select(func.coalesce(func.sum(available), 0)).where(
            StockLevel.item_id == rule.item_id, StockLevel.location_id == rule.location_id)) or 0)
    return int(session.scalar(
        select(func.coalesce(func.sum(available), 0)).join(Location, StockLevel.location_id == Location.id)
        .where(StockLevel.item_id == rule.item_id, Location.warehouse_id == rule.warehouse_id,
               StockLevel.is_virtual.is_(False))) or 0)


def is_open(session: Session, rule: ReplenishmentRule) -> bool:
    """Whether the rule's last replenishment is still under way (a second one would order twice)."""
    if rule.open_task_id is not None:
        status = session.scalar(select(Task.status).where(Task.id == rule.open_task_id))
        if status in ACTIVE:
            return True
    if rule.open_purchase_order_id is not None:
        order = session.get(PurchaseOrder, rule.open_purchase_order_id)
        if order is not None and order.status == PurchaseOrderStatus.DRAFT.value:
            return True
        if order is not None and order.status == PurchaseOrderStatus.EXPECTED.value and order.receipt_task_id:
            status = session.scalar(select(Task.status).where(Task.id == order.receipt_task_id))
            if status in ACTIVE:
                return True
    return False


_RULES = "replenishment.rules"  # session.info: item id -> its rules, read ahead by ``prefetch``
# Every transaction that changes stock asks for the rules of its items (most have none): one prepared
# statement reads them whole, and the rows become records (``db.attach_loaded``).
_RULES_OF_ITEMS = Prepared(select(*columns_of(ReplenishmentRule)).where(
    ReplenishmentRule.item_id.in_(bindparam("item_ids", expanding=True))))


def _rules_of(session: Session, item_ids: set[int]) -> list[ReplenishmentRule]:
    known: dict[int, list[ReplenishmentRule]] = session.info.setdefault(_RULES, {})
    missing = sorted(item_ids - set(known))
    if missing:
        for item_id in missing:
            known[item_id] = []
        for row in _RULES_OF_ITEMS.rows(session, {"item_ids": missing}):
            rule = attach_loaded(session, ReplenishmentRule, row)
            known[rule.item_id].append(rule)
    return sorted((rule for item_id in item_ids for rule in known[item_id]), key=lambda rule: rule.id)


def prefetch(session: Session, item_ids: set[int]) -> None:
    _rules_of(session, item_ids)


def on_stock_change(session: Session, touched: watch.Touched) -> None:
    """The watcher: judge the rules of the items the transaction changed, where it changed them."""
    rules = _rules_of(session, {item_id for item_id, _ in touched})
    if not rules:
        return
    warehouse_of = dict(session.execute(select(Location.id, Location.warehouse_id).where(
        Location.id.in_(sorted({location_id for _, location_id in touched})))).all())
    sites = {(item_id, warehouse_of.get(location_id)) for item_id, location_id in touched}
    for rule in rules:
        if rule.location_id is not None:
            if (rule.item_id, rule.location_id) in touched:
                _judge(session, rule)
        elif (rule.item_id, rule.warehouse_id) in sites:
            _judge(session, rule)


watch.register(on_stock_change, prepare=prefetch)


def _judge(session: Session, rule: ReplenishmentRule) -> None:
    available = level(session, rule)
    table = ReplenishmentRule.__table__.c
    if available >= rule.minimum:
        if rule.low:
            session.execute(update(ReplenishmentRule).where(table.id == rule.id, table.low.is_(True))
                            .values(low=False))
        return
    # The guarded flip decides, among transactions crossing at the same time, the one that announces it.
    crossed = session.execute(update(ReplenishmentRule).where(table.id == rule.id, table.low.is_(False))
                              .values(low=True).returning(table.id)).one_or_none()
    if crossed is None:
        return
    replenishment = None
    if not is_open(session, rule):
        quantity = rule.maximum - available
        if rule.location_id is not None:
            replenishment = _move_task(session, rule, quantity)
        else:
            replenishment = _purchase(session, rule, quantity)
    payload = {"seq": tasks.ledger_seq(session), "sku": rule.item.sku, "warehouse": rule.warehouse.code,
               "location": rule.location.code if rule.location else None, "available": available,
               "minimum": rule.minimum, "maximum": rule.maximum, "rule_id": rule.id,
               "replenishment": replenishment}
    announce(session, LOW_EVENT, payload, [rule.warehouse.code])


# ---------------------------------------------------------------- a pick face: a move task from reserve

def _rotation(lot: Lot | None, expiry_tracked: bool, level_id: int) -> tuple[object, ...]:
    if expiry_tracked:
        expiry = lot.expiry if lot else None
        return (expiry is None, expiry or date.max, lot.id if lot else 0, level_id)
    return (lot.id if lot else 0, level_id)


def _move_task(session: Session, rule: ReplenishmentRule, quantity: int) -> dict[str, Any] | None:
    face = rule.location
    assert face is not None
    reserve = {location_id: location for location_id, location in pickable_bins(session, [rule.warehouse_id]).items()
               if location.type == LocationType.STORAGE.value and location_id != face.id}
    if not reserve:
        return None
    rows = session.execute(
        select(StockLevel.id, StockLevel.location_id, StockLevel.lot_id, StockLevel.on_hand - StockLevel.reserved)
        .where(StockLevel.item_id == rule.item_id, StockLevel.location_id.in_(sorted(reserve)),
               StockLevel.on_hand - StockLevel.reserved > 0)).all()
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(
        Lot.id.in_(sorted({row[2] for row in rows if row[2]}))))}
    rows.sort(key=lambda row: _rotation(lots.get(row[2]), rule.item.expiry_tracked, row[0]))
    lines, remaining = [], quantity
    for _, location_id, lot_id, available in rows:
        if remaining <= 0:
            break
        units = min(int(available), remaining)
        remaining -= units
        lines.append({"item": rule.item, "lot": lots.get(lot_id), "location": reserve[location_id],
                      "to_location": face, "expected_quantity": units,
                      "details": {"suggestion": f"replenish pick face {face.code}", "replenishment_rule_id": rule.id}})
    if not lines:
        return None  # nothing in reserve: stock.low still tells the buyers
    task = tasks.create_task(session, workflow=Workflow.PUTAWAY, warehouse_id=rule.warehouse_id, actor_id=None,
                             reference=f"replenish {face.code} {rule.item.sku}"[:120], lines=lines,
                             details={"replenishment_rule_id": rule.id, "kind": "replenishment"})
    rule.open_task_id = task.id
    return {"kind": "move_task", "task_id": task.id, "quantity": quantity - remaining}


# ---------------------------------------------------------------- a warehouse: a draft purchase order

def _purchase(session: Session, rule: ReplenishmentRule, quantity: int) -> dict[str, Any]:
    supplier = rule.supplier
    # Two items crossing their minimums at the same time would each find no draft and open one: the
    # warehouse row is locked first, so the second waits and adds its line to the first one's draft.
    # (FOR NO KEY UPDATE: the rows these transactions already wrote hold key-share locks on it.)
    session.execute(select(Warehouse.id).where(Warehouse.id == rule.warehouse_id).with_for_update(key_share=True))
    draft = session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.warehouse_id == rule.warehouse_id,
                                    PurchaseOrder.status == PurchaseOrderStatus.DRAFT.value,
                                    PurchaseOrder.supplier.is_(None) if supplier is None
                                    else PurchaseOrder.supplier == supplier)
        .order_by(PurchaseOrder.id).limit(1).with_for_update())
    if draft is None:
        draft = PurchaseOrder(warehouse_id=rule.warehouse_id, supplier=supplier,
                              status=PurchaseOrderStatus.DRAFT.value)
        session.add(draft)
        session.flush()
    line = next((line for line in draft.lines if line.item_id == rule.item_id), None)
    if line is None:
        draft.lines.append(PurchaseOrderLine(item_id=rule.item_id, quantity=quantity, rule_id=rule.id))
    else:
        line.quantity += quantity
    draft.updated_at = utcnow()
    rule.open_purchase_order_id = draft.id
    session.flush()
    return {"kind": "purchase_order", "purchase_order_id": draft.id, "reference": draft.reference,
            "supplier": supplier, "quantity": quantity}


def list_purchase_orders(session: Session, query: dict[str, Any]) -> Page:
    statement = select(PurchaseOrder).order_by(PurchaseOrder.id.desc())
    if query.get("status"):
        statement = statement.where(PurchaseOrder.status == query["status"])
    if query.get("warehouse"):
        statement = statement.where(PurchaseOrder.warehouse_id == warehouse_by_code(
            session, query["warehouse"], field="warehouse").id)
    return paginate(session, statement, query)


def get_purchase_order(session: Session, purchase_order_id: int, *, for_update: bool = False) -> PurchaseOrder:
    return one_by_id(session, PurchaseOrder, purchase_order_id, noun="purchase order", for_update=for_update)


def expect(session: Session, *, purchase_order_id: int, actor_id: int, dock: str | None = None) -> PurchaseOrder:
    """Send a draft: it becomes an expected receipt (a receiving task referenced ``PO-<id>``)."""
    order = get_purchase_order(session, purchase_order_id, for_update=True)
    if order.status != PurchaseOrderStatus.DRAFT.value:
        raise Conflict(f"Purchase order {order.reference} is {order.status}, not a draft.", reason="not_draft")
    receipt = create_receipt(session, actor_id=actor_id, reference=order.reference, warehouse=order.warehouse.code,
                             dock=dock, supplier=order.supplier,
                             lines=[{"sku": line.item.sku, "quantity": line.quantity} for line in order.lines])
    order.status, order.receipt_task_id, order.updated_at = PurchaseOrderStatus.EXPECTED.value, receipt.id, utcnow()
    session.flush()
    audit(session, actor_id=actor_id, action="purchase_order.expected", target=order.reference,
          receipt_task_id=receipt.id)
    return order
