from __future__ import annotations

from dataclasses import dataclass

from warehouse.accounts.models import Role


@dataclass(frozen=True)
class Principal:
    """Who is calling, resolved from a bearer token or a session cookie; plain data, no ORM."""

    user_id: int
    username: str
    display_name: str
    role: Role
    permissions: frozenset[str]
    via: str  # "token" or "session"
    locale: str = "en"
    token_id: int | None = None
    session_id: int | None = None
    csrf_token: str | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions
