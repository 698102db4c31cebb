"""Domain errors and their RFC 9457 ``application/problem+json`` form.

Services raise these; the HTTP layer turns them into problem documents. Every problem has a
stable ``type`` (``urn:warehouse:problem:<slug>``) that clients can branch on, a human
``title`` and ``detail``, and, for invalid input, ``errors`` keyed by field.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


class DomainError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    @property
    def type(self) -> str:
        return f"urn:warehouse:problem:{self.slug}"

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class MalformedRequest(DomainError):
    status, slug, title = 400, "malformed-request", "Malformed request"


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule; ``errors`` says where."""

    status, slug, title = 422, "invalid-input", "Invalid input"

    @classmethod
    def field(cls, name: str, message: str) -> "InvalidInput":
        return cls(f"{name}: {message}", errors={name: [message]})


class Unauthenticated(DomainError):
    status, slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="warehouse"'})
        super().__init__(detail, **kwargs)


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(DomainError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class InsufficientStock(Conflict):
    slug, title = "insufficient-stock", "Not enough stock"


class IdempotencyInProgress(Conflict):
    slug, title = "idempotency-in-progress", "A request with this Idempotency-Key is still being processed"


class IdempotencyMismatch(DomainError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with a different request"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Send a JSON body (Content-Type: application/json)"


class TooManyAttempts(DomainError):
    status, slug, title = 429, "too-many-attempts", "Too many attempts"


class AccountLocked(TooManyAttempts):
    slug, title = "account-locked", "Account temporarily locked"


class ServiceUnavailable(DomainError):
    status, slug, title = 503, "unavailable", "Service unavailable"
