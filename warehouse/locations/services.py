"""Use cases on warehouses, zones and locations."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from warehouse.audit.services import record as audit
from warehouse.errors import Conflict, InvalidInput
from warehouse.locations.models import VIRTUAL_LOCATION_CODES, Location, LocationType, Warehouse, Zone
from warehouse.queries import one_by_code
from warehouse.stock.models import StockLevel


def warehouse_by_code(session: Session, code: str, *, field: str | None = None) -> Warehouse:
    return one_by_code(session, Warehouse.code, code, noun="warehouse", field=field)


def location_by_code(session: Session, code: str, *, field: str | None = None) -> Location:
    return one_by_code(session, Location.code, code, noun="location", field=field)


# Virtual locations are built in by the migrations and can never be changed (update_location refuses),
# so each database's are read once per process. Keyed by engine: tests run many databases side by side.
_virtual: weakref.WeakKeyDictionary[Engine, dict[LocationType, Location]] = weakref.WeakKeyDictionary()


def virtual_location(session: Session, kind: LocationType) -> Location:
    """The built-in virtual location of ``kind`` (supplier, customer, ...): every receipt, shipment
    and adjustment posts against one, so it comes from a per-process copy rather than a query."""
    known = _virtual.setdefault(session.get_bind().engine, {})
    cached = known.get(kind)
    if cached is None:
        cached = known[kind] = location_by_code(session, VIRTUAL_LOCATION_CODES[kind])
        session.expunge(cached)
    return session.merge(cached, load=False)


def create_warehouse(session: Session, *, actor_id: int | None, code: str, name: str, latitude: float,
                     longitude: float, address: str | None = None) -> Warehouse:
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)) is not None:
        raise Conflict(f"Warehouse {code!r} already exists.")
    warehouse = Warehouse(code=code, name=name, latitude=latitude, longitude=longitude, address=address)
    session.add(warehouse)
    session.flush()
    audit(session, actor_id=actor_id, action="warehouse.created", target=code)
    return warehouse


def update_warehouse(session: Session, *, actor_id: int | None, code: str, **changes: Any) -> Warehouse:
    warehouse = warehouse_by_code(session, code)
    for name, value in changes.items():
        setattr(warehouse, name, value)
    session.flush()
    audit(session, actor_id=actor_id, action="warehouse.updated", target=code, changed=sorted(changes))
    return warehouse


def create_zone(session: Session, *, actor_id: int | None, warehouse: str, code: str, name: str | None = None) -> Zone:
    parent = warehouse_by_code(session, warehouse)
    if session.scalar(select(Zone.id).where(Zone.warehouse_id == parent.id, Zone.code == code)) is not None:
        raise Conflict(f"Zone {code!r} already exists in {warehouse}.")
    zone = Zone(warehouse=parent, code=code, name=name or code)
    session.add(zone)
    session.flush()
    audit(session, actor_id=actor_id, action="zone.created", target=f"{warehouse}/{code}")
    return zone


def _zone(session: Session, warehouse: Warehouse, code: str | None) -> Zone | None:
    if code is None:
        return None
    zone = session.scalar(select(Zone).where(Zone.warehouse_id == warehouse.id, Zone.code == code))
    if zone is None:
        raise InvalidInput.field("zone", f"{warehouse.code} has no zone {code!r}")
    return zone


def create_location(session: Session, *, actor_id: int | None, code: str, warehouse: str, type: str,
                    zone: str | None = None, name: str | None = None, capacity: int | None = None,
                    walk_sequence: int = 0) -> Location:
    location_type = LocationType(type)
    if location_type.is_virtual:
        raise InvalidInput.field("type", "virtual locations are built in; create a physical location")
    parent = warehouse_by_code(session, warehouse, field="warehouse")
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise Conflict(f"Location code {code!r} is already used (codes are unique across warehouses, "
                       "so that a scanned label always means one place).")
    location = Location(code=code, type=location_type.value, is_virtual=False, warehouse=parent,
                        zone=_zone(session, parent, zone), name=name, capacity=capacity,
                        walk_sequence=walk_sequence)
    session.add(location)
    session.flush()
    audit(session, actor_id=actor_id, action="location.created", target=code, warehouse=warehouse,
          type=location_type.value)
    return location


def update_location(session: Session, *, actor_id: int | None, code: str, **changes: Any) -> Location:
    location = location_by_code(session, code)
    if location.is_virtual:
        raise InvalidInput.field("code", "virtual locations cannot be changed")
    assert location.warehouse is not None
    if "type" in changes:
        new_type = LocationType(changes["type"])
        if new_type.is_virtual:
            raise InvalidInput.field("type", "a physical location cannot become virtual")
        changes["type"] = new_type.value
    if "zone" in changes:
        location.zone = _zone(session, location.warehouse, changes.pop("zone"))
    if changes.get("active") is False:
        holds = session.scalar(select(StockLevel.id).where(
            StockLevel.location_id == location.id, StockLevel.on_hand != 0).limit(1))
        if holds is not None:
            raise Conflict(f"{code} still holds stock; move it out before deactivating the location.")
    for name, value in changes.items():
        setattr(location, name, value)
    session.flush()
    audit(session, actor_id=actor_id, action="location.updated", target=code, changed=sorted(changes))
    return location


def first_location(session: Session, warehouse_id: int, kind: LocationType) -> Location | None:
    """The warehouse's first active location of ``kind`` on the walk."""
    return session.scalar(select(Location).where(
        Location.warehouse_id == warehouse_id, Location.type == kind.value, Location.active.is_(True))
        .order_by(Location.walk_sequence, Location.code))


def location_for(session: Session, *, warehouse: Warehouse, kind: LocationType, code: str | None,
                 field: str) -> Location:
    """The location a task works at: ``code`` if given (it must be an active ``kind`` location of the
    warehouse), else the warehouse's first one. Refusals name ``field``."""
    if code is not None:
        location = location_by_code(session, code, field=field)
        if location.warehouse_id != warehouse.id or location.type != kind.value or not location.active:
            raise InvalidInput.field(field, f"{code} is not an active {kind.value} location of {warehouse.code}")
        return location
    location = first_location(session, warehouse.id, kind)
    if location is None:
        raise InvalidInput.field(field, f"{warehouse.code} has no {kind.value} location; create one first")
    return location
