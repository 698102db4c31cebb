from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api
from warehouse.picking import services
from warehouse.schemas import Code, StrictInteger, Text
from warehouse.tasks.models import Task, Workflow
from warehouse.tasks.schemas import TaskLineOut, TaskOut
from warehouse.tasks.services import get_task

api = Api("picking", __name__)


class OrderLineIn(Schema):
    sku = Code(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000_000))


class OrderIn(Schema):
    order = Text(required=True, max_length=64, metadata={"description": "The order's reference."})
    lines = fields.List(fields.Nested(OrderLineIn), required=True, validate=validate.Length(min=1, max=1000))


class PickTaskIn(Schema):
    warehouse = Code(required=True, max_length=32)
    orders = fields.List(fields.Nested(OrderIn), required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "Orders picked together in one walk; when stock is scarce "
                                                  "the first listed gets it first."})
    packing = Code(metadata={"description": "Packing location the goods go to; default: the warehouse's first."})


class PickLineOut(TaskLineOut):
    order = fields.Function(lambda line: line.details.get("order"),
                            metadata={"description": "The order this line is picked (or packed) for."})


class PickTaskOut(TaskOut):
    lines = fields.List(fields.Nested(PickLineOut))


@api.post("/pick-tasks", permission="tasks:manage", body=PickTaskIn, response=PickTaskOut, status=201,
          idempotent=True, tags=["picking"], errors=(409, 422),
          summary="Pick several orders in one walk: reserves stock (first expiry first out, else first in first "
                  "out) and lists the lines in walking order. What cannot be reserved is in details.short; "
                  "409 if nothing can be. Honours Idempotency-Key.")
def create_pick_task(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_pick_task(session, actor_id=actor.user_id, **body)


@api.get("/pick-tasks/<int:task_id>", permission="stock:read", response=PickTaskOut, tags=["picking"],
         errors=(404,), summary="A pick task with the order of each line")
def get_pick_task(session: Session, task_id: int) -> Task:
    return get_task(session, task_id, workflow=Workflow.PICKING)


@api.get("/pick-tasks/<int:task_id>/packing", permission="stock:read", response=PickTaskOut, tags=["picking"],
         errors=(404,), summary="The pack-station check of a pick task's goods; 404 until every line is picked")
def get_packing_task(session: Session, task_id: int) -> Task:
    return services.packing_task_of(session, get_task(session, task_id, workflow=Workflow.PICKING))
