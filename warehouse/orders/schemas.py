from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from warehouse.orders.models import OrderStatus
from warehouse.orders.services import allocations_of, shipped_of
from warehouse.schemas import Code, PageQuery, StrictBoolean, StrictFloat, StrictInteger, Text

MAX_LINES = 1000


class ShipToIn(Schema):
    latitude = StrictFloat(validate=validate.Range(min=-90, max=90))
    longitude = StrictFloat(validate=validate.Range(min=-180, max=180))
    postcode = Text(max_length=16, metadata={"description": "With country, instead of coordinates: looked up in "
                                                            "the postcode table (`warehouse postcodes load`)."})
    country = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$", error="Use the ISO 3166 two-letter code."))

    @validates_schema
    def _somewhere(self, data: dict[str, Any], **kwargs: Any) -> None:
        has_coordinates = "latitude" in data or "longitude" in data
        if has_coordinates and not ("latitude" in data and "longitude" in data):
            raise ValidationError("Give both latitude and longitude.", "latitude" if "latitude" not in data
                                  else "longitude")
        if not has_coordinates and not ("postcode" in data and "country" in data):
            raise ValidationError("Give latitude and longitude, or postcode and country.", "_schema")


class OrderItemIn(Schema):
    sku = Code(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000_000))


class NewOrderIn(Schema):
    external_id = Text(required=True, max_length=64, metadata={"description": "The order system's id; unique."})
    paid = StrictBoolean(required=True, metadata={"description": "Paid orders are allocated at once."})
    ship_to = fields.Nested(ShipToIn, required=True)
    lines = fields.List(fields.Nested(OrderItemIn), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class OrderLinesIn(Schema):
    lines = fields.List(fields.Nested(OrderItemIn), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class OrderPickTaskIn(Schema):
    warehouse = Code(required=True, max_length=32)
    orders = fields.List(StrictInteger(), required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "Ids of orders whose reservations in the warehouse are picked."})
    packing = Code(metadata={"description": "Packing location the goods go to; default: the warehouse's first."})


class AllocationOut(Schema):
    warehouse = fields.String()
    location = fields.String()
    lot = fields.String(allow_none=True)
    quantity = fields.Integer()


class OrderLineOut(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    backordered = fields.Integer()
    shipped = fields.Function(shipped_of, metadata={"description": "Units that have left for the customer."})
    # Module-level schema instances below: a schema built per dumped line or order cost more than the dump.
    allocations = fields.Function(lambda line: _ALLOCATIONS_OUT.dump(allocations_of(line)))


class ShipToOut(Schema):
    latitude = fields.Float()
    longitude = fields.Float()
    postcode = fields.String(allow_none=True)
    country = fields.String(allow_none=True)


_ALLOCATIONS_OUT = AllocationOut(many=True)
_SHIP_TO_OUT = ShipToOut()


class OrderOut(Schema):
    id = fields.Integer()
    external_id = fields.String()
    status = fields.String()
    paid = fields.Boolean()
    ship_to = fields.Function(lambda order: _SHIP_TO_OUT.dump(order))
    lines = fields.List(fields.Nested(OrderLineOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrderQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([status.value for status in OrderStatus]))
    external_id = Text(max_length=64)


class AvailabilityQuery(Schema):
    sku = Code(required=True)


class WarehouseAvailabilityOut(Schema):
    warehouse = fields.String()
    available = fields.Integer()


class AvailabilityOut(Schema):
    sku = fields.String()
    available = fields.Integer()
    warehouses = fields.List(fields.Nested(WarehouseAvailabilityOut))
