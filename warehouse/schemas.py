"""Marshmallow building blocks shared by every area's schemas."""

from __future__ import annotations

import numbers
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate


class StrictInteger(fields.Integer):
    """A JSON integer: refuses strings, floats and booleans instead of coercing them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValidationError("Must be a whole number.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictFloat(fields.Float):
    """A JSON number (not a string, not a boolean), finite."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError("Must be a number.")
        return super()._deserialize(value, attr, data, **kwargs)


class Code(fields.String):
    """A short identifier printed on labels: trimmed, no spaces or control characters."""

    def __init__(self, max_length: int = 64, **kwargs: Any) -> None:
        kwargs.setdefault("validate", [validate.Length(min=1, max=max_length),
                                       validate.Regexp(r"^[A-Za-z0-9._:/+\-]+$",
                                                       error="Use letters, digits and . _ : / + - only.")])
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip()


class Text(fields.String):
    """Free text: trimmed, never empty when required, bounded."""

    def __init__(self, max_length: int = 200, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(min=1, max=max_length))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``; not "yes", 1 or "on"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value
