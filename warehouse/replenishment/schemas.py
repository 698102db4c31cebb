from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.replenishment.models import PurchaseOrderStatus
from warehouse.schemas import Code, PageQuery, StrictInteger, Text

LIMIT = 1_000_000_000


class RuleIn(Schema):
    sku = Code(required=True)
    warehouse = Code(required=True, max_length=32)
    location = Code(metadata={"description": "A pick face of the warehouse: refilled from its reserve bins. "
                                             "Without one the rule watches the warehouse's total."})
    minimum = StrictInteger(required=True, validate=validate.Range(min=0, max=LIMIT),
                            metadata={"description": "Below this many available units, replenish."})
    maximum = StrictInteger(required=True, validate=validate.Range(min=1, max=LIMIT),
                            metadata={"description": "Replenish up to this many available units."})
    supplier = Text(max_length=120, metadata={"description": "Warehouse rules: whom the purchase order goes to; "
                                                             "drafts are grouped by supplier."})


class RuleQuery(PageQuery):
    warehouse = Code(max_length=32)
    sku = Code()


class RuleOut(Schema):
    id = fields.Integer()
    sku = fields.Function(lambda rule: rule.item.sku)
    warehouse = fields.Function(lambda rule: rule.warehouse.code)
    location = fields.Function(lambda rule: rule.location.code if rule.location else None)
    minimum = fields.Integer()
    maximum = fields.Integer()
    supplier = fields.String(allow_none=True)
    low = fields.Boolean(metadata={"description": "Below the minimum since it last crossed it."})
    open_task_id = fields.Integer(allow_none=True)
    open_purchase_order_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class PurchaseOrderQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([status.value for status in PurchaseOrderStatus]))
    warehouse = Code(max_length=32)


class PurchaseOrderLineOut(Schema):
    sku = fields.Function(lambda line: line.item.sku)
    quantity = fields.Integer()
    rule_id = fields.Integer(allow_none=True)


class PurchaseOrderOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    warehouse = fields.Function(lambda order: order.warehouse.code)
    supplier = fields.String(allow_none=True)
    status = fields.String()
    receipt_task_id = fields.Integer(allow_none=True)
    lines = fields.List(fields.Nested(PurchaseOrderLineOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
