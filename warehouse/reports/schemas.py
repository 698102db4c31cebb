from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.schemas import Code

# A local day may start up to 14 hours either side of UTC (UTC-12 to UTC+14).
MAX_OFFSET_MINUTES = 14 * 60


class FloorQuery(Schema):
    warehouse = Code(max_length=32)


class FloorTaskOut(Schema):
    id = fields.Integer()
    workflow = fields.String()
    warehouse = fields.String()
    status = fields.String()
    reference = fields.String(allow_none=True)
    lines_total = fields.Integer()
    lines_done = fields.Integer()
    lines_waiting = fields.Integer(metadata={"description": "Lines waiting for a second confirmation."})
    lines_discrepancy = fields.Integer()
    last_user_id = fields.Integer(allow_none=True)
    last_activity_at = fields.DateTime(allow_none=True)


class OperatorOut(Schema):
    user_id = fields.Integer()
    display_name = fields.String()
    role = fields.String()
    last_activity_at = fields.DateTime()
    tasks = fields.List(fields.Nested(FloorTaskOut))


class FloorOut(Schema):
    warehouse = fields.String(allow_none=True)
    operators = fields.List(fields.Nested(OperatorOut), metadata={
        "description": "People with open tasks, most recently active first; each task is under the person "
                       "whose confirmation or scan on it is newest."})
    unassigned = fields.List(fields.Nested(FloorTaskOut), metadata={"description": "Open tasks nobody has touched."})
    generated_at = fields.DateTime()


class ThroughputQuery(Schema):
    warehouse = Code(max_length=32)
    date = fields.Date(metadata={"description": "The day (default: today in the given offset)."})
    utc_offset = fields.Integer(load_default=0, validate=validate.Range(min=-MAX_OFFSET_MINUTES,
                                                                         max=MAX_OFFSET_MINUTES),
                                metadata={"description": "Minutes east of UTC of the day's time zone, so hours "
                                                         "are local hours (e.g. 60 for CET)."})


class ThroughputOut(Schema):
    date = fields.Date()
    utc_offset = fields.Integer()
    warehouse = fields.String(allow_none=True)
    start = fields.DateTime(metadata={"description": "Start of hour 0, in UTC."})
    end = fields.DateTime()
    workflows = fields.List(fields.String(), metadata={
        "description": "Workflows with activity that day; `adjustment` is moves made without a task."})
    lines = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()), metadata={
        "description": "Per workflow, 24 hourly counts of lines finished (done) in that hour."})
    units = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()), metadata={
        "description": "Per workflow, 24 hourly sums of units moved by the ledger."})
    moves = fields.List(fields.Integer(), metadata={"description": "24 hourly counts of ledger moves."})


class PersonOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    active = fields.Boolean()


class StockSnapshotQuery(Schema):
    warehouse = Code(max_length=32)


class StockSnapshotRowOut(Schema):
    sku = fields.String()
    item_name = fields.String()
    warehouse = fields.String()
    location = fields.String()
    location_type = fields.String()
    lot = fields.String(allow_none=True)
    expiry = fields.Date(allow_none=True)
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class StockSnapshotOut(Schema):
    seq = fields.Integer(metadata={"description": "The ledger seq these rows reflect exactly: apply live changes "
                                                  "with a higher seq, skip the others."})
    warehouse = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(StockSnapshotRowOut))
    truncated = fields.Boolean(metadata={"description": "More rows exist than one snapshot returns (20,000)."})
