from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api
from warehouse.counting import services
from warehouse.schemas import Code, Text
from warehouse.tasks.models import Task, TaskLine, Workflow
from warehouse.tasks.schemas import TaskLineOut, TaskOut
from warehouse.tasks.services import get_task

api = Api("counting", __name__)


class CountIn(Schema):
    warehouse = Code(required=True, max_length=32)
    locations = fields.List(Code(), validate=validate.Length(min=1, max=5000))
    zone = Code(max_length=32)
    reference = Text(max_length=120)


class FoundLineIn(Schema):
    location = Code(required=True)
    sku = Code(required=True)
    lot = Code()


@api.post("/count-tasks", permission="tasks:manage", body=CountIn, response=TaskOut, status=201, idempotent=True,
          tags=["counting"], errors=(422,),
          summary="Start a blind count of some bins or a whole zone (cycle count or stocktake)")
def create_count(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_count(session, actor_id=actor.user_id, **body)


@api.post("/count-tasks/<int:task_id>/lines", permission="tasks:work", body=FoundLineIn, response=TaskLineOut,
          status=201, idempotent=True, tags=["counting"], errors=(404, 422),
          summary="Report an item found in a bin where the ledger does not place it")
def add_found(session: Session, actor: Principal, task_id: int, body: dict[str, Any]) -> TaskLine:
    task = get_task(session, task_id, workflow=Workflow.COUNTING)
    return services.add_found_line(session, task=task, **body)
