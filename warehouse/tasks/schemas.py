from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.schemas import Code, PageQuery, StrictInteger, Text
from warehouse.tasks.models import DiscrepancyStatus, LineStatus, Policy, TaskStatus, Workflow

WORKFLOWS = [w.value for w in Workflow]
# How a returned unit is found on inspection; only the returns workflow reads it (warehouse/returns).
RETURN_GRADES = ["resellable", "damaged", "defective", "wrong_item"]


class ConfirmIn(Schema):
    quantity = StrictInteger(required=True, validate=validate.Range(min=0, max=1_000_000_000),
                             metadata={"description": "What you counted, in base units (0 confirms an empty bin)."})
    location = fields.String(validate=validate.Length(min=1, max=1000),
                             metadata={"description": "The bin label as scanned (raw, GS and ]C1 kept)."})
    item = fields.String(validate=validate.Length(min=1, max=1000),
                         metadata={"description": "The item, case or GS1 label as scanned (raw)."})
    lot = Code()
    expiry = fields.Date()
    device = fields.String(validate=validate.Length(max=120))
    grade = fields.String(validate=validate.OneOf(RETURN_GRADES), metadata={
        "description": "Returns: the condition you found the returned unit in; required there, kept with the "
                       "confirmation everywhere."})


class TaskQuery(PageQuery):
    workflow = fields.String(validate=validate.OneOf(WORKFLOWS))
    status = fields.String(validate=validate.OneOf([s.value for s in TaskStatus]))
    warehouse = Code(max_length=32)


class TaskLineOut(Schema):
    """A line as the floor sees it: never another person's count, and never the system quantity of a count."""

    line_no = fields.Integer()
    sku = fields.Function(lambda line: line.item.sku if line.item else None)
    item_name = fields.Function(lambda line: line.item.name if line.item else None)
    lot = fields.Function(lambda line: line.lot.code if line.lot else line.details.get("lot"))
    location = fields.Function(lambda line: line.location.code if line.location else None)
    to_location = fields.Function(lambda line: line.to_location.code if line.to_location else None)
    expected_quantity = fields.Function(
        lambda line: None if line.task.workflow == Workflow.COUNTING.value else line.expected_quantity,
        metadata={"description": "Hidden (null) on counts: counters count blind."})
    status = fields.String(metadata={"enum": [s.value for s in LineStatus]})
    needs_second_person = fields.Boolean()
    round = fields.Function(lambda line: int(line.details.get("round", 1)))
    confirmed_by = fields.Method("_confirmed_by", metadata={
        "description": "Who confirmed in the current round (not what they counted)."})
    hint = fields.Function(lambda line: line.details.get("suggestion"))

    def _confirmed_by(self, line):  # type: ignore[no-untyped-def]
        current = int(line.details.get("round", 1))
        return [{"user_id": c.user_id, "stage": c.stage} for c in line.confirmations if c.round == current]


class TaskOut(Schema):
    id = fields.Integer()
    workflow = fields.String()
    warehouse = fields.Function(lambda task: task.warehouse.code)
    status = fields.String()
    policy = fields.String(metadata={"enum": [p.value for p in Policy]})
    reference = fields.String(allow_none=True)
    parent_task_id = fields.Integer(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(TaskLineOut))


class ConfirmOut(Schema):
    stage = fields.String(metadata={"description": "`first` or `second` confirmation"})
    waiting_for_second_person = fields.Boolean()
    discrepancy_id = fields.Function(lambda o: o.discrepancy.id if o.discrepancy else None)
    line = fields.Nested(TaskLineOut)
    task_status = fields.Function(lambda o: o.line.task.status)


class CancelIn(Schema):
    reason = Text(required=True)


class ConfirmationOut(Schema):
    round = fields.Integer()
    stage = fields.String()
    user_id = fields.Integer()
    quantity = fields.Integer()
    lot_code = fields.String(allow_none=True)
    expiry = fields.String(allow_none=True)
    scanned_location = fields.String(allow_none=True)
    scanned_item = fields.String(allow_none=True)
    details = fields.Dict()
    device = fields.String(allow_none=True)
    created_at = fields.DateTime()


class DiscrepancyOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    workflow = fields.Function(lambda d: d.task.workflow)
    warehouse = fields.Function(lambda d: d.task.warehouse.code)
    reference = fields.Function(lambda d: d.task.reference)
    line_no = fields.Function(lambda d: d.line.line_no)
    sku = fields.Function(lambda d: d.line.item.sku if d.line.item else None)
    location = fields.Function(lambda d: d.line.location.code if d.line.location else
                               (d.line.to_location.code if d.line.to_location else None))
    lot = fields.Function(lambda d: d.line.lot.code if d.line.lot else d.line.details.get("lot"))
    kind = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in DiscrepancyStatus]})
    expected_quantity = fields.Integer(allow_none=True)
    counted_quantity = fields.Integer(allow_none=True)
    stock_moved_since_start = fields.Boolean()
    details = fields.Dict()
    opened_at = fields.DateTime()
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    posted_seq = fields.Integer(allow_none=True)


class DiscrepancyDetailOut(DiscrepancyOut):
    confirmations = fields.Function(lambda d: ConfirmationOut(many=True).dump(d.line.confirmations))
    scans = fields.Function(lambda d: [
        {"raw": s.raw, "kind": s.kind, "error_reason": s.error_reason, "user_id": s.user_id, "device": s.device,
         "context": s.context, "at": s.created_at.isoformat()} for s in d.scans],
        metadata={"description": "Every scan the people on this line made on this task, refused ones included."})


class DiscrepancyQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in DiscrepancyStatus]))
    workflow = fields.String(validate=validate.OneOf(WORKFLOWS))
    warehouse = Code(max_length=32)
    kind = fields.String(validate=validate.Length(max=30))


REASON_CODES = ["count_correction", "damaged", "lost", "found", "supplier_short", "supplier_over",
                "mispick", "theft", "data_entry", "other"]


class ApproveIn(Schema):
    reason_code = fields.String(required=True, validate=validate.OneOf(REASON_CODES))
    reason = Text(required=True)


class DecisionIn(Schema):
    reason = Text(required=True)


class PolicyIn(Schema):
    policy = fields.String(required=True, validate=validate.OneOf([p.value for p in Policy]))
    sample_percent = StrictInteger(validate=validate.Range(min=0, max=100), load_default=10)
    two_person_from_value = fields.Decimal(places=2, allow_none=True, validate=validate.Range(min=0),
                                           metadata={"description": "Items worth at least this per unit always "
                                                                    "get a second person."})
    tolerance_units = StrictInteger(validate=validate.Range(min=0, max=1_000_000), load_default=0)
    tolerance_percent = StrictInteger(validate=validate.Range(min=0, max=100), load_default=0)


class PolicyOut(Schema):
    workflow = fields.String()
    policy = fields.String()
    sample_percent = fields.Integer()
    two_person_from_value = fields.Function(
        lambda p: None if p.two_person_from_value_minor is None else f"{p.two_person_from_value_minor / 100:.2f}")
    tolerance_units = fields.Integer()
    tolerance_percent = fields.Integer()
    updated_at = fields.DateTime(allow_none=True)
