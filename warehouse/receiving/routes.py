from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api
from warehouse.errors import InvalidInput, UnsupportedMediaType
from warehouse.receiving import services
from warehouse.schemas import Code, StrictInteger, Text
from warehouse.tasks.models import Task, TaskLine, Workflow
from warehouse.tasks.schemas import TaskLineOut, TaskOut
from warehouse.tasks.services import get_task

api = Api("receiving", __name__)


class ReceiptLineIn(Schema):
    sku = Code(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000_000))
    lot = Code()
    expiry = fields.Date()


class ReceiptIn(Schema):
    reference = Text(required=True, max_length=120, metadata={"description": "ASN or purchase order number."})
    warehouse = Code(required=True, max_length=32)
    dock = Code(metadata={"description": "Receiving location; default: the warehouse's first one."})
    supplier = Text(max_length=120)
    lines = fields.List(fields.Nested(ReceiptLineIn), required=True, validate=validate.Length(min=1, max=1000))


class UnexpectedLineIn(Schema):
    sku = Code(required=True)


@api.post("/receipts", permission="tasks:manage", body=ReceiptIn, response=TaskOut, status=201,
          idempotent=True, tags=["receiving"], errors=(422,),
          summary="Announce an expected receipt (ASN / purchase order lines); it becomes a receiving task")
def create_receipt(session: Session, actor: Principal, body: dict[str, Any]) -> Task:
    return services.create_receipt(session, actor_id=actor.user_id, **body)


@api.post("/receipts/import", permission="tasks:manage", response=TaskOut, many=True, status=201, tags=["receiving"],
          errors=(415, 422), summary="Import expected receipts from CSV (text/csv body; header reference, "
                                     "warehouse, sku, quantity[, lot, expiry, dock, supplier]); all or nothing")
def import_receipts(session: Session, actor: Principal) -> list[Task]:
    if request.mimetype not in ("text/csv", "text/plain"):
        raise UnsupportedMediaType(f"Send the CSV as text/csv, not {request.mimetype or 'nothing'}.")
    try:
        text = request.get_data(as_text=False).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.field("csv", "the file is not UTF-8") from None
    return [services.create_receipt(session, actor_id=actor.user_id, **receipt)
            for receipt in services.parse_receipts_csv(text)]


@api.post("/receipts/<int:task_id>/lines", permission="tasks:work", body=UnexpectedLineIn, response=TaskLineOut,
          status=201, idempotent=True, tags=["receiving"], errors=(404, 422),
          summary="Report goods the supplier did not announce: a line expecting nothing, counted like the others "
                  "and always reviewed")
def add_unexpected(session: Session, actor: Principal, task_id: int, body: dict[str, Any]) -> TaskLine:
    task = get_task(session, task_id, workflow=Workflow.RECEIVING)
    return services.add_unexpected_line(session, task=task, sku=body["sku"], actor_id=actor.user_id)
