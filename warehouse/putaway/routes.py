from __future__ import annotations

from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api
from warehouse.putaway import services
from warehouse.schemas import Code
from warehouse.tasks.models import Task
from warehouse.tasks.schemas import TaskOut

api = Api("putaway", __name__)


class PutawayIn(Schema):
    warehouse = Code(required=True, max_length=32)
    source = Code(metadata={"description": "Put away from this location; default: every receiving location."})


@api.post("/putaway-tasks", permission="tasks:work", body=PutawayIn, response=TaskOut, status=201, idempotent=True,
          tags=["putaway"], errors=(422,),
          summary="Make a putaway task of what waits in receiving, each line with a suggested bin")
def create_putaway(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_putaway(session, actor_id=actor.user_id, **body)
