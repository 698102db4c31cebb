"""People and machines that act on the warehouse, and how they prove who they are."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.db import Base, utcnow


class Role(str, enum.Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    INTEGRATION = "integration"


# What each role may do. Integration tokens may be narrowed to a subset with scopes.
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset({"catalog:read", "locations:read", "stock:read", "tasks:work"}),
    Role.SUPERVISOR: frozenset({
        "catalog:read", "locations:read", "stock:read", "tasks:work",
        "catalog:write", "stock:adjust", "tasks:manage", "discrepancies:review", "replenishment:manage",
        "reports:read",
    }),
    Role.ADMIN: frozenset({
        "catalog:read", "locations:read", "stock:read",
        "catalog:write", "locations:write", "stock:adjust", "tasks:manage", "discrepancies:review",
        "users:manage", "security:read", "policies:manage", "webhooks:manage", "orders:write",
        "replenishment:manage", "reports:read",
    }),
    Role.INTEGRATION: frozenset({"catalog:read", "locations:read", "stock:read", "catalog:write", "tasks:manage",
                                 "webhooks:manage", "orders:write"}),
}
ALL_PERMISSIONS: frozenset[str] = frozenset().union(*ROLE_PERMISSIONS.values())

# Roles that sign in interactively, and with what.
BADGE_ROLES = frozenset({Role.OPERATOR})
PASSWORD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    badge_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored: the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AuthSession(Base):
    """A signed-in browser or handheld. The cookie carries a random id; we keep its hash."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    device: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginEvent(Base):
    """Every sign-in attempt, successful or not, with where it came from."""

    __tablename__ = "login_events"
    __table_args__ = (Index("ix_login_events_address_created_at", "address", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(20))
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
