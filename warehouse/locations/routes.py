from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.locations import services
from warehouse.locations.models import Location, Warehouse, Zone
from warehouse.locations.schemas import (
    LocationIn,
    LocationOut,
    LocationPatch,
    LocationQuery,
    WarehouseIn,
    WarehouseOut,
    WarehousePatch,
    ZoneIn,
    ZoneOut,
)
from warehouse.queries import paginate
from warehouse.schemas import PageQuery

api = Api("locations", __name__)


@api.get("/warehouses", permission="locations:read", query=PageQuery, response=WarehouseOut, paginated=True,
         summary="List warehouses", tags=["warehouses"])
def list_warehouses(session: Session, query: dict[str, Any]) -> Page:
    return paginate(session, select(Warehouse).options(selectinload(Warehouse.zones)).order_by(Warehouse.code),
                    query)


@api.post("/warehouses", permission="locations:write", body=WarehouseIn, response=WarehouseOut, status=201,
          summary="Create a warehouse (its coordinates drive nearest-warehouse allocation)", tags=["warehouses"],
          errors=(409, 422))
def create_warehouse(session: Session, actor: Principal, body: dict[str, Any]) -> Warehouse:
    return services.create_warehouse(session, actor_id=actor.user_id, **body)


@api.get("/warehouses/<code>", permission="locations:read", response=WarehouseOut, summary="One warehouse",
         tags=["warehouses"], errors=(404,))
def get_warehouse(session: Session, code: str) -> Warehouse:
    return services.warehouse_by_code(session, code)


@api.patch("/warehouses/<code>", permission="locations:write", body=WarehousePatch, response=WarehouseOut,
           summary="Change a warehouse", tags=["warehouses"], errors=(404, 422))
def update_warehouse(session: Session, actor: Principal, code: str, body: dict[str, Any]) -> Warehouse:
    return services.update_warehouse(session, actor_id=actor.user_id, code=code, **body)


@api.post("/warehouses/<code>/zones", permission="locations:write", body=ZoneIn, response=ZoneOut, status=201,
          summary="Create a zone in a warehouse", tags=["warehouses"], errors=(404, 409, 422))
def create_zone(session: Session, actor: Principal, code: str, body: dict[str, Any]) -> Zone:
    return services.create_zone(session, actor_id=actor.user_id, warehouse=code, **body)


@api.get("/locations", permission="locations:read", query=LocationQuery, response=LocationOut, paginated=True,
         summary="List locations in walking order", tags=["locations"])
def list_locations(session: Session, query: dict[str, Any]) -> Page:
    statement = (select(Location).options(joinedload(Location.warehouse), joinedload(Location.zone))
                 .outerjoin(Warehouse, Location.warehouse_id == Warehouse.id)
                 .order_by(Warehouse.code, Location.walk_sequence, Location.code))
    if "warehouse" in query:
        statement = statement.where(Warehouse.code == query["warehouse"])
    if "type" in query:
        statement = statement.where(Location.type == query["type"])
    if "zone" in query:
        statement = statement.join(Zone, Location.zone_id == Zone.id).where(Zone.code == query["zone"])
    if "active" in query:
        statement = statement.where(Location.active.is_(query["active"]))
    return paginate(session, statement, query)


@api.post("/locations", permission="locations:write", body=LocationIn, response=LocationOut, status=201,
          summary="Create a bin or other physical location", tags=["locations"], errors=(409, 422))
def create_location(session: Session, actor: Principal, body: dict[str, Any]) -> Location:
    return services.create_location(session, actor_id=actor.user_id, **body)


@api.get("/locations/<code>", permission="locations:read", response=LocationOut, summary="One location",
         tags=["locations"], errors=(404,))
def get_location(session: Session, code: str) -> Location:
    return services.location_by_code(session, code)


@api.patch("/locations/<code>", permission="locations:write", body=LocationPatch, response=LocationOut,
           summary="Change a location; deactivating needs it empty", tags=["locations"], errors=(404, 409, 422))
def update_location(session: Session, actor: Principal, code: str, body: dict[str, Any]) -> Location:
    return services.update_location(session, actor_id=actor.user_id, code=code, **body)
