from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.locations.models import PHYSICAL_TYPES, LocationType
from warehouse.schemas import Code, PageQuery, StrictBoolean, StrictFloat, StrictInteger, Text

LOCATION_TYPES = [t.value for t in PHYSICAL_TYPES]
ALL_LOCATION_TYPES = [t.value for t in LocationType]


class WarehouseIn(Schema):
    code = Code(required=True, max_length=32)
    name = Text(required=True)
    address = Text(max_length=1000)
    latitude = StrictFloat(required=True, validate=validate.Range(min=-90, max=90))
    longitude = StrictFloat(required=True, validate=validate.Range(min=-180, max=180))


class WarehousePatch(Schema):
    name = Text()
    address = Text(max_length=1000, allow_none=True)
    latitude = StrictFloat(validate=validate.Range(min=-90, max=90))
    longitude = StrictFloat(validate=validate.Range(min=-180, max=180))
    active = StrictBoolean()


class ZoneOut(Schema):
    code = fields.String()
    name = fields.String()


class WarehouseOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    latitude = fields.Float()
    longitude = fields.Float()
    active = fields.Boolean()
    zones = fields.List(fields.Nested(ZoneOut))
    created_at = fields.DateTime()


class ZoneIn(Schema):
    code = Code(required=True, max_length=32)
    name = Text()


class LocationIn(Schema):
    code = Code(required=True, metadata={"description": "Printed on the bin label; unique across warehouses."})
    warehouse = Code(required=True, max_length=32, metadata={"description": "Warehouse code."})
    type = fields.String(required=True, validate=validate.OneOf(LOCATION_TYPES))
    zone = Code(max_length=32)
    name = Text()
    capacity = StrictInteger(validate=validate.Range(min=1, max=1_000_000_000), allow_none=True,
                             metadata={"description": "Most units the location holds; empty for no limit."})
    walk_sequence = StrictInteger(validate=validate.Range(min=0, max=10_000_000), load_default=0,
                                  metadata={"description": "Position on the picking walk."})


class LocationPatch(Schema):
    type = fields.String(validate=validate.OneOf(LOCATION_TYPES))
    zone = Code(max_length=32, allow_none=True)
    name = Text(allow_none=True)
    capacity = StrictInteger(validate=validate.Range(min=1, max=1_000_000_000), allow_none=True)
    walk_sequence = StrictInteger(validate=validate.Range(min=0, max=10_000_000))
    active = StrictBoolean()


class LocationOut(Schema):
    id = fields.Integer()
    code = fields.String()
    type = fields.String()
    is_virtual = fields.Boolean()
    warehouse = fields.Function(lambda loc: loc.warehouse.code if loc.warehouse else None)
    zone = fields.Function(lambda loc: loc.zone.code if loc.zone else None)
    name = fields.String(allow_none=True)
    capacity = fields.Integer(allow_none=True)
    walk_sequence = fields.Integer()
    active = fields.Boolean()
    created_at = fields.DateTime()


class LocationQuery(PageQuery):
    warehouse = Code(max_length=32)
    type = fields.String(validate=validate.OneOf(ALL_LOCATION_TYPES))
    zone = Code(max_length=32)
    active = fields.Boolean()
