from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.accounts import services
from warehouse.accounts.models import ApiToken, LoginEvent, User
from warehouse.accounts.principal import Principal
from warehouse.accounts.schemas import (
    BadgeLoginIn,
    LoginEventOut,
    LoginEventQuery,
    MeOut,
    MePatch,
    NewTokenOut,
    PasswordLoginIn,
    SessionOut,
    TokenIn,
    TokenOut,
    TotpEnrolIn,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)
from warehouse.api import ANY_USER, SESSION_COOKIE, Api, Page, current_db, json_body, json_response, load
from warehouse.queries import paginate
from warehouse.schemas import PageQuery

api = Api("accounts", __name__)


def _client(device: str | None = None) -> services.Client:
    return services.Client(address=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                           device=device)


def _signed_in(run: Any) -> Response:
    """Run a sign-in use case, commit what it recorded, then answer (error or session cookie)."""
    policy = services.LoginPolicy.from_config(current_app.config)
    with current_db().transaction() as session:
        outcome = run(session, policy)
        if outcome.error is None and outcome.enrolment is None:
            payload = SessionOut().dump({"status": "signed_in", "user": outcome.user,
                                         "csrf_token": outcome.auth_session.csrf_token,
                                         "expires_at": outcome.auth_session.expires_at})
        elif outcome.enrolment is not None:
            payload = SessionOut().dump({"status": "totp_enrolment_required", "user": outcome.user,
                                         "enrolment": outcome.enrolment})
    if outcome.error is not None:
        raise outcome.error
    response = json_response(payload, 200)
    if outcome.session_token:
        response.set_cookie(SESSION_COOKIE, outcome.session_token, httponly=True, samesite="Lax",
                            secure=current_app.config["SECURE_COOKIES"],
                            max_age=int(policy.session_lifetime.total_seconds()), path="/")
    return response


@api.post("/auth/login/badge", permission=None, public=True, raw=True, body=BadgeLoginIn, response=SessionOut,
          summary="Sign in on a handheld with a badge scan and PIN (operators)", tags=["auth"],
          errors=(401, 429))
def login_badge() -> Response:
    body = load(BadgeLoginIn, json_body(), where="body", refuse_nul=True)
    return _signed_in(lambda session, policy: services.login_with_badge(
        session, badge=body["badge"].strip(), pin=body["pin"], client=_client(body.get("device")), policy=policy))


@api.post("/auth/login/password", permission=None, public=True, raw=True, body=PasswordLoginIn,
          response=SessionOut, tags=["auth"], errors=(401, 429),
          summary="Sign in with username, password and TOTP code (supervisors, admins). The first "
                  "sign-in answers `totp_enrolment_required` with a secret to add to an authenticator.")
def login_password() -> Response:
    body = load(PasswordLoginIn, json_body(), where="body", refuse_nul=True)
    return _signed_in(lambda session, policy: services.login_with_password(
        session, username=body["username"].strip(), password=body["password"], totp_code=body.get("totp"),
        client=_client(body.get("device")), policy=policy))


@api.post("/auth/totp/enrol", permission=None, public=True, raw=True, body=TotpEnrolIn, response=SessionOut,
          summary="Finish TOTP enrolment with the first code from the authenticator; signs in.",
          tags=["auth"], errors=(401, 429))
def enrol_totp() -> Response:
    body = load(TotpEnrolIn, json_body(), where="body", refuse_nul=True)
    return _signed_in(lambda session, policy: services.complete_enrolment(
        session, enrolment_token=body["enrolment_token"], code=body["code"], client=_client(), policy=policy))


@api.post("/auth/logout", permission=ANY_USER, status=204, summary="End this browser session", tags=["auth"])
def logout(session: Session, actor: Principal) -> None:
    if actor.session_id is not None:
        services.logout(session, session_id=actor.session_id)


@api.get("/auth/me", permission=ANY_USER, response=MeOut, tags=["auth"],
         summary="Who is signed in, their permissions, and the CSRF token of a cookie session")
def me(session: Session, actor: Principal) -> Principal:
    return actor


@api.patch("/auth/me", permission=ANY_USER, body=MePatch, response=MeOut, tags=["auth"], errors=(422,),
           summary="Change your own screen language (any signed-in user; only your own record, audited)")
