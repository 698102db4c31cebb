from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from warehouse.catalog.models import PACK_LEVELS, Tracking
from warehouse.schemas import Code, PageQuery, StrictBoolean, StrictInteger, Text

TRACKING = [t.value for t in Tracking]


class PackSizeIn(Schema):
    level = fields.String(required=True, validate=validate.OneOf(PACK_LEVELS))
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000))
    gtin = fields.String(validate=validate.Length(max=14),
                         metadata={"description": "The GTIN printed on this pack level (e.g. a case GTIN-14)."})


class ItemIn(Schema):
    sku = Code(required=True)
    name = Text(required=True)
    description = Text(max_length=2000)
    uom = fields.String(validate=validate.Length(min=1, max=16), load_default="each")
    gtins = fields.List(fields.String(validate=validate.Length(max=14)), load_default=list,
                        validate=validate.Length(max=50),
                        metadata={"description": "GTIN-8/12/13/14 of single units; stored as 14 digits."})
    aliases = fields.List(Code(), load_default=list, validate=validate.Length(max=50),
                          metadata={"description": "Other codes that identify the item when scanned."})
    pack_sizes = fields.List(fields.Nested(PackSizeIn), load_default=list, validate=validate.Length(max=4))
    tracking = fields.String(validate=validate.OneOf(TRACKING), load_default=Tracking.NONE.value)
    expiry_tracked = StrictBoolean(load_default=False)
    unit_value = fields.Decimal(places=2, validate=validate.Range(min=0, max=Decimal("99999999")),
                                load_default=Decimal(0), allow_nan=False)


class ItemPatch(Schema):
    name = Text()
    description = Text(max_length=2000, allow_none=True)
    uom = fields.String(validate=validate.Length(min=1, max=16))
    gtins = fields.List(fields.String(validate=validate.Length(max=14)), validate=validate.Length(max=50))
    aliases = fields.List(Code(), validate=validate.Length(max=50))
    pack_sizes = fields.List(fields.Nested(PackSizeIn), validate=validate.Length(max=4))
    tracking = fields.String(validate=validate.OneOf(TRACKING))
    expiry_tracked = StrictBoolean()
    unit_value = fields.Decimal(places=2, validate=validate.Range(min=0, max=Decimal("99999999")), allow_nan=False)
    active = StrictBoolean()


class PackSizeOut(Schema):
    level = fields.String()
    quantity = fields.Integer()


class ItemOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    uom = fields.String()
    tracking = fields.String()
    expiry_tracked = fields.Boolean()
    unit_value = fields.Function(lambda item: f"{item.unit_value_minor / 100:.2f}")
    active = fields.Boolean()
    gtins = fields.List(fields.String())
    aliases = fields.List(fields.String())
    pack_sizes = fields.Method("_pack_sizes")
    created_at = fields.DateTime()

    def _pack_sizes(self, item):  # type: ignore[no-untyped-def]
        gtin_by_level = {b.pack_level: b.code for b in item.barcodes if b.kind == "gtin" and b.pack_level != "each"}
        return [{"level": p.level, "quantity": p.quantity, "gtin": gtin_by_level.get(p.level)}
                for p in item.pack_sizes]


class ItemQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Search SKU and name."})
    active = fields.Boolean()
