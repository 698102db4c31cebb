"""Signing in: badge + PIN for operators, password + TOTP for supervisors and admins, lockout and
address throttling, TOTP enrolment, unusual sign-ins, and what deactivating someone ends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from tests.conftest import CAST_PASSWORD, CAST_TOTP_SECRET, Api, make_test_app, totp_now
from warehouse.accounts.models import User
from warehouse.db import Database

PROBLEM = "application/problem+json"
COOKIE = "warehouse_session"


# ------------------------------------------------------------------ helpers

def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"urn:warehouse:problem:{slug}"
    return body


def set_cookies(response: Any) -> list[str]:
    return [header for header in response.headers.getlist("Set-Cookie") if header.startswith(f"{COOKIE}=")]


def assert_no_session(response: Any) -> None:
    assert set_cookies(response) == []


def badge_login(client: FlaskClient, badge: str | None, pin: str | None, *, user_agent: str = "Handheld/1.0",
                address: str = "127.0.0.1") -> Any:
    return client.post("/api/v1/auth/login/badge", json={"badge": badge, "pin": pin},
                       headers={"User-Agent": user_agent}, environ_base={"REMOTE_ADDR": address})


def password_login(client: FlaskClient, username: str, password: str = CAST_PASSWORD, totp: str | None = None,
                   *, user_agent: str = "Browser/1.0", address: str = "127.0.0.1") -> Any:
    body = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post("/api/v1/auth/login/password", json=body, headers={"User-Agent": user_agent},
                       environ_base={"REMOTE_ADDR": address})


def signed_in(response: Any, username: str) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "signed_in"
    assert body["user"]["username"] == username
    assert body["csrf_token"]
    assert len(set_cookies(response)) == 1
    return body


def login_events(api: Api, **query: str) -> list[dict[str, Any]]:
    """Sign-in attempts, oldest first."""
    args = "&".join(f"{k}={v}" for k, v in {"per_page": "500", **query}.items())
    return list(reversed(api.ok("GET", f"/api/v1/security/login-events?{args}")))


def other_code(secret: str) -> str:
    """A 6-digit code the authenticator is not showing now (nor for a minute and a half either side)."""
    totp, now = pyotp.TOTP(secret), time.time()
    valid = {totp.at(now + delta) for delta in range(-90, 91, 30)}
    return next(code for code in ("000000", "123456", "999999", "314159") if code not in valid)


def totp_last_step(db: Database, username: str) -> int:
    with db.reading() as session:
        step = session.scalar(select(User.totp_last_step).where(User.username == username))
    assert step is not None
    return step


# ------------------------------------------------------------------ apps with tighter limits

@pytest.fixture
def lockout_app(db: Database, tmp_path: Path) -> Flask:
    return make_test_app(db, tmp_path, LOGIN_MAX_FAILURES=3)


@pytest.fixture
def throttled_app(db: Database, tmp_path: Path) -> Flask:
    return make_test_app(db, tmp_path, LOGIN_ADDRESS_LIMIT=4, LOGIN_MAX_FAILURES=100)


# ------------------------------------------------------------------ operators: badge + PIN

def test_badge_and_pin_sign_in_sets_an_httponly_session_cookie(app: Flask) -> None:
    client = app.test_client()
    response = badge_login(client, "BADGE-OP1", "1111")
    body = signed_in(response, "op1")
    assert body["user"]["role"] == "operator"
    [cookie] = set_cookies(response)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    me = client.get("/api/v1/auth/me").get_json()
    assert (me["username"], me["role"], me["via"], me["csrf_token"]) == ("op1", "operator", "session",
                                                                        body["csrf_token"])


def test_a_wrong_pin_is_refused_and_looks_like_an_unknown_badge(app: Flask) -> None:
    client = app.test_client()
    wrong_pin = badge_login(client, "BADGE-OP1", "9999")
    problem = assert_problem(wrong_pin, 401, "unauthenticated")
    assert_no_session(wrong_pin)
    unknown = assert_problem(badge_login(client, "BADGE-NOBODY", "1111"), 401, "unauthenticated")
    assert unknown["detail"] == problem["detail"]
    assert_problem(client.get("/api/v1/auth/me"), 401)


def test_a_supervisor_cannot_sign_in_by_badge(app: Flask, db: Database) -> None:
    # Supervisors are never given a badge; even one slipped into the database is refused.
    with db.transaction() as session:
        session.execute(update(User).where(User.username == "super1")
                        .values(badge_code="BADGE-SUP1", pin_hash=generate_password_hash("5555")))
    client = app.test_client()
    response = badge_login(client, "BADGE-SUP1", "5555")
    assert_problem(response, 401, "unauthenticated")
    assert_no_session(response)
    assert_problem(badge_login(client, "super1", "5555"), 401)
    assert_problem(client.get("/api/v1/auth/me"), 401)


def test_an_operator_cannot_sign_in_by_password(app: Flask) -> None:
    response = password_login(app.test_client(), "op1", "1111")
    assert_problem(response, 401, "unauthenticated")
    assert_no_session(response)


# ------------------------------------------------------------------ lockout

def test_consecutive_failures_lock_the_account_until_an_admin_unlocks_it(app: Flask, api: Api) -> None:
    limit = app.config["LOGIN_MAX_FAILURES"]
    client = app.test_client()
    agent = "Zebra-TC52/11 scanner-app/3.4"
    for _ in range(limit):
        response = badge_login(client, "BADGE-OP1", "9999", user_agent=agent)
        assert_problem(response, 401, "unauthenticated")
        assert_no_session(response)

    locked = badge_login(client, "BADGE-OP1", "1111", user_agent=agent)
    problem = assert_problem(locked, 429, "account-locked")
    assert_no_session(locked)
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= app.config["LOCKOUT_MINUTES"] * 60
    assert problem["retry_after"] == retry_after
    assert api.ok("GET", "/api/v1/users/op1")["locked_until"] is not None
    # Someone else on the same handheld is not affected.
    signed_in(badge_login(app.test_client(), "BADGE-OP2", "2222", user_agent=agent), "op2")

    events = login_events(api, user="op1")
    assert [(e["success"], e["reason"]) for e in events] == [(False, "bad_credentials")] * limit + [(False, "locked")]
    assert {(e["identifier"], e["method"], e["address"], e["user_agent"]) for e in events} == {
        ("BADGE-OP1", "badge", "127.0.0.1", agent)}
    assert [e["flagged"] for e in events] == [False] * (limit - 1) + [True, False]
    assert "locked" in events[limit - 1]["flag_reason"]

    unlocked = api.ok("POST", "/api/v1/users/op1/unlock")
    assert unlocked["locked_until"] is None
    signed_in(badge_login(client, "BADGE-OP1", "1111", user_agent=agent), "op1")
    last = login_events(api, user="op1")[-1]
    assert last["success"] is True and last["flagged"] is True
    assert "failed attempts" in last["flag_reason"]


def test_a_locked_account_refuses_the_right_pin_and_the_wrong_one_alike(lockout_app: Flask) -> None:
    client = lockout_app.test_client()
    for _ in range(3):
        assert_problem(badge_login(client, "BADGE-OP1", "0000"), 401)
    assert_problem(badge_login(client, "BADGE-OP1", "0000"), 429, "account-locked")
    assert_problem(badge_login(client, "BADGE-OP1", "1111"), 429, "account-locked")


def test_only_consecutive_failures_count_towards_a_lockout(lockout_app: Flask) -> None:
    client = lockout_app.test_client()
    for _ in range(2):
        for _ in range(2):
            assert_problem(badge_login(client, "BADGE-OP1", "0000"), 401)
        signed_in(badge_login(client, "BADGE-OP1", "1111"), "op1")
    for _ in range(3):
        assert_problem(badge_login(client, "BADGE-OP1", "0000"), 401)
    assert_problem(badge_login(client, "BADGE-OP1", "1111"), 429, "account-locked")


def test_wrong_totp_codes_lock_a_password_account_too(lockout_app: Flask) -> None:
    client = lockout_app.test_client()
    for _ in range(3):
        assert_problem(password_login(client, "super1", totp=other_code(CAST_TOTP_SECRET)), 401)
    response = password_login(client, "super1", totp=totp_now())
    assert_problem(response, 429, "account-locked")
    assert "Retry-After" in response.headers


# ------------------------------------------------------------------ address throttling

def test_too_many_failures_from_one_address_refuse_every_account_from_it(throttled_app: Flask) -> None:
    client = throttled_app.test_client()
    noisy, quiet = "10.20.30.40", "10.20.30.41"
    for badge in ("BADGE-OP1", "BADGE-OP1", "BADGE-NOBODY", "BADGE-NOBODY"):
        assert_problem(badge_login(client, badge, "0000", address=noisy), 401, "unauthenticated")

    response = badge_login(client, "BADGE-OP2", "2222", address=noisy)
    problem = assert_problem(response, 429, "too-many-attempts")
    assert_no_session(response)
    assert int(response.headers["Retry-After"]) > 0
    assert problem["retry_after"] == int(response.headers["Retry-After"])
    assert_problem(password_login(client, "super1", totp=totp_now(), address=noisy), 429, "too-many-attempts")

    # The accounts themselves are fine: from another address they sign in.
    signed_in(badge_login(throttled_app.test_client(), "BADGE-OP2", "2222", address=quiet), "op2")
    signed_in(badge_login(throttled_app.test_client(), "BADGE-OP1", "1111", address=quiet), "op1")


# ------------------------------------------------------------------ password + TOTP

@pytest.mark.parametrize("username", ["super1", "admin1"])
def test_password_sign_in_needs_a_fresh_totp_code(app: Flask, api: Api, username: str) -> None:
    client = app.test_client()
    missing = password_login(client, username)
    problem = assert_problem(missing, 401, "unauthenticated")
    assert problem["totp_required"] is True
    assert "totp" in problem["errors"]
    assert_no_session(missing)

    code = totp_now()
    body = signed_in(password_login(client, username, totp=code), username)
    assert body["user"]["totp_enabled"] is True
    assert client.get("/api/v1/auth/me").get_json()["username"] == username

    replay = password_login(app.test_client(), username, totp=code)
    replayed = assert_problem(replay, 401, "unauthenticated")
    assert "totp_required" not in replayed
    assert_no_session(replay)
    events = login_events(api, user=username)
    assert [(e["success"], e["reason"]) for e in events[-2:]] == [(True, None), (False, "bad_totp")]


@pytest.mark.parametrize("username", ["super1", "admin1"])
def test_a_wrong_password_is_refused_even_with_a_good_code(app: Flask, username: str) -> None:
    response = password_login(app.test_client(), username, "not the password", totp=totp_now())
    assert_problem(response, 401, "unauthenticated")
    assert_no_session(response)
    unknown = password_login(app.test_client(), "nobody", "not the password", totp=totp_now())
    assert assert_problem(unknown, 401)["detail"] == response.get_json()["detail"]
    # The code was not used up by the refused attempt.
    signed_in(password_login(app.test_client(), username, totp=totp_now()), username)


# ------------------------------------------------------------------ TOTP enrolment

def test_a_new_supervisor_enrols_an_authenticator_on_first_sign_in(app: Flask, api: Api, db: Database) -> None:
    password = "a long enough password"
    assert_problem(api.post("/api/v1/users", {"username": "super9", "role": "supervisor", "password": "short"}),
                   422, "invalid-input")
    created = api.ok("POST", "/api/v1/users", {"username": "super9", "role": "supervisor", "password": password},
                     status=201)
    assert created["totp_enabled"] is False

    client = app.test_client()
    first = password_login(client, "super9", password)
    assert first.status_code == 200, first.get_json()
    assert_no_session(first)
    body = first.get_json()
    assert body["status"] == "totp_enrolment_required"
    assert "csrf_token" not in body
    enrolment = body["enrolment"]
    secret = enrolment["secret"]
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in enrolment["otpauth_uri"]
    assert_problem(client.get("/api/v1/auth/me"), 401)

    wrong = client.post("/api/v1/auth/totp/enrol",
                        json={"enrolment_token": enrolment["enrolment_token"], "code": other_code(secret)})
    assert_problem(wrong, 401, "unauthenticated")
    assert_no_session(wrong)
    assert api.ok("GET", "/api/v1/users/super9")["totp_enabled"] is False

    enrolled = client.post("/api/v1/auth/totp/enrol",
                           json={"enrolment_token": enrolment["enrolment_token"], "code": pyotp.TOTP(secret).now()})
    assert signed_in(enrolled, "super9")["user"]["totp_enabled"] is True
    me = client.get("/api/v1/auth/me").get_json()
    assert (me["username"], me["role"], me["via"]) == ("super9", "supervisor", "session")
    assert api.ok("GET", "/api/v1/users/super9")["totp_enabled"] is True
    # The enrolment cannot be finished a second time with the same token.
    again = app.test_client().post("/api/v1/auth/totp/enrol", json={
        "enrolment_token": enrolment["enrolment_token"], "code": pyotp.TOTP(secret).now()})
    assert_problem(again, 401)

    # From now on the password alone is not enough.
    assert assert_problem(password_login(app.test_client(), "super9", password), 401)["totp_required"] is True
    next_code = pyotp.TOTP(secret).generate_otp(totp_last_step(db, "super9") + 1)
    signed_in(password_login(app.test_client(), "super9", password, totp=next_code), "super9")


def test_an_admin_reset_makes_the_next_sign_in_enrol_again(app: Flask, api: Api) -> None:
    client = app.test_client()
    signed_in(password_login(client, "super1", totp=totp_now()), "super1")

    reset = api.ok("POST", "/api/v1/users/super1/totp/reset")
    assert reset["totp_enabled"] is False
    # The lost phone's owner is signed out everywhere...
    assert_problem(client.get("/api/v1/auth/me"), 401)
    # ...and the old authenticator no longer gets anyone in: the next sign-in enrols a new one.
    again = password_login(app.test_client(), "super1", totp=totp_now())
    assert again.status_code == 200, again.get_json()
    assert_no_session(again)
    enrolment = again.get_json()["enrolment"]
    assert again.get_json()["status"] == "totp_enrolment_required"
    assert enrolment["secret"] != CAST_TOTP_SECRET

    fresh = app.test_client()
    enrolled = fresh.post("/api/v1/auth/totp/enrol", json={"enrolment_token": enrolment["enrolment_token"],
                                                           "code": pyotp.TOTP(enrolment["secret"]).now()})
    signed_in(enrolled, "super1")
    assert api.ok("GET", "/api/v1/users/super1")["totp_enabled"] is True


def test_a_forged_enrolment_token_is_refused(app: Flask) -> None:
    response = app.test_client().post("/api/v1/auth/totp/enrol",
                                      json={"enrolment_token": "eyJ1c2VyIjoxfQ.forged.sig", "code": "123456"})
    assert_problem(response, 401, "unauthenticated")
    assert_no_session(response)


# ------------------------------------------------------------------ unusual sign-ins

def test_a_sign_in_from_a_new_device_is_flagged_for_admins(app: Flask, api: Api) -> None:
    signed_in(badge_login(app.test_client(), "BADGE-OP1", "1111", user_agent="Handheld-A/1.0"), "op1")
    signed_in(badge_login(app.test_client(), "BADGE-OP1", "1111", user_agent="Handheld-A/1.0"), "op1")
    assert login_events(api, flagged="true") == []

    signed_in(badge_login(app.test_client(), "BADGE-OP1", "1111", user_agent="Handheld-B/2.0"), "op1")
    signed_in(badge_login(app.test_client(), "BADGE-OP1", "1111", user_agent="Handheld-B/2.0"), "op1")
    signed_in(badge_login(app.test_client(), "BADGE-OP1", "1111", user_agent="Handheld-A/1.0",
                          address="192.0.2.7"), "op1")

    flagged = login_events(api, flagged="true")
    assert [(e["identifier"], e["success"], e["user_agent"], e["address"]) for e in flagged] == [
        ("BADGE-OP1", True, "Handheld-B/2.0", "127.0.0.1"),
        ("BADGE-OP1", True, "Handheld-A/1.0", "192.0.2.7")]
    assert all("new device or address" in e["flag_reason"] for e in flagged)
    assert len(login_events(api, flagged="false")) == 3

    assert_problem(api.get("/api/v1/security/login-events?flagged=true", as_="super1"), 403, "forbidden")
    assert_problem(api.get("/api/v1/security/login-events?flagged=true", as_="op1"), 403, "forbidden")


# ------------------------------------------------------------------ deactivation

def test_deactivating_an_operator_ends_their_session_and_tokens(app: Flask, api: Api) -> None:
    client = app.test_client()
    csrf = signed_in(badge_login(client, "BADGE-OP1", "1111"), "op1")["csrf_token"]
    assert client.get("/api/v1/stock").status_code == 200
    assert api.get("/api/v1/stock", as_="op1").status_code == 200

    changed = api.ok("PATCH", "/api/v1/users/op1", {"active": False})
    assert changed["active"] is False

    assert_problem(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_problem(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}), 401)
    assert_problem(api.get("/api/v1/stock", as_="op1"), 401, "unauthenticated")
    again = badge_login(app.test_client(), "BADGE-OP1", "1111")
    assert_problem(again, 401)
    assert_no_session(again)
    # Nobody else is affected.
    assert api.get("/api/v1/stock", as_="op2").status_code == 200

    # Taking them back on revives neither the old session nor the old tokens: they sign in afresh.
    api.ok("PATCH", "/api/v1/users/op1", {"active": True})
    assert_problem(client.get("/api/v1/auth/me"), 401)
    assert_problem(api.get("/api/v1/stock", as_="op1"), 401, "unauthenticated")
    tokens = api.ok("GET", "/api/v1/tokens?per_page=500")
    assert all(t["revoked_at"] for t in tokens if t["user"] == "op1")
    signed_in(badge_login(client, "BADGE-OP1", "1111"), "op1")
    assert client.get("/api/v1/auth/me").get_json()["username"] == "op1"


def test_deactivating_a_supervisor_ends_their_browser_session(app: Flask, api: Api) -> None:
    client = app.test_client()
    signed_in(password_login(client, "super1", totp=totp_now()), "super1")
    api.ok("PATCH", "/api/v1/users/super1", {"active": False})
    assert_problem(client.get("/api/v1/auth/me"), 401)
    assert_problem(api.get("/api/v1/items", as_="super1"), 401)
    assert_problem(password_login(app.test_client(), "super1", totp=totp_now()), 401)
