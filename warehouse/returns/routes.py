from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api
from warehouse.returns import services
from warehouse.schemas import Code, StrictInteger, Text
from warehouse.tasks.models import Task, Workflow
from warehouse.tasks.schemas import TaskLineOut, TaskOut
from warehouse.tasks.services import get_task

api = Api("returns", __name__)


class ReturnLineIn(Schema):
    sku = Code(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000_000))
    reason = Text(metadata={"description": "Why the customer returns it, as they said."})


class ReturnIn(Schema):
    rma = Text(required=True, max_length=120, metadata={"description": "The RMA number; one live return per RMA."})
    warehouse = Code(required=True, max_length=32)
    order = Text(required=True, max_length=120, metadata={
        "description": "External reference of the shipped order. Not yet checked against the order's shipped "
                       "lines: that comes with the order system."})
    customer = Text(max_length=120)
    location = Code(metadata={"description": "Returns location; default: the warehouse's first one."})
    lines = fields.List(fields.Nested(ReturnLineIn), required=True, validate=validate.Length(min=1, max=1000))


class ReturnLineOut(TaskLineOut):
    reason = fields.Function(lambda line: line.details.get("reason"))
    received = fields.Function(
        lambda line: [{k: entry[k] for k in ("quantity", "grade", "location", "lot")}
                      for entry in services.received(line)],
        metadata={"description": "What settled rounds posted, and where (never a count still being verified)."})


class ReturnOut(TaskOut):
    rma = fields.Function(lambda task: task.details.get("rma"))
    order = fields.Function(lambda task: task.details.get("order"))
    customer = fields.Function(lambda task: task.details.get("customer"))
    announced = fields.Function(lambda task: task.details.get("announced_at") is not None, metadata={
        "description": "Whether return.received has been announced (once every line is done; refunds follow it)."})
    announced_at = fields.Function(lambda task: task.details.get("announced_at"))
    lines = fields.List(fields.Nested(ReturnLineOut))


@api.post("/returns", permission="tasks:manage", body=ReturnIn, response=ReturnOut, status=201, idempotent=True,
          tags=["returns"], errors=(409, 422),
          summary="Announce a customer return (RMA) against a shipped order's external reference; it becomes a "
                  "returns task, graded and verified by two people. Honours Idempotency-Key.")
def create_return(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_return(session, actor_id=actor.user_id, **body)


@api.get("/returns/<int:task_id>", permission="stock:read", response=ReturnOut, tags=["returns"], errors=(404,),
         summary="A return, blind like every task, with whether return.received has been announced")
def get_return(session: Session, task_id: int) -> Task:
    return get_task(session, task_id, workflow=Workflow.RETURNS)
