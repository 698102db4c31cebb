from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.scanning.models import MAX_RAW_LENGTH
from warehouse.schemas import Code, Text


class ScanIn(Schema):
    # Not a Text field: the scan must arrive untouched (GS separators, suffix keys) for the
    # normaliser and the log to see what the reader sent.
    raw = fields.String(required=True, validate=validate.Length(min=1, max=MAX_RAW_LENGTH),
                        metadata={"description": "What the scanner typed or the camera decoded, as is: AIM "
                                                 "symbology identifier, GS (U+001D) separators and the "
                                                 "suffix (CR/LF/Tab) may be included."})
    device = Text(max_length=120, metadata={"description": "The handheld or scanner, for the scan log."})
    context = Code(max_length=64, metadata={"description": "The workflow or screen the scan was made in."})


class ScanItemOut(Schema):
    sku = fields.String()
    name = fields.String()
    pack_level = fields.String(metadata={"description": "`each`, `inner`, `case` or `pallet`"})
    pack_quantity = fields.Integer(allow_none=True, metadata={"description": "Base units in one such pack."})


class ScanLotOut(Schema):
    code = fields.String()
    expiry = fields.String(allow_none=True, metadata={"description": "ISO date on record for the lot"})


class ScanLocationOut(Schema):
    code = fields.String()
    warehouse = fields.String(allow_none=True)
    type = fields.String()


class ScanBadgeOut(Schema):
    username = fields.String()
    display_name = fields.String()


class ScanResolutionOut(Schema):
    raw = fields.String()
    normalized = fields.String(metadata={"description": "The payload: no symbology identifier, leading "
                                                        "FNC1 or suffix; GS kept between fields."})
    symbology = fields.String(allow_none=True, metadata={"description": "AIM symbology identifier, e.g. `]C1`"})
    kind = fields.String(metadata={"description": "`badge`, `location`, `item`, `gtin` (not in the catalog), "
                                                  "`gs1`, `sscc`, `digital_link` or `unknown_code`"})
    matched = fields.Boolean(metadata={"description": "Whether it matched a badge, location or catalog item."})
    elements = fields.Dict(keys=fields.String(), values=fields.String(),
                           metadata={"description": "GS1 data by Application Identifier, as scanned; a bare "
                                                    "GTIN appears as `01`, padded to 14 digits."})
    dates = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "Every date AI as an ISO date (day 00 = end of month)."})
    item = fields.Nested(ScanItemOut, allow_none=True)
    lot = fields.Nested(ScanLotOut, allow_none=True,
                        metadata={"description": "The item's existing lot with the scanned (10) code."})
    expiry = fields.String(allow_none=True, metadata={"description": "(17) as an ISO date"})
    quantity = fields.Integer(allow_none=True, metadata={"description": "Base units: (30)/(37) count times "
                                                                        "the pack size, or the pack size."})
    net_weight_kg = fields.String(allow_none=True, metadata={"description": "(310n) as a decimal string"})
    serial = fields.String(allow_none=True)
    sscc = fields.String(allow_none=True)
    po = fields.String(allow_none=True, metadata={"description": "(400) the customer's purchase order"})
    location = fields.Nested(ScanLocationOut, allow_none=True)
    badge = fields.Nested(ScanBadgeOut, allow_none=True)
