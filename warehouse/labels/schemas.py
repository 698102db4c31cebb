from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.schemas import Code, StrictInteger

LABEL_KINDS = ("location", "item", "sscc")


class PrintIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(LABEL_KINDS),
                         metadata={"description": "`location` (bin label), `item` or `sscc` (pallet label)"})
    code = Code(required=True,
                metadata={"description": "the location code, the SKU or the 18-digit SSCC"})
    copies = StrictInteger(load_default=1, validate=validate.Range(min=1, max=100))
    printer = fields.String(validate=validate.Length(min=1, max=300),
                            metadata={"description": "one of the printers in WAREHOUSE_LABEL_PRINTER "
                                                     "(`host:port`); default: the first"})


class PrintOut(Schema):
    kind = fields.String()
    code = fields.String()
    copies = fields.Integer()
    printer = fields.String(metadata={"description": "`host:port` the job was sent to"})
    bytes = fields.Integer(metadata={"description": "size of the ZPL job"})


class SheetQuery(Schema):
    warehouse = Code(required=True)
    zone = Code()


class DecodedOut(Schema):
    raw = fields.String(metadata={"description": "what a keyboard-wedge scanner would type: GS1 content behind "
                                                 "its AIM identifier (`]C1`, `]d2`, `]Q3`) with GS kept; send "
                                                 "it as is to POST /scans/resolve"})
    text = fields.String(metadata={"description": "the data in the symbol"})
    format = fields.String(metadata={"description": "code128, ean13, ean8, upca, upce, qrcode, datamatrix, itf, "
                                                    "code39"})
    decoder = fields.String()


class DecodeOut(Schema):
    codes = fields.List(fields.Nested(DecodedOut))
    decoder = fields.String(metadata={"description": "the decoder used"})
    ms = fields.Float(metadata={"description": "milliseconds spent decoding the image"})
