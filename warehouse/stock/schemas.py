from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.schemas import Code, PageQuery, StrictInteger, Text
from warehouse.stock.ledger import MAX_QUANTITY
from warehouse.stock.services import ADJUSTMENT_COUNTERPARTS


class AdjustmentIn(Schema):
    sku = Code(required=True)
    location = Code(required=True, metadata={"description": "Code of a physical location."})
    quantity = StrictInteger(required=True, validate=validate.Range(min=-MAX_QUANTITY, max=MAX_QUANTITY),
                             metadata={"description": "Signed: positive adds found stock, negative writes off."})
    reason = Text(required=True, metadata={"description": "Why, in words; kept on the move forever."})
    reason_code = fields.String(validate=validate.OneOf(
        ["adjustment", "found", "damaged", "expired", "lost", "count_correction", "initial_stock", "other"]),
        load_default="adjustment")
    lot = Code()
    expiry = fields.Date(metadata={"description": "Expiry of a lot created by a positive adjustment."})
    serials = fields.List(Code(), validate=validate.Length(max=10_000))
    counterpart = fields.String(validate=validate.OneOf(sorted(ADJUSTMENT_COUNTERPARTS)),
                                load_default="inventory-loss",
                                metadata={"description": "The virtual location on the other side of the move."})
    device = fields.String(validate=validate.Length(max=120))


class MoveOut(Schema):
    seq = fields.Integer()
    sku = fields.Function(lambda m: m.item.sku)
    lot = fields.Function(lambda m: m.lot.code if m.lot else None)
    from_location = fields.Function(lambda m: m.from_location.code)
    to_location = fields.Function(lambda m: m.to_location.code)
    quantity = fields.Integer()
    reason = fields.String()
    reason_code = fields.String()
    serials = fields.Function(lambda m: [link.unit.serial for link in m.serials])
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class StockQuery(PageQuery):
    sku = Code()
    location = Code()
    warehouse = Code(max_length=32)
    lot = Code()
    include_empty = fields.Boolean(load_default=False)


class TotalsRowOut(Schema):
    sku = fields.String()
    item_name = fields.String()
    warehouse = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Function(lambda row: row.on_hand - row.reserved)


class StockRowOut(TotalsRowOut):
    location = fields.String()
    location_type = fields.String()
    lot = fields.String(allow_none=True)
    expiry = fields.Date(allow_none=True)


class TotalsQuery(PageQuery):
    sku = Code()
    warehouse = Code(max_length=32)


class ChangesQuery(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "Most moves per page (a transfer is two changes)."})
    sku = Code()
    warehouse = Code(max_length=32)


class ChangeOut(Schema):
    seq = fields.Integer()
    sku = fields.String()
    location = fields.String()
    warehouse = fields.String()
    lot = fields.String(allow_none=True)
    expiry = fields.Date(allow_none=True)
    quantity = fields.Integer(metadata={"description": "Signed change at this location."})
    from_location = fields.String()
    to_location = fields.String()
    reason = fields.String()
    reason_code = fields.String()
    task_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class ChangeFeedOut(Schema):
    changes = fields.List(fields.Nested(ChangeOut))
    next_after = fields.Integer(metadata={"description": "Pass as `after` to get the next page."})
    last_seq = fields.Integer(metadata={"description": "Newest seq in the ledger when this page was read."})


class InvariantOut(Schema):
    ok = fields.Boolean()
    moves = fields.Integer()
    last_seq = fields.Integer()
    breaches = fields.List(fields.String())
