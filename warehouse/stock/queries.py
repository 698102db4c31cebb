"""Reads of stock: levels per bucket, totals per warehouse, and the ledger as per-location changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from warehouse.api import Page
from warehouse.catalog.models import Item, Lot
from warehouse.locations.models import Location, Warehouse
from warehouse.queries import paginate
from warehouse.stock.models import Move, StockLevel


def level_rows(*extra: Any) -> Select[Any]:
    """Physical stock rows (location, item, lot) with the names a person reads, plus ``extra`` columns."""
    return (
        select(Item.sku, Item.name.label("item_name"), Location.code.label("location"),
               Location.type.label("location_type"), Warehouse.code.label("warehouse"),
               Lot.code.label("lot"), Lot.expiry.label("expiry"), StockLevel.on_hand, StockLevel.reserved, *extra)
        .select_from(StockLevel)
        .join(Item, StockLevel.item_id == Item.id)
        .join(Location, StockLevel.location_id == Location.id)
        .join(Warehouse, Location.warehouse_id == Warehouse.id)
        .outerjoin(Lot, StockLevel.lot_id == Lot.id)
        .where(StockLevel.is_virtual.is_(False))
    )


def stock_levels(session: Session, query: dict[str, Any]) -> Page:
    statement = level_rows().order_by(Warehouse.code, Location.walk_sequence, Location.code, Item.sku, Lot.expiry,
                                      Lot.code)
    if not query.get("include_empty"):
        statement = statement.where((StockLevel.on_hand != 0) | (StockLevel.reserved != 0))
    for name, column in (("sku", Item.sku), ("location", Location.code), ("warehouse", Warehouse.code),
                         ("lot", Lot.code)):
        if name in query:
            statement = statement.where(column == query[name])
    return paginate(session, statement, query, scalars=False)


def stock_totals(session: Session, query: dict[str, Any]) -> Page:
    statement: Select[Any] = (
        select(Item.sku, Item.name.label("item_name"), Warehouse.code.label("warehouse"),
               func.sum(StockLevel.on_hand).label("on_hand"), func.sum(StockLevel.reserved).label("reserved"))
        .select_from(StockLevel)
        .join(Item, StockLevel.item_id == Item.id)
        .join(Location, StockLevel.location_id == Location.id)
        .join(Warehouse, Location.warehouse_id == Warehouse.id)
        .where(StockLevel.is_virtual.is_(False))
        .group_by(Item.sku, Item.name, Warehouse.code)
        .having((func.sum(StockLevel.on_hand) != 0) | (func.sum(StockLevel.reserved) != 0))
        .order_by(Item.sku, Warehouse.code)
    )
    for name, column in (("sku", Item.sku), ("warehouse", Warehouse.code)):
        if name in query:
            statement = statement.where(column == query[name])
    return paginate(session, statement, query, scalars=False)


@dataclass(frozen=True)
class Change:
    """One move seen from one physical location: ``quantity`` is signed (+ in, - out)."""

    seq: int
    sku: str
    location: str
    warehouse: str
    lot: str | None
    expiry: date | None
    quantity: int
    from_location: str
    to_location: str
    reason: str
    reason_code: str
    task_id: int | None
    user_id: int | None
    at: datetime


@dataclass(frozen=True)
class ChangeFeed:
    changes: list[Change]
    next_after: int
    last_seq: int


def changes_after(session: Session, *, after: int, limit: int, sku: str | None = None,
                  warehouse: str | None = None) -> ChangeFeed:
    """Moves with seq > ``after``, oldest first, as per-location changes.

    ``limit`` counts moves, and a move's changes are never split across pages, so paging with
    ``next_after`` sees every change exactly once."""
    source, destination = aliased(Location), aliased(Location)
    source_wh, destination_wh = aliased(Warehouse), aliased(Warehouse)
    statement = (
        select(Move.seq, Item.sku, Lot.code, Lot.expiry, Move.quantity, Move.reason, Move.reason_code,
               Move.task_id, Move.actor_id, Move.created_at,
               source.code, source.is_virtual, source_wh.code,
               destination.code, destination.is_virtual, destination_wh.code)
        .select_from(Move)
        .join(Item, Move.item_id == Item.id)
        .outerjoin(Lot, Move.lot_id == Lot.id)
        .join(source, Move.from_location_id == source.id)
        .join(destination, Move.to_location_id == destination.id)
        .outerjoin(source_wh, source.warehouse_id == source_wh.id)
        .outerjoin(destination_wh, destination.warehouse_id == destination_wh.id)
        .where(Move.seq > after)
        .order_by(Move.seq)
        .limit(limit)
    )
    if sku is not None:
        statement = statement.where(Item.sku == sku)
    if warehouse is not None:
        statement = statement.where((source_wh.code == warehouse) | (destination_wh.code == warehouse))
    rows = session.execute(statement).all()
    changes: list[Change] = []
    for (seq, item_sku, lot, expiry, quantity, reason, reason_code, task_id, actor_id, at,
         from_code, from_virtual, from_wh, to_code, to_virtual, to_wh) in rows:
        for code, virtual, wh, signed in ((from_code, from_virtual, from_wh, -quantity),
                                          (to_code, to_virtual, to_wh, quantity)):
            if virtual or (warehouse is not None and wh != warehouse):
                continue
            changes.append(Change(seq=seq, sku=item_sku, location=code, warehouse=wh, lot=lot, expiry=expiry,
                                  quantity=signed, from_location=from_code, to_location=to_code, reason=reason,
                                  reason_code=reason_code, task_id=task_id, user_id=actor_id, at=at))
    last_seq = session.scalar(select(func.max(Move.seq))) or 0
    return ChangeFeed(changes=changes, next_after=rows[-1][0] if rows else after, last_seq=last_seq)
