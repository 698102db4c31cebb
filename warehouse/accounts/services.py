"""Users, sign-in, sessions and API tokens.

Sign-in returns an outcome instead of raising, so that the edge can commit the record of a
failed attempt (the lockout counter, the login event) before it answers with the error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, NamedTuple

import pyotp
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from warehouse.accounts.models import (
    ALL_PERMISSIONS,
    BADGE_ROLES,
    PASSWORD_ROLES,
    ROLE_PERMISSIONS,
    ApiToken,
    AuthSession,
    LoginEvent,
    Role,
    User,
)
from warehouse.accounts.principal import Principal
from warehouse.audit.services import record as audit
from warehouse.db import Database, Prepared, utcnow
from warehouse.queries import one_by_code
from warehouse.errors import (
    AccountLocked,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)

TOKEN_PREFIX = "wh_"
MIN_PASSWORD_LENGTH = 10
ENROLMENT_MAX_AGE = 600
# Recorded for the password step of a first sign-in: not a success yet, but not a failure either.
ENROLMENT_STEP = "totp_enrolment_required"


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the account does not exist keeps the response time the same,
    so timing does not tell an attacker which usernames and badges exist."""
    return generate_password_hash("not-a-real-secret")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    lockout: timedelta
    address_limit: int
    session_lifetime: timedelta
    secret_key: str

    @classmethod
    def from_config(cls, config: Any) -> "LoginPolicy":
        return cls(max_failures=config["LOGIN_MAX_FAILURES"],
                   lockout=timedelta(minutes=config["LOCKOUT_MINUTES"]),
                   address_limit=config["LOGIN_ADDRESS_LIMIT"],
                   session_lifetime=timedelta(hours=config["SESSION_HOURS"]),
                   secret_key=config["SECRET_KEY"])


@dataclass(frozen=True)
class Client:
    address: str | None
    user_agent: str | None
    device: str | None = None


@dataclass
class LoginOutcome:
    user: User | None = None
    session_token: str | None = None
    auth_session: AuthSession | None = None
    enrolment: dict[str, str] | None = None
    error: DomainError | None = None


# ---------------------------------------------------------------- users

def _validate_pin(pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidInput.field("pin", "a PIN is 4 to 8 digits")


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.field("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def create_user(session: Session, *, username: str, role: str, actor_id: int | None,
                display_name: str | None = None, password: str | None = None, badge: str | None = None,
                pin: str | None = None, locale: str = "en") -> User:
    try:
        role_enum = Role(role)
    except ValueError:
        raise InvalidInput.field("role", f"one of {', '.join(r.value for r in Role)}") from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User {username!r} already exists.")
    if role_enum in BADGE_ROLES and not (badge and pin):
        raise InvalidInput("Operators sign in with a badge and PIN: give both.",
                           errors={"badge": ["required for operators"], "pin": ["required for operators"]})
    if role_enum in PASSWORD_ROLES and not password:
        raise InvalidInput.field("password", f"required for the {role_enum.value} role")
    if role_enum not in BADGE_ROLES and (badge or pin):
        raise InvalidInput.field("badge", f"only {', '.join(r.value for r in BADGE_ROLES)} sign in by badge")
    if role_enum not in PASSWORD_ROLES and password:
        raise InvalidInput.field("password", f"the {role_enum.value} role signs in without a password")
    if badge and session.scalar(select(User.id).where(User.badge_code == badge)) is not None:
        raise Conflict(f"Badge {badge!r} is already issued to someone else.")
    if pin is not None:
        _validate_pin(pin)
    if password is not None:
        _validate_password(password)
    user = User(username=username, role=role_enum.value, display_name=display_name or username,
                locale=locale, badge_code=badge or None,
                pin_hash=generate_password_hash(pin) if pin else None,
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    audit(session, actor_id=actor_id, action="user.created", target=username, role=role_enum.value)
    return user


def update_user(session: Session, *, username: str, actor_id: int | None, **changes: Any) -> User:
    user = get_user(session, username)
    if "password" in changes:
        if user.role_enum not in PASSWORD_ROLES:
            raise InvalidInput.field("password", f"the {user.role} role signs in without a password")
        _validate_password(changes["password"])
        user.password_hash = generate_password_hash(changes.pop("password"))
        changes["password_changed"] = True
    if "pin" in changes:
        if user.role_enum not in BADGE_ROLES:
            raise InvalidInput.field("pin", f"the {user.role} role signs in without a PIN")
        _validate_pin(changes["pin"])
        user.pin_hash = generate_password_hash(changes.pop("pin"))
        changes["pin_changed"] = True
    for name in ("display_name", "active", "locale"):
        if name in changes:
            setattr(user, name, changes[name])
    if changes.get("active") is False:
        # Leaving is final for credentials: reactivation needs new tokens and a new sign-in.
        end_sessions(session, user.id)
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    audit(session, actor_id=actor_id, action="user.updated", target=username, changed=sorted(changes))
    return user


def unlock_user(session: Session, *, username: str, actor_id: int | None) -> User:
    user = get_user(session, username)
    user.locked_until = None
    user.failed_attempts = 0
    audit(session, actor_id=actor_id, action="user.unlocked", target=username)
    return user


def reset_totp(session: Session, *, username: str, actor_id: int | None) -> User:
    user = get_user(session, username)
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_step = None
    end_sessions(session, user.id)
    audit(session, actor_id=actor_id, action="user.totp_reset", target=username)
    return user


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))
                    .values(ended_at=utcnow()))


