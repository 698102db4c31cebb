from __future__ import annotations

from marshmallow import Schema, fields, validate

from warehouse.accounts.models import ALL_PERMISSIONS, Role
from warehouse.schemas import Code, PageQuery, StrictBoolean, StrictInteger, Text

ROLES = [r.value for r in Role]
LOCALES = ["en", "de", "nl", "fr", "es", "pl"]


class BadgeLoginIn(Schema):
    badge = fields.String(required=True, validate=validate.Length(min=1, max=64))
    pin = fields.String(required=True, validate=validate.Length(min=1, max=16))
    device = fields.String(validate=validate.Length(max=120))


class PasswordLoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    totp = fields.String(validate=validate.Length(max=16))
    device = fields.String(validate=validate.Length(max=120))


class TotpEnrolIn(Schema):
    enrolment_token = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    active = fields.Boolean()
    locale = fields.String()
    badge = fields.String(attribute="badge_code")
    totp_enabled = fields.Boolean()
    locked_until = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class SessionOut(Schema):
    status = fields.String(metadata={"description": "`signed_in` or `totp_enrolment_required`"})
    user = fields.Nested(UserOut)
    csrf_token = fields.String(metadata={"description": "Send as the X-CSRF-Token header on every "
                                                        "state-changing request made with the session cookie."})
    expires_at = fields.DateTime()
    enrolment = fields.Dict(metadata={"description": "On first sign-in: `secret`, `otpauth_uri`, "
                                                     "`enrolment_token` to finish TOTP enrolment."})


class MeOut(Schema):
    user_id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda p: p.role.value)
    permissions = fields.Function(lambda p: sorted(p.permissions))
    via = fields.String()
    locale = fields.String()
    csrf_token = fields.String(allow_none=True)


class UserIn(Schema):
    username = Code(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    display_name = Text(max_length=120)
    password = fields.String(validate=validate.Length(max=1024))
    badge = Code()
    pin = fields.String(validate=validate.Length(max=16))
    locale = fields.String(validate=validate.OneOf(LOCALES), load_default="en")


class UserPatch(Schema):
    display_name = Text(max_length=120)
    active = StrictBoolean()
    locale = fields.String(validate=validate.OneOf(LOCALES))
    password = fields.String(validate=validate.Length(max=1024))
    pin = fields.String(validate=validate.Length(max=16))


class MePatch(Schema):
    """What anyone signed in may change about themselves (the screen language); nothing else."""

    locale = fields.String(required=True, validate=validate.OneOf(LOCALES),
                           metadata={"description": "Language of the screens: " + ", ".join(LOCALES)})


class UserQuery(PageQuery):
    role = fields.String(validate=validate.OneOf(ROLES))


class TokenIn(Schema):
    user = Code(required=True, metadata={"description": "Username the token acts as."})
    name = Text(required=True, max_length=120)
    scopes = fields.List(fields.String(validate=validate.OneOf(sorted(ALL_PERMISSIONS))),
                         metadata={"description": "Defaults to everything the user's role may do."})
    expires_in_days = StrictInteger(validate=validate.Range(min=1, max=3650))


class TokenOut(Schema):
    id = fields.Integer()
    user = fields.Function(lambda t: t.user.username)
    name = fields.String()
    prefix = fields.String()
    scopes = fields.List(fields.String())
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "The bearer token. Shown only in this response."})


class LoginEventOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    identifier = fields.String()
    method = fields.String()
    success = fields.Boolean()
    reason = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    flagged = fields.Boolean()
    flag_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LoginEventQuery(PageQuery):
    flagged = fields.Boolean()
    user = Code()
