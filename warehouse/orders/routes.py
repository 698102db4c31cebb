"""Orders for the order system (role ``integration``; admins too): intake, payment, cancel, change,
retrying backorders, available-to-promise, and pick tasks made from orders' reservations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page, WithStatus
from warehouse.orders import services
from warehouse.orders.models import Order
from warehouse.orders.schemas import (
    AvailabilityOut,
    AvailabilityQuery,
    NewOrderIn,
    OrderLinesIn,
    OrderOut,
    OrderPickTaskIn,
    OrderQuery,
)
from warehouse.picking.routes import PickTaskOut
from warehouse.tasks.models import Task

api = Api("orders", __name__)


@api.post("/orders", permission="orders:write", body=NewOrderIn, response=OrderOut, status=201, idempotent=True,
          tags=["orders"], errors=(409, 422),
          summary="Take an order. Paid orders are allocated at once: per line, the nearest warehouse that can fill "
                  "the whole order, else line by line nearest first, reserving bins and lots first-expiry-first-"
                  "out; what cannot be reserved is backordered. The same external_id with the same body answers "
                  "the existing order (200); with another body 409. Honours Idempotency-Key.")
def create_order(session: Session, actor: Principal, body: dict[str, Any]) -> Order | WithStatus:
    order, created = services.create_order(session, actor_id=actor.user_id, **body)
    return order if created else WithStatus(order, 200)


@api.get("/orders", permission="stock:read", query=OrderQuery, response=OrderOut, paginated=True, tags=["orders"],
         errors=(422,), summary="Orders, newest first; filter by status or external_id (pages: page, per_page)")
def list_orders(session: Session, query: dict[str, Any]) -> Page:
    return services.list_orders(session, query)


@api.get("/orders/<int:order_id>", permission="stock:read", response=OrderOut, tags=["orders"], errors=(404,),
         summary="An order with what each line holds where")
def get_order(session: Session, order_id: int) -> Order:
    return services.get_order(session, order_id)


@api.post("/orders/<int:order_id>/pay", permission="orders:write", response=OrderOut, idempotent=True,
          tags=["orders"], errors=(404, 409),
          summary="The order is paid: check and reserve stock now, atomically (409 if already paid or cancelled)")
def pay_order(session: Session, actor: Principal, order_id: int) -> Order:
    return services.pay(session, order_id=order_id, actor_id=actor.user_id)


@api.post("/orders/<int:order_id>/allocate", permission="orders:write", response=OrderOut, idempotent=True,
          tags=["orders"], errors=(404, 409),
          summary="Retry a backordered or partially allocated order (e.g. after goods arrived); what is "
                  "reserved already stays")
def allocate_order(session: Session, actor: Principal, order_id: int) -> Order:
    return services.allocate(session, order_id=order_id, actor_id=actor.user_id)


@api.post("/orders/<int:order_id>/cancel", permission="orders:write", response=OrderOut, idempotent=True,
          tags=["orders"], errors=(404, 409),
          summary="Cancel: release every reservation (409 once it is being picked or picked)")
def cancel_order(session: Session, actor: Principal, order_id: int) -> Order:
    return services.cancel(session, order_id=order_id, actor_id=actor.user_id)


@api.post("/orders/<int:order_id>/ship", permission="tasks:work", response=OrderOut, idempotent=True,
          tags=["orders"], errors=(404, 409),
          summary="Ship what has passed the pack check: the packed units move from the packing station to the "
                  "customer in one transaction, the lines count them as shipped and order.shipped is announced "
                  "with the lots. What is not packed yet ships on a later call (409 if nothing is ready). "
                  "Honours Idempotency-Key.")
def ship_order(session: Session, actor: Principal, order_id: int, idempotency_key: str | None = None) -> Order:
    return services.ship(session, order_id=order_id, actor_id=actor.user_id, idempotency_key=idempotency_key)


@api.put("/orders/<int:order_id>/lines", permission="orders:write", body=OrderLinesIn, response=OrderOut,
         idempotent=True, tags=["orders"], errors=(404, 409, 422),
         summary="Replace the lines (until picking starts): reservations are released and the order re-allocated")
def replace_lines(session: Session, actor: Principal, order_id: int, body: dict[str, Any]) -> Order:
    return services.replace_lines(session, order_id=order_id, actor_id=actor.user_id, **body)


@api.post("/orders/pick-tasks", permission="tasks:manage", body=OrderPickTaskIn, response=PickTaskOut,
          status=201, idempotent=True, tags=["orders", "picking"], errors=(409, 422),
          summary="One pick task for what the orders hold reserved in the warehouse: the lines take over those "
                  "reservations (nothing is reserved twice); picking them marks the allocations picked")
def create_pick_task(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_pick_task(session, actor_id=actor.user_id, **body)


@api.get("/availability", permission="stock:read", query=AvailabilityQuery, response=AvailabilityOut,
         tags=["orders"], errors=(422,),
         summary="Available to promise of a SKU per warehouse and in total (pickable bins: on hand - reserved)")
def availability(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return services.availability(session, sku=query["sku"])