# ---------------------------------------------------------------- principals

def _principal(user: User | Any, *, via: str, scopes: Iterable[str] | None = None, token_id: int | None = None,
               session_id: int | None = None, csrf_token: str | None = None) -> Principal:
    """``user`` is a User or a row with its id, username, display_name, role and locale."""
    permissions = ROLE_PERMISSIONS[Role(user.role)]
    if scopes is not None:
        permissions = permissions & frozenset(scopes)
    return Principal(user_id=user.id, username=user.username, display_name=user.display_name,
                     role=Role(user.role), permissions=permissions, via=via, locale=user.locale,
                     token_id=token_id, session_id=session_id, csrf_token=csrf_token)


# Every request authenticates, so both lookups are prepared statements reading plain columns.
_CALLER = (User.id, User.username, User.display_name, User.role, User.locale, User.active)
_TOKEN_CALLER = Prepared(select(ApiToken.scopes, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.id, *_CALLER)
                         .join(User, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("token_hash")))
_SESSION_CALLER = Prepared(select(AuthSession.csrf_token, AuthSession.expires_at, AuthSession.ended_at, AuthSession.id,
                                  *_CALLER)
                           .join(User, AuthSession.user_id == User.id)
                           .where(AuthSession.token_hash == bindparam("token_hash")))


class _Caller(NamedTuple):
    id: int
    username: str
    display_name: str
    role: str
    locale: str | None
    active: bool