def update_me(session: Session, actor: Principal, body: dict[str, Any]) -> Principal:
    services.update_user(session, username=actor.username, actor_id=actor.user_id, locale=body["locale"])
    return dataclasses.replace(actor, locale=body["locale"])


@api.get("/users", permission="users:manage", query=UserQuery, response=UserOut, paginated=True,
         summary="List users", tags=["users"])
def list_users(session: Session, query: dict[str, Any]) -> Page:
    statement = select(User).order_by(User.username)
    if "role" in query:
        statement = statement.where(User.role == query["role"])
    return paginate(session, statement, query)


@api.post("/users", permission="users:manage", body=UserIn, response=UserOut, status=201, tags=["users"],
          summary="Create a user: operators get a badge and PIN, supervisors and admins a password, "
                  "integrations neither (give them a token)", errors=(409, 422))
def create_user(session: Session, actor: Principal, body: dict[str, Any]) -> User:
    return services.create_user(session, actor_id=actor.user_id, **body)


@api.get("/users/<username>", permission="users:manage", response=UserOut, summary="One user", tags=["users"],
         errors=(404,))
def get_user(session: Session, username: str) -> User:
    return services.get_user(session, username)


@api.patch("/users/<username>", permission="users:manage", body=UserPatch, response=UserOut, tags=["users"],
           summary="Change a user's name, language, password or PIN, or deactivate them (ends their sessions)",
           errors=(404, 422))
def update_user(session: Session, actor: Principal, username: str, body: dict[str, Any]) -> User:
    return services.update_user(session, username=username, actor_id=actor.user_id, **body)


@api.post("/users/<username>/unlock", permission="users:manage", response=UserOut, tags=["users"],
          summary="Lift a lockout after failed sign-ins", errors=(404,))
def unlock_user(session: Session, actor: Principal, username: str) -> User:
    return services.unlock_user(session, username=username, actor_id=actor.user_id)


@api.post("/users/<username>/totp/reset", permission="users:manage", response=UserOut, tags=["users"],
          summary="Forget a user's authenticator (lost phone); they enrol again at next sign-in", errors=(404,))
def reset_totp(session: Session, actor: Principal, username: str) -> User:
    return services.reset_totp(session, username=username, actor_id=actor.user_id)


@api.get("/tokens", permission="users:manage", query=PageQuery, response=TokenOut, paginated=True,
         summary="List API tokens (never the tokens themselves)", tags=["tokens"])
def list_tokens(session: Session, query: dict[str, Any]) -> Page:
    return paginate(session, select(ApiToken).order_by(ApiToken.id), query)


@api.post("/tokens", permission="users:manage", body=TokenIn, response=NewTokenOut, status=201, tags=["tokens"],
          summary="Create a bearer token for a user; the token is in this response only", errors=(404, 422))
def create_token(session: Session, actor: Principal, body: dict[str, Any]) -> ApiToken:
    token, plaintext = services.create_token(session, username=body["user"], name=body["name"],
                                             scopes=body.get("scopes"), expires_in_days=body.get("expires_in_days"),
                                             actor_id=actor.user_id)
    token.token = plaintext  # type: ignore[attr-defined]
    return token


@api.delete("/tokens/<int:token_id>", permission="users:manage", response=TokenOut, tags=["tokens"],
            summary="Revoke a token at once", errors=(404,))
def revoke_token(session: Session, actor: Principal, token_id: int) -> ApiToken:
    return services.revoke_token(session, token_id=token_id, actor_id=actor.user_id)


@api.get("/security/login-events", permission="security:read", query=LoginEventQuery, response=LoginEventOut,
         paginated=True, tags=["security"],
         summary="Sign-in attempts, newest first; `flagged=true` lists the unusual ones")
def login_events(session: Session, query: dict[str, Any]) -> Page:
    statement = select(LoginEvent).order_by(LoginEvent.id.desc())
    if "flagged" in query:
        statement = statement.where(LoginEvent.flagged.is_(query["flagged"]))
    if "user" in query:
        statement = statement.join(User, LoginEvent.user_id == User.id).where(User.username == query["user"])
    return paginate(session, statement, query)
