from __future__ import annotations

from marshmallow import Schema, fields


class HealthOut(Schema):
    status = fields.String(metadata={"description": "`ok`, `unmigrated` or `unavailable`"})
    version = fields.String()
    database = fields.String(metadata={"description": "`sqlite` or `postgresql`"})
    schema_revision = fields.String(allow_none=True)
    error = fields.String()