def principal_for_token(connection: Connection, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = _TOKEN_CALLER.first(connection, {"token_hash": _sha256(token)})
    if row is None:
        return None
    scopes, expires_at, revoked_at, token_id, *caller = row
    user = _Caller(*caller)
    if revoked_at or not user.active or (expires_at and expires_at <= utcnow()):
        return None
    return _principal(user, via="token", scopes=scopes, token_id=token_id)


def principal_for_session(connection: Connection, cookie: str) -> Principal | None:
    row = _SESSION_CALLER.first(connection, {"token_hash": _sha256(cookie)})
    if row is None:
        return None
    csrf_token, expires_at, ended_at, session_id, *caller = row
    user = _Caller(*caller)
    if ended_at or expires_at <= utcnow() or not user.active:
        return None
    return _principal(user, via="session", session_id=session_id, csrf_token=csrf_token)


_token_use_lock = threading.Lock()
_token_last_noted: dict[int, float] = {}


def note_token_use(db: Database, token_id: int, every_seconds: float = 60.0) -> None:
    """Record when a token was last used, at most once a minute per process (not on every call)."""
    now = time.monotonic()
    with _token_use_lock:
        if now - _token_last_noted.get(token_id, -every_seconds) < every_seconds:
            return
        _token_last_noted[token_id] = now
    with db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


# ---------------------------------------------------------------- tokens

def create_token(session: Session, *, username: str, name: str, actor_id: int | None,
                 scopes: list[str] | None = None, expires_in_days: int | None = None,
                 plaintext: str | None = None) -> tuple[ApiToken, str]:
    """Create a token; ``plaintext`` fixes its value (the demo's well-known token), else it is random."""
    user = one_by_code(session, User.username, username, noun="user", field="user")
    if not user.active:
        raise InvalidInput.field("user", f"{username} is deactivated")
    role_permissions = ROLE_PERMISSIONS[user.role_enum]
    if scopes is None:
        scopes = sorted(role_permissions)
    unknown = sorted(set(scopes) - ALL_PERMISSIONS)
    if unknown:
        raise InvalidInput.field("scopes", f"unknown scopes: {', '.join(unknown)}")
    beyond = sorted(set(scopes) - role_permissions)
    if beyond:
        raise InvalidInput.field("scopes", f"the {user.role} role cannot hold: {', '.join(beyond)}")
    plaintext = plaintext or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_sha256(plaintext), prefix=plaintext[:10],
                     scopes=sorted(scopes),
                     expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(token)
    session.flush()
    audit(session, actor_id=actor_id, action="token.created", target=username, token_id=token.id, name=name,
          scopes=token.scopes)
    return token, plaintext


def revoke_token(session: Session, *, token_id: int, actor_id: int | None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(session, actor_id=actor_id, action="token.revoked", target=token.user.username, token_id=token.id)
    return token


# ---------------------------------------------------------------- sign-in

def _record(session: Session, *, user: User | None, identifier: str, method: str, success: bool,
            reason: str | None, client: Client, flag: str | None = None) -> LoginEvent:
    event = LoginEvent(user_id=user.id if user else None, identifier=identifier[:120], method=method,
                       success=success, reason=reason, address=client.address,
                       user_agent=(client.user_agent or "")[:400] or None,
                       flagged=flag is not None, flag_reason=flag)
    session.add(event)
    return event


def _address_blocked(session: Session, client: Client, policy: LoginPolicy) -> bool:
    if client.address is None:
        return False
    since = utcnow() - policy.lockout
    failures = session.scalar(select(func.count()).select_from(LoginEvent).where(
        LoginEvent.address == client.address, LoginEvent.success.is_(False),
        func.coalesce(LoginEvent.reason, "") != ENROLMENT_STEP,
        LoginEvent.created_at >= since))
    return (failures or 0) >= policy.address_limit


def _fail(session: Session, outcome: LoginOutcome, *, user: User | None, identifier: str, method: str,
          reason: str, client: Client, policy: LoginPolicy, message: str) -> LoginOutcome:
    flag = None
    if user is not None:
        user.failed_attempts += 1
        if user.failed_attempts >= policy.max_failures:
            user.locked_until = utcnow() + policy.lockout
            flag = f"account locked after {user.failed_attempts} failed attempts"
            user.failed_attempts = 0
    _record(session, user=user, identifier=identifier, method=method, success=False, reason=reason,
            client=client, flag=flag)
    outcome.error = Unauthenticated(message)
    return outcome


def _precheck(session: Session, user: User | None, *, identifier: str, method: str, client: Client,
              policy: LoginPolicy) -> DomainError | None:
    if _address_blocked(session, client, policy):
        _record(session, user=user, identifier=identifier, method=method, success=False,
                reason="address_throttled", client=client)
        seconds = int(policy.lockout.total_seconds())
        return TooManyAttempts("Too many failed sign-ins from this address; wait and try again.",
                               headers={"Retry-After": str(seconds)}, retry_after=seconds)
    if user is not None and user.locked_until is not None and user.locked_until > utcnow():
        seconds = max(1, int((user.locked_until - utcnow()).total_seconds()))
        _record(session, user=user, identifier=identifier, method=method, success=False, reason="locked",
                client=client)
        return AccountLocked(f"Too many failed attempts: this account is locked for {seconds // 60 + 1} "
                             f"more minute(s), or until a supervisor unlocks it.",
                             headers={"Retry-After": str(seconds)}, retry_after=seconds)
    return None


def _unusual(session: Session, user: User, client: Client, policy: LoginPolicy) -> str | None:
    previous = session.execute(
        select(LoginEvent.address, LoginEvent.user_agent)
        .where(LoginEvent.user_id == user.id, LoginEvent.success.is_(True))).all()
    reasons = []
    if previous and (client.address, (client.user_agent or "")[:400] or None) not in set(previous):
        reasons.append("new device or address")
    since = utcnow() - policy.lockout
    recent_failures = session.scalar(select(func.count()).select_from(LoginEvent).where(
        LoginEvent.user_id == user.id, LoginEvent.success.is_(False),
        func.coalesce(LoginEvent.reason, "") != ENROLMENT_STEP,
        LoginEvent.created_at >= since)) or 0
    if recent_failures >= 3:
        reasons.append(f"succeeded after {recent_failures} failed attempts")
    return "; ".join(reasons) or None


def _succeed(session: Session, outcome: LoginOutcome, *, user: User, identifier: str, method: str,
             client: Client, policy: LoginPolicy) -> LoginOutcome:
    flag = _unusual(session, user, client, policy)
    user.failed_attempts = 0
    user.locked_until = None
    _record(session, user=user, identifier=identifier, method=method, success=True, reason=None,
            client=client, flag=flag)
    token = secrets.token_urlsafe(32)
    auth_session = AuthSession(user_id=user.id, token_hash=_sha256(token), csrf_token=secrets.token_urlsafe(24),
                               address=client.address, user_agent=(client.user_agent or "")[:400] or None,
                               device=client.device, expires_at=utcnow() + policy.session_lifetime)
    session.add(auth_session)
    session.flush()
    outcome.user, outcome.session_token, outcome.auth_session = user, token, auth_session
    return outcome


def login_with_badge(session: Session, *, badge: str, pin: str, client: Client,
                     policy: LoginPolicy) -> LoginOutcome:
    outcome = LoginOutcome()
    user = session.scalar(select(User).where(User.badge_code == badge, User.active.is_(True)))
    blocked = _precheck(session, user, identifier=badge, method="badge", client=client, policy=policy)
    if blocked:
        outcome.error = blocked
        return outcome
    ok = check_password_hash(user.pin_hash if user and user.pin_hash else _dummy_hash(), pin)
    if user is None or not ok or user.role_enum not in BADGE_ROLES:
        return _fail(session, outcome, user=user, identifier=badge, method="badge", reason="bad_credentials",
                     client=client, policy=policy, message="Unknown badge or wrong PIN.")
    return _succeed(session, outcome, user=user, identifier=badge, method="badge", client=client, policy=policy)


def _enrolment_serializer(policy: LoginPolicy) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(policy.secret_key, salt="totp-enrolment")


def login_with_password(session: Session, *, username: str, password: str, totp_code: str | None,
                        client: Client, policy: LoginPolicy) -> LoginOutcome:
    outcome = LoginOutcome()
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    blocked = _precheck(session, user, identifier=username, method="password", client=client, policy=policy)
    if blocked:
        outcome.error = blocked
        return outcome
    ok = check_password_hash(user.password_hash if user and user.password_hash else _dummy_hash(), password)
    if user is None or not ok or user.role_enum not in PASSWORD_ROLES:
        return _fail(session, outcome, user=user, identifier=username, method="password",
                     reason="bad_credentials", client=client, policy=policy, message="Wrong username or password.")
    if user.totp_secret is None:
        # First sign-in: the password was right, now the user must set up an authenticator.
        user.totp_pending_secret = pyotp.random_base32()
        outcome.user = user
        outcome.enrolment = {
            "secret": user.totp_pending_secret,
            "otpauth_uri": pyotp.TOTP(user.totp_pending_secret).provisioning_uri(
                name=user.username, issuer_name="Warehouse"),
            "enrolment_token": _enrolment_serializer(policy).dumps({"user": user.id}),
        }
        _record(session, user=user, identifier=username, method="password", success=False,
                reason=ENROLMENT_STEP, client=client)
        return outcome
    if not totp_code:
        outcome.error = Unauthenticated("Enter the 6-digit code from your authenticator app.",
                                        errors={"totp": ["required"]}, totp_required=True)
        return outcome
    step = _verify_totp(user.totp_secret, totp_code, after_step=user.totp_last_step)
    if step is None:
        return _fail(session, outcome, user=user, identifier=username, method="password", reason="bad_totp",
                     client=client, policy=policy, message="Wrong or already used authenticator code.")
    user.totp_last_step = step
    return _succeed(session, outcome, user=user, identifier=username, method="password", client=client,
                    policy=policy)


def _verify_totp(secret: str, code: str, *, after_step: int | None) -> int | None:
    """The time step the code belongs to (this one or a neighbour, for clock drift), or None.

    A code is accepted once: a step at or before the last one used is refused (no replay)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def complete_enrolment(session: Session, *, enrolment_token: str, code: str, client: Client,
                       policy: LoginPolicy) -> LoginOutcome:
    outcome = LoginOutcome()
    try:
        data = _enrolment_serializer(policy).loads(enrolment_token, max_age=ENROLMENT_MAX_AGE)
    except SignatureExpired:
        outcome.error = Unauthenticated("The enrolment took too long; sign in again to restart it.")
        return outcome
    except BadSignature:
        outcome.error = Unauthenticated("The enrolment token is not valid; sign in again.")
        return outcome
    user = session.get(User, data.get("user"))
    if user is None or not user.active or user.totp_pending_secret is None:
        outcome.error = Unauthenticated("No enrolment is pending for this account; sign in again.")
        return outcome
    blocked = _precheck(session, user, identifier=user.username, method="totp_enrol", client=client, policy=policy)
    if blocked:
        outcome.error = blocked
        return outcome
    step = _verify_totp(user.totp_pending_secret, code, after_step=None)
    if step is None:
        return _fail(session, outcome, user=user, identifier=user.username, method="totp_enrol",
                     reason="bad_totp", client=client, policy=policy,
                     message="That code does not match; check the app's clock and try the next code.")
    user.totp_secret, user.totp_pending_secret, user.totp_last_step = user.totp_pending_secret, None, step
    audit(session, actor_id=user.id, action="user.totp_enrolled", target=user.username, address=client.address)
    return _succeed(session, outcome, user=user, identifier=user.username, method="totp_enrol", client=client,
                    policy=policy)


def logout(session: Session, *, session_id: int) -> None:
    session.execute(update(AuthSession).where(AuthSession.id == session_id).values(ended_at=utcnow()))


def principal_of(outcome: LoginOutcome) -> Principal:
    assert outcome.user is not None and outcome.auth_session is not None
    return _principal(outcome.user, via="session", session_id=outcome.auth_session.id,
                      csrf_token=outcome.auth_session.csrf_token)


def lookup_user_ids(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).tuples().all())


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())
