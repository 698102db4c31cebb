"""Webhook API input and output."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.schemas import PageQuery, StrictBoolean, Text


class SubscriptionIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True,
                         validate=validate.Length(max=20))
    active = StrictBoolean(load_default=True)
    description = Text(max_length=200, load_default=None)


class SubscriptionPatch(Schema):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=20))
    active = StrictBoolean()
    description = Text(max_length=200, allow_none=True)


class SubscriptionOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    description = fields.String(allow_none=True)
    created_at = fields.DateTime()
    rotated_at = fields.DateTime(allow_none=True)
    previous_secret_expires_at = fields.DateTime(allow_none=True,
                                                 metadata={"description": "until when the previous secret "
                                                                          "still signs (after a rotation)"})


class SubscriptionCreatedOut(SubscriptionOut):
    secret = fields.String(metadata={"description": "`whsec_...`: shown only in this answer; keep it to verify "
                                                    "deliveries"})


class AttemptOut(Schema):
    started_at = fields.DateTime()
    duration_ms = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"description": "delivered, http_error, timeout or error"})
    error = fields.String(allow_none=True)
    redelivery = fields.Boolean()


class DeliveryOut(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    msg_id = fields.String(metadata={"description": "the webhook-id header; the same on every attempt"})
    event_type = fields.String()
    seq = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptOut), data_key="attempt_log")


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    event_type = fields.String(validate=validate.Length(max=40))
