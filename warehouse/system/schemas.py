from __future__ import annotations

from marshmallow import Schema, fields


class DecoderStatusOut(Schema):
    name = fields.String()
    available = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={"description": "why it cannot run (e.g. libzbar missing)"})


class HealthOut(Schema):
    status = fields.String(metadata={"description": "`ok`, `unmigrated` or `unavailable`"})
    version = fields.String()
    database = fields.String(metadata={"description": "`sqlite` or `postgresql`"})
    schema_revision = fields.String(allow_none=True)
    error = fields.String()
    decoders = fields.List(fields.Nested(DecoderStatusOut),
                           metadata={"description": "camera-frame barcode decoders and whether they can run here"})
    decoder = fields.String(allow_none=True, metadata={"description": "the one POST /scans/decode uses; null: none "
                                                                      "can run"})
    screens_missing_files = fields.List(fields.String(), metadata={
        "description": "front-end files of the handheld and dashboard that `npm ci` has not installed (the API "
                       "works without them; the screens do not): empty when all is in place"})
