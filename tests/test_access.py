"""Who may call what: every route refuses strangers, roles and token scopes are enforced on the
server, and cookie sessions need the CSRF header for anything that changes state."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.routing import IntegerConverter, PathConverter, Rule

from tests.conftest import Api, CastMember, table_counts, totp_now
from warehouse.accounts.models import ROLE_PERMISSIONS, ApiToken, AuthSession, Role
from warehouse.db import Database, utcnow

PROBLEM = "application/problem+json"

# Everything a caller may reach without signing in. Adding a public route means adding it here,
# on purpose; anything else that answers an anonymous caller fails the walk below.
PUBLIC_ROUTES = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login/badge"),
    ("POST", "/api/v1/auth/login/password"),
    ("POST", "/api/v1/auth/totp/enrol"),
    ("GET", "/signin"),
    ("GET", "/static/<path:filename>"),
    # The handheld app shell: it signs operators in on its own screen and shows nothing before that.
    ("GET", "/"),
    ("GET", "/ui/static/<path:filename>"),
    ("GET", "/ui/vendor/<name>"),
    ("GET", "/sw.js"),
}
# Pages for people: an anonymous visitor is sent to the sign-in page instead of getting a 401.
BROWSER_PAGES = {"/dashboard", "/api/docs"}

# Plausible values for path parameters (they name records of the `site` fixture and the cast).
PATH_VALUES = {"sku": "PLAIN", "code": "W1", "username": "op1", "token_id": 1, "filename": "signin.css",
               "name": "socket.io.min.js"}

ADJUSTMENT = {"sku": "PLAIN", "location": "W1-A1", "quantity": 5, "reason": "found behind the rack"}
NEW_ITEM = {"sku": "NEWSKU", "name": "New widget"}
NEW_WAREHOUSE = {"code": "W9", "name": "West", "latitude": 51.2, "longitude": 6.8}
NEW_USER = {"username": "newop", "role": "operator", "badge": "BADGE-NEW", "pin": "4321"}
NEW_TOKEN = {"user": "op1", "name": "sneaky"}


def routes(app: Flask) -> list[tuple[str, Rule]]:
    return sorted(((method, rule) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}), key=lambda pair: (pair[1].rule, pair[0]))


def fill(rule: Rule) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        converter = rule._converters[name]
        if name in PATH_VALUES:
            return str(PATH_VALUES[name])
        if isinstance(converter, IntegerConverter):
            return "1"
        if isinstance(converter, PathConverter):
            return "some/file.txt"
        return "X1"

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", value, rule.rule)


def send(client: FlaskClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.open(path, method=method, json=body, headers=headers or {})


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"urn:warehouse:problem:{slug}"
    return body


def is_refused(response: Any, rule: str) -> bool:
    if response.status_code == 401 and response.mimetype == PROBLEM:
        return True
    return (rule in BROWSER_PAGES and response.status_code in (302, 303)
            and response.headers["Location"].startswith("/signin"))


# ------------------------------------------------------------------ anonymous callers

def test_every_route_but_the_public_ones_refuses_anonymous_callers(app: Flask, site: dict) -> None:
    client = app.test_client()
    before = table_counts(app.extensions["warehouse.db"])
    answered = set()
    for method, rule in routes(app):
        with send(client, method, fill(rule)) as response:  # closing: static files are streamed
            if not is_refused(response, rule.rule):
                answered.add((method, rule.rule))
    assert answered == PUBLIC_ROUTES, (
        f"answered anonymously but not declared public: {sorted(answered - PUBLIC_ROUTES)}; "
        f"declared public but refused or gone: {sorted(PUBLIC_ROUTES - answered)}")
    assert table_counts(app.extensions["warehouse.db"]) == before


def test_the_public_routes_really_work_without_signing_in(app: Flask) -> None:
    client = app.test_client()
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    page = client.get("/signin")
    assert page.status_code == 200 and page.mimetype == "text/html"
    with client.get("/static/signin.css") as stylesheet:
        assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    # The sign-in endpoints read the body without asking who is calling: an empty one is invalid input.
    for path in ("/api/v1/auth/login/badge", "/api/v1/auth/login/password", "/api/v1/auth/totp/enrol"):
        assert_problem(client.post(path, json={}), 422, "invalid-input")


def test_browser_pages_send_strangers_to_the_sign_in_page(app: Flask) -> None:
    client = app.test_client()
    for page in sorted(BROWSER_PAGES):
        response = client.get(page)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/signin?next=")


def test_anonymous_refusal_says_how_to_authenticate(app: Flask) -> None:
    response = app.test_client().get("/api/v1/stock")
    body = assert_problem(response, 401, "unauthenticated")
    assert body["instance"] == "/api/v1/stock"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_openapi_marks_exactly_the_public_api_routes_as_open(api: Api) -> None:
    document = api.ok("GET", "/api/v1/openapi.json", as_="op1")
    open_operations = {(method.upper(), path) for path, item in document["paths"].items()
                       for method, operation in item.items() if operation.get("security") == []}
    assert open_operations == {(method, rule) for method, rule in PUBLIC_ROUTES if rule.startswith("/api/v1/")}


@pytest.mark.parametrize("authorization", [
    "Bearer garbage",
    "Bearer wh_thisTokenWasNeverIssuedByTheService0000000000",
    "Bearer ",
    "Basic b3AxOjExMTE=",
    "wh_token-without-a-scheme",
])
def test_bad_authorization_headers_are_refused_on_every_protected_route(app: Flask, site: dict,
                                                                         authorization: str) -> None:
    client = app.test_client()
    for method, rule in routes(app):
        if (method, rule.rule) in PUBLIC_ROUTES:
            continue
        response = send(client, method, fill(rule), headers={"Authorization": authorization})
        assert_problem(response, 401, "unauthenticated")


def test_an_unknown_session_cookie_is_refused(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie("warehouse_session", "not-a-session-anyone-was-given")
    assert_problem(client.get("/api/v1/auth/me"), 401)
    assert client.get("/dashboard").headers["Location"].startswith("/signin")


def _new_token(api: Api, **body: Any) -> dict[str, Any]:
    return api.ok("POST", "/api/v1/tokens", {"name": "temporary", **body}, status=201)


def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    token = _new_token(api, user="super1")
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert api.ok("GET", "/api/v1/auth/me", as_=None, headers=headers)["username"] == "super1"
    revoked = api.ok("DELETE", f"/api/v1/tokens/{token['id']}")
    assert revoked["revoked_at"] is not None
    for path in ("/api/v1/auth/me", "/api/v1/stock", "/api/v1/items"):
        assert_problem(api.get(path, as_=None, headers=headers), 401, "unauthenticated")
    # The other tokens of that user still work.
    assert api.ok("GET", "/api/v1/auth/me", as_="super1")["username"] == "super1"


def test_an_expired_token_is_refused(api: Api, db: Database) -> None:
    token = _new_token(api, user="super1", expires_in_days=1)
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert api.get("/api/v1/stock", as_=None, headers=headers).status_code == 200
    with db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token["id"])
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
    assert_problem(api.get("/api/v1/stock", as_=None, headers=headers), 401, "unauthenticated")


# ------------------------------------------------------------------ roles and scopes

REFUSALS = [
    ("op1", "POST", "/api/v1/stock/adjustments", ADJUSTMENT),
    ("op1", "POST", "/api/v1/items", NEW_ITEM),
    ("op1", "PATCH", "/api/v1/items/PLAIN", {"name": "Renamed by an operator"}),
    ("op1", "POST", "/api/v1/warehouses", NEW_WAREHOUSE),
    ("op1", "POST", "/api/v1/locations", {"code": "W1-Z9", "warehouse": "W1", "type": "storage"}),
    ("op1", "GET", "/api/v1/users", None),
    ("op1", "POST", "/api/v1/users", NEW_USER),
    ("op1", "POST", "/api/v1/tokens", NEW_TOKEN),
    ("op1", "GET", "/api/v1/security/login-events", None),
    ("super1", "POST", "/api/v1/warehouses", NEW_WAREHOUSE),
    ("super1", "PATCH", "/api/v1/warehouses/W1", {"name": "Renamed by a supervisor"}),
    ("super1", "POST", "/api/v1/users", NEW_USER),
    ("super1", "GET", "/api/v1/users", None),
    ("super1", "PATCH", "/api/v1/users/op1", {"active": False}),
    ("super1", "POST", "/api/v1/users/op1/unlock", None),
    ("super1", "POST", "/api/v1/tokens", NEW_TOKEN),
    ("super1", "GET", "/api/v1/security/login-events", None),
    ("shop", "POST", "/api/v1/stock/adjustments", ADJUSTMENT),
    ("shop", "POST", "/api/v1/warehouses", NEW_WAREHOUSE),
    ("shop", "GET", "/api/v1/users", None),
]


def _token_count(api: Api) -> int:
    return int(api.get("/api/v1/tokens?per_page=1").headers["X-Total-Count"])


@pytest.mark.parametrize(("who", "method", "path", "body"), REFUSALS,
                         ids=[f"{who}-{method}-{path}" for who, method, path, _ in REFUSALS])
def test_roles_are_enforced_on_the_server_and_refusals_write_nothing(
        api: Api, db: Database, site: dict, who: str, method: str, path: str, body: Any) -> None:
    before, tokens_before = table_counts(db), _token_count(api)
    response = api.request(method, path, json=body, as_=who)
    problem = assert_problem(response, 403, "forbidden")
    assert api.cast[who].role in problem["detail"]
    assert table_counts(db) == before
    assert _token_count(api) == tokens_before


ADMIN_CAN = list({(method, path): (method, path, body) for _, method, path, body in REFUSALS}.values())


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CAN, ids=[f"{m}-{p}" for m, p, _ in ADMIN_CAN])
def test_an_admin_may_do_what_the_others_were_refused(api: Api, site: dict, method: str, path: str,
                                                     body: Any) -> None:
    response = api.request(method, path, json=body, as_="admin1")
    assert response.status_code in (200, 201), (response.status_code, response.get_json())


def test_each_role_can_do_its_own_work(api: Api, site: dict) -> None:
    assert api.ok("POST", "/api/v1/stock/adjustments", ADJUSTMENT, as_="super1", status=201)["seq"] >= 1
    rows = api.ok("GET", "/api/v1/stock?sku=PLAIN", as_="op1")
    assert [(row["location"], row["on_hand"]) for row in rows] == [("W1-A1", 5)]
    assert api.ok("POST", "/api/v1/items", NEW_ITEM, as_="shop", status=201)["sku"] == "NEWSKU"
    assert api.ok("POST", "/api/v1/items", {"sku": "SUPSKU", "name": "By a supervisor"}, as_="super1",
                  status=201)["sku"] == "SUPSKU"


def test_a_token_narrowed_to_stock_read_can_only_read_stock(api: Api, db: Database, site: dict) -> None:
    api.ok("POST", "/api/v1/stock/adjustments", ADJUSTMENT, status=201)
    token = _new_token(api, user="admin1", scopes=["stock:read"])
    assert token["scopes"] == ["stock:read"]
    reader = {"Authorization": f"Bearer {token['token']}"}
    me = api.ok("GET", "/api/v1/auth/me", as_=None, headers=reader)
    assert (me["role"], me["permissions"]) == ("admin", ["stock:read"])
    rows = api.ok("GET", "/api/v1/stock?sku=PLAIN", as_=None, headers=reader)
    assert [row["on_hand"] for row in rows] == [5]
    assert api.get("/api/v1/stock/totals", as_=None, headers=reader).status_code == 200

    before = table_counts(db)
    for method, path, body in [("POST", "/api/v1/stock/adjustments", ADJUSTMENT),
                               ("POST", "/api/v1/items", NEW_ITEM),
                               ("POST", "/api/v1/warehouses", NEW_WAREHOUSE),
                               ("POST", "/api/v1/users", NEW_USER),
                               ("GET", "/api/v1/users", None),
                               ("GET", "/api/v1/items", None)]:
        assert_problem(api.request(method, path, json=body, as_=None, headers=reader), 403, "forbidden")
    assert table_counts(db) == before
    assert [row["on_hand"] for row in api.ok("GET", "/api/v1/stock?sku=PLAIN")] == [5]


def test_a_token_cannot_be_given_more_than_its_users_role(api: Api) -> None:
    before = _token_count(api)
    body = assert_problem(api.post("/api/v1/tokens", {"user": "op1", "name": "x", "scopes": ["stock:adjust"]}),
                          422, "invalid-input")
    assert "scopes" in body["errors"]
    assert _token_count(api) == before


# ------------------------------------------------------------------ cookie sessions and CSRF

def badge_sign_in(client: FlaskClient, member: CastMember) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login/badge", json={"badge": member.badge, "pin": member.pin})
    assert response.status_code == 200, response.get_json()
    assert client.get_cookie("warehouse_session") is not None
    return response.get_json()


def test_me_tells_a_cookie_session_its_role_permissions_and_csrf_token(app: Flask, cast: dict) -> None:
    client = app.test_client()
    signed_in = badge_sign_in(client, cast["op1"])
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.get_json() == {**me.get_json(), "username": "op1", "role": "operator",
                             "permissions": sorted(ROLE_PERMISSIONS[Role.OPERATOR]), "via": "session",
                             "csrf_token": signed_in["csrf_token"]}
    permissions = set(me.get_json()["permissions"])
    assert {"catalog:read", "locations:read", "stock:read"} <= permissions
    assert not {"stock:adjust", "catalog:write", "locations:write", "users:manage"} & permissions


def test_a_bearer_caller_sees_its_permissions_and_no_csrf_token(api: Api) -> None:
    me = api.ok("GET", "/api/v1/auth/me", as_="super1")
    assert (me["role"], me["via"], me["csrf_token"]) == ("supervisor", "token", None)
    assert me["permissions"] == sorted(ROLE_PERMISSIONS[Role.SUPERVISOR])
    assert {"catalog:write", "stock:adjust", "stock:read"} <= set(me["permissions"])
    assert not {"locations:write", "users:manage", "security:read"} & set(me["permissions"])


def test_cookie_session_needs_the_csrf_header_to_change_anything(app: Flask, cast: dict) -> None:
    client = app.test_client()
    csrf = badge_sign_in(client, cast["op1"])["csrf_token"]

    assert_problem(client.post("/api/v1/auth/logout"), 403, "forbidden")
    assert_problem(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf[:-1] + "x"}), 403)
    # Refused logouts did not end the session.
    assert client.get("/api/v1/auth/me").status_code == 200

    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_problem(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_problem(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}), 401)


def test_an_expired_cookie_session_is_refused(app: Flask, db: Database, cast: dict) -> None:
    client = app.test_client()
    badge_sign_in(client, cast["op1"])
    assert client.get("/api/v1/auth/me").status_code == 200
    with db.transaction() as session:
        session.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert_problem(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert client.get("/dashboard").headers["Location"].startswith("/signin")


def test_one_sessions_csrf_token_does_not_work_for_another(app: Flask, cast: dict) -> None:
    first, second = app.test_client(), app.test_client()
    badge_sign_in(first, cast["op1"])
    other_csrf = badge_sign_in(second, cast["op1"])["csrf_token"]
    assert_problem(first.post("/api/v1/auth/logout", headers={"X-CSRF-Token": other_csrf}), 403)
    assert first.get("/api/v1/auth/me").status_code == 200


def test_cookie_session_roles_are_enforced_too(app: Flask, db: Database, cast: dict, site: dict) -> None:
    client = app.test_client()
    csrf = badge_sign_in(client, cast["op1"])["csrf_token"]
    before = table_counts(db)
    response = client.post("/api/v1/stock/adjustments", json=ADJUSTMENT, headers={"X-CSRF-Token": csrf})
    assert_problem(response, 403, "forbidden")
    assert table_counts(db) == before
    assert client.get("/api/v1/stock").status_code == 200


def test_admin_cookie_session_writes_only_with_the_csrf_header(app: Flask, db: Database) -> None:
    client = app.test_client()
    response = client.post("/api/v1/auth/login/password",
                           json={"username": "admin1", "password": "correct horse battery", "totp": totp_now()})
    assert response.status_code == 200, response.get_json()
    csrf = response.get_json()["csrf_token"]

    before = table_counts(db)
    assert_problem(client.post("/api/v1/warehouses", json=NEW_WAREHOUSE), 403, "forbidden")
    assert table_counts(db) == before
    created = client.post("/api/v1/warehouses", json=NEW_WAREHOUSE, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.get_json()
    assert client.get("/api/v1/warehouses/W9").get_json()["name"] == "West"
