from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.catalog import services
from warehouse.catalog.models import Item
from warehouse.catalog.schemas import ItemIn, ItemOut, ItemPatch, ItemQuery
from warehouse.queries import paginate

api = Api("catalog", __name__)


@api.get("/items", permission="catalog:read", query=ItemQuery, response=ItemOut, paginated=True,
         summary="List items, optionally searching SKU and name", tags=["items"])
def list_items(session: Session, query: dict[str, Any]) -> Page:
    statement = (select(Item).options(selectinload(Item.pack_sizes), selectinload(Item.barcodes))
                 .order_by(Item.sku))
    if query.get("q"):
        pattern = f"%{query['q'].lower()}%"
        statement = statement.where(or_(Item.sku.ilike(pattern), Item.name.ilike(pattern)))
    if "active" in query:
        statement = statement.where(Item.active.is_(query["active"]))
    return paginate(session, statement, query)


@api.post("/items", permission="catalog:write", body=ItemIn, response=ItemOut, status=201, tags=["items"],
          summary="Create an item with its GTINs, aliases and pack sizes", errors=(409, 422))
def create_item(session: Session, actor: Principal, body: dict[str, Any]) -> Item:
    return services.create_item(session, actor_id=actor.user_id, **body)


@api.get("/items/<sku>", permission="catalog:read", response=ItemOut, summary="One item", tags=["items"],
         errors=(404,))
def get_item(session: Session, sku: str) -> Item:
    return services.item_by_sku(session, sku)


@api.patch("/items/<sku>", permission="catalog:write", body=ItemPatch, response=ItemOut, tags=["items"],
           summary="Change an item; lists given (gtins, aliases, pack_sizes) replace the old ones",
           errors=(404, 409, 422))
def update_item(session: Session, actor: Principal, sku: str, body: dict[str, Any]) -> Item:
    return services.update_item(session, actor_id=actor.user_id, sku=sku, **body)
