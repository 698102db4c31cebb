"""Bad input gets a clear 4xx problem and writes nothing; never a 500.

Every write endpoint under /api/v1 (POST, PUT, PATCH, DELETE, sign-in included) is sent input a client
could really send by mistake: broken JSON, the wrong media type, an array where an object belongs,
unknown fields, wrong types, missing fields, unknown codes, impossible quantities and broken
lot/serial/GTIN rules, oversized bodies and misused Idempotency-Keys. Each refusal must be an
``application/problem+json`` document with a stable ``type``, a ``status`` equal to the HTTP status,
a ``detail`` a person can act on and, for invalid input, ``errors`` keyed by the offending field;
and the database must hold exactly what it held before (every table's row count and the ledger
head, plus sign-in events and API tokens; a refused PATCH leaves the resource as it was).

``test_every_write_endpoint_has_bad_input_cases`` walks the app's URL map, so that a new write
endpoint, or a new body schema, cannot ship without cases here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import text

from tests.conftest import CAST_PASSWORD, Api, count_moves, table_counts
from warehouse.accounts.models import ROLE_PERMISSIONS, Role
from warehouse.api import ANY_USER
from warehouse.db import Database

V1 = "/api/v1"
PROBLEM = "application/problem+json"
JSON = "application/json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN = f"{V1}/auth/"
MIB = 1_048_576


# ---------------------------------------------------------------- the write endpoints that take a JSON body
# (method, URL rule) -> a URL for that rule: records of the `site` fixture, or ids that do not exist (the
# body is checked before anything is looked up). Their schemas are taken from the app's endpoint specs;
# the guard test checks that this lists exactly the write endpoints that declare a body.

NO_SUCH_ID = 999_999
BODY_ENDPOINTS: dict[tuple[str, str], str] = {
    ("POST", f"{V1}/auth/login/badge"): f"{V1}/auth/login/badge",
    ("POST", f"{V1}/auth/login/password"): f"{V1}/auth/login/password",
    ("POST", f"{V1}/auth/totp/enrol"): f"{V1}/auth/totp/enrol",
    ("PATCH", f"{V1}/auth/me"): f"{V1}/auth/me",
    ("POST", f"{V1}/users"): f"{V1}/users",
    ("PATCH", f"{V1}/users/<username>"): f"{V1}/users/op1",
    ("POST", f"{V1}/tokens"): f"{V1}/tokens",
    ("POST", f"{V1}/items"): f"{V1}/items",
    ("PATCH", f"{V1}/items/<sku>"): f"{V1}/items/PLAIN",
    ("POST", f"{V1}/warehouses"): f"{V1}/warehouses",
    ("PATCH", f"{V1}/warehouses/<code>"): f"{V1}/warehouses/W1",
    ("POST", f"{V1}/warehouses/<code>/zones"): f"{V1}/warehouses/W1/zones",
    ("POST", f"{V1}/locations"): f"{V1}/locations",
    ("PATCH", f"{V1}/locations/<code>"): f"{V1}/locations/W1-A1",
    ("POST", f"{V1}/stock/adjustments"): f"{V1}/stock/adjustments",
    ("POST", f"{V1}/scans/resolve"): f"{V1}/scans/resolve",
    ("POST", f"{V1}/receipts"): f"{V1}/receipts",
    ("POST", f"{V1}/receipts/<int:task_id>/lines"): f"{V1}/receipts/{NO_SUCH_ID}/lines",
    ("POST", f"{V1}/putaway-tasks"): f"{V1}/putaway-tasks",
    ("POST", f"{V1}/count-tasks"): f"{V1}/count-tasks",
    ("POST", f"{V1}/count-tasks/<int:task_id>/lines"): f"{V1}/count-tasks/{NO_SUCH_ID}/lines",
    ("POST", f"{V1}/tasks/<int:task_id>/lines/<int:line_no>/confirm"): f"{V1}/tasks/{NO_SUCH_ID}/lines/1/confirm",
    ("POST", f"{V1}/tasks/<int:task_id>/cancel"): f"{V1}/tasks/{NO_SUCH_ID}/cancel",
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/approve"): f"{V1}/discrepancies/{NO_SUCH_ID}/approve",
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/reject"): f"{V1}/discrepancies/{NO_SUCH_ID}/reject",
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/recount"): f"{V1}/discrepancies/{NO_SUCH_ID}/recount",
    ("PUT", f"{V1}/verification-policies/<workflow>"): f"{V1}/verification-policies/counting",
    ("POST", f"{V1}/pick-tasks"): f"{V1}/pick-tasks",
    ("POST", f"{V1}/returns"): f"{V1}/returns",
    ("POST", f"{V1}/webhooks/subscriptions"): f"{V1}/webhooks/subscriptions",
    ("PATCH", f"{V1}/webhooks/subscriptions/<int:subscription_id>"): f"{V1}/webhooks/subscriptions/{NO_SUCH_ID}",
    ("POST", f"{V1}/orders"): f"{V1}/orders",
    ("PUT", f"{V1}/orders/<int:order_id>/lines"): f"{V1}/orders/{NO_SUCH_ID}/lines",
    ("POST", f"{V1}/orders/pick-tasks"): f"{V1}/orders/pick-tasks",
    ("POST", f"{V1}/labels/print"): f"{V1}/labels/print",
    ("PUT", f"{V1}/replenishment/rules"): f"{V1}/replenishment/rules",
}
# (PATCH /auth/me is not a sign-in: it changes the signed-in user's own record.)
SIGN_IN_ENDPOINTS = [endpoint for endpoint in BODY_ENDPOINTS
                     if endpoint[1].startswith(SIGN_IN) and endpoint != ("PATCH", f"{V1}/auth/me")]

# A well-formed body for each endpoint with required fields, so that one wrong or missing field is the
# only fault; the control test shows that those it can send as they are are accepted.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{V1}/auth/login/badge"): {"badge": "BADGE-OP1", "pin": "1111"},
    ("POST", f"{V1}/auth/login/password"): {"username": "super1", "password": CAST_PASSWORD, "totp": "000000"},
    ("POST", f"{V1}/auth/totp/enrol"): {"enrolment_token": "not-a-token", "code": "123456"},
    ("PATCH", f"{V1}/auth/me"): {"locale": "de"},
    ("POST", f"{V1}/users"): {"username": "newop", "role": "operator", "badge": "BADGE-NEW", "pin": "4321"},
    ("POST", f"{V1}/tokens"): {"user": "op1", "name": "scanner"},
    ("POST", f"{V1}/items"): {"sku": "NEWSKU", "name": "New widget"},
    ("POST", f"{V1}/warehouses"): {"code": "W9", "name": "West", "latitude": 51.2, "longitude": 6.8},
    ("POST", f"{V1}/warehouses/<code>/zones"): {"code": "Z9"},
    ("POST", f"{V1}/locations"): {"code": "W1-NEW", "warehouse": "W1", "type": "storage"},
    ("POST", f"{V1}/stock/adjustments"): {"sku": "PLAIN", "location": "W1-A1", "quantity": 2, "reason": "found"},
    ("POST", f"{V1}/scans/resolve"): {"raw": "W1-A1", "device": "TC52-01", "context": "putaway"},
    ("POST", f"{V1}/receipts"): {"reference": "PO-1", "warehouse": "W1", "lines": [{"sku": "PLAIN", "quantity": 10}]},
    ("POST", f"{V1}/receipts/<int:task_id>/lines"): {"sku": "PLAIN"},
    ("POST", f"{V1}/putaway-tasks"): {"warehouse": "W1"},
    ("POST", f"{V1}/count-tasks"): {"warehouse": "W1", "locations": ["W1-A1"]},
    ("POST", f"{V1}/count-tasks/<int:task_id>/lines"): {"location": "W1-A1", "sku": "PLAIN"},
    ("POST", f"{V1}/tasks/<int:task_id>/lines/<int:line_no>/confirm"): {"quantity": 1},
    ("POST", f"{V1}/tasks/<int:task_id>/cancel"): {"reason": "ordered twice"},
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/approve"): {"reason_code": "count_correction",
                                                                    "reason": "recounted twice"},
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/reject"): {"reason": "miscounted"},
    ("POST", f"{V1}/discrepancies/<int:discrepancy_id>/recount"): {"reason": "counts disagree"},
    ("PUT", f"{V1}/verification-policies/<workflow>"): {"policy": "two_person"},
    ("POST", f"{V1}/pick-tasks"): {"warehouse": "W1", "orders": [{"order": "SO-1", "lines": [{"sku": "PLAIN",
                                                                                           "quantity": 1}]}]},
    ("POST", f"{V1}/returns"): {"rma": "RMA-1", "warehouse": "W1", "order": "SO-1",
                                "lines": [{"sku": "PLAIN", "quantity": 1}]},
    ("POST", f"{V1}/webhooks/subscriptions"): {"url": "https://orders.example.com/hooks", "events": ["stock.changed"]},
    ("PATCH", f"{V1}/webhooks/subscriptions/<int:subscription_id>"): {"active": False},
    ("POST", f"{V1}/orders"): {"external_id": "SO-100", "paid": True, "ship_to": {"latitude": 52.1, "longitude": 5.1},
                               "lines": [{"sku": "PLAIN", "quantity": 1}]},
    ("PUT", f"{V1}/orders/<int:order_id>/lines"): {"lines": [{"sku": "PLAIN", "quantity": 1}]},
    ("POST", f"{V1}/orders/pick-tasks"): {"warehouse": "W1", "orders": [NO_SUCH_ID]},
    ("POST", f"{V1}/labels/print"): {"kind": "location", "code": "W1-A1", "copies": 1},
    ("PUT", f"{V1}/replenishment/rules"): {"sku": "PLAIN", "warehouse": "W1", "minimum": 2, "maximum": 10},
}
# Valid bodies the control test cannot send as they are, and why.
NOT_ACCEPTED_AS_IS = {
    **{endpoint: "a sign-in (the password and enrolment bodies hold wrong secrets)" for endpoint in SIGN_IN_ENDPOINTS},
    **{endpoint: f"its URL names {NO_SUCH_ID}, which does not exist"
       for endpoint, path in BODY_ENDPOINTS.items() if str(NO_SUCH_ID) in path},
    ("POST", f"{V1}/putaway-tasks"): "needs goods waiting in receiving",
    ("POST", f"{V1}/pick-tasks"): "needs a packing location and stock",
    ("POST", f"{V1}/returns"): "needs a returns location",
    ("POST", f"{V1}/orders/pick-tasks"): "needs orders with reservations",
    ("POST", f"{V1}/labels/print"): "needs a label printer (WAREHOUSE_LABEL_PRINTER); the test app has none",
}

# Endpoints whose text may carry a NUL character without a 422, and why. Everywhere else a NUL (which
# PostgreSQL cannot store) is refused as invalid input before anything runs.
NUL_NOT_REFUSED = {
    ("POST", f"{V1}/scans/resolve"): "a scan is logged as it arrived; a NUL makes it a malformed scan (422 with "
                                     "`reason`, logged), see tests/test_scanning.py",
}


def _spec(app: Flask, endpoint: tuple[str, str]) -> Any:
    method, rule_text = endpoint
    (rule,) = [rule for rule in app.url_map.iter_rules() if rule.rule == rule_text and method in rule.methods]
    return getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)


def body_schema(app: Flask, endpoint: tuple[str, str]) -> Schema:
    """The schema the app validates this endpoint's body with."""
    return _spec(app, endpoint).body()


AUTO = "someone allowed to call it"


def caller(app: Flask, api: Api, endpoint: tuple[str, str]) -> str | None:
    """A cast member whose role may call the endpoint, so that only the input is wrong; nobody for
    sign-in. Prefers the admin, then a supervisor, then an operator."""
    permission = _spec(app, endpoint).permission
    if permission is None:
        return None
    for username in ("admin1", "super1", "op1"):
        if permission == ANY_USER or permission in ROLE_PERMISSIONS[Role(api.cast[username].role)]:
            return username
    raise AssertionError(f"nobody in the cast may call {endpoint} (needs {permission})")


# ---------------------------------------------------------------- how a refusal must look

@dataclass(frozen=True)
class Raw:
    """A body sent as given, not encoded from Python."""

    data: str | bytes
    content_type: str | None = JSON


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    rule: str
    path: str
    body: Any
    status: int
    problem: str
    field: str | None = None  # must be a key of `errors`
    says: str | None = None  # must appear (case-insensitively) in the detail or the errors
    as_: str | None = AUTO
    headers: dict[str, str] = dataclass_field(default_factory=dict)
    extra: dict[str, Any] = dataclass_field(default_factory=dict)  # further members of the problem document

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}: {self.name}"


def snapshot(db: Database) -> dict[str, int]:
    """table_counts plus the tables it leaves out that a refused request must not touch either."""
    counts = table_counts(db)
    with db.reading() as session:
        for table in ("login_events", "api_tokens"):
            counts[table] = session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    return counts


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int | None, int | None]]:
    """The tables whose row count moved (and the ledger head), as (before, after)."""
    return {name: (before.get(name), after.get(name)) for name in sorted({*before, *after})
            if before.get(name) != after.get(name)}


def send(api: Api, method: str, path: str, body: Any, *, as_: str | None = "admin1",
         headers: dict[str, str] | None = None) -> Any:
    if isinstance(body, Raw):
        extra = {"content_type": body.content_type} if body.content_type else {}
        return api.request(method, path, as_=as_, headers=headers, data=body.data, **extra)
    return api.request(method, path, as_=as_, headers=headers, json=body)


def check_problem(response: Any, *, status: int, problem: str, field: str | None = None,
                  says: str | None = None) -> dict[str, Any]:
    """The response is a useful problem document; returns it."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM
    doc = response.get_json()
    assert doc["type"] == f"urn:warehouse:problem:{problem}"
    assert doc["status"] == status
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["detail"], str) and doc["detail"] and "went wrong on our side" not in doc["detail"]
    if problem == "invalid-input":
        assert isinstance(doc.get("errors"), dict) and doc["errors"], doc
        assert all(messages for messages in doc["errors"].values()), doc
    if field is not None:
        assert field in (doc.get("errors") or {}), doc
    if says is not None:
        told = (doc["detail"] + " " + json.dumps(doc.get("errors") or {}, ensure_ascii=False)).lower()
        assert says.lower() in told, doc
    return doc


def refused(api: Api, db: Database, method: str, path: str, body: Any, *, status: int, problem: str,
            field: str | None = None, says: str | None = None, as_: str | None = "admin1",
            headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Send a request that must be refused; check the problem and that nothing was written."""
    before = snapshot(db)
    resource = api.get(path) if method == "PATCH" else None
    response = send(api, method, path, body, as_=as_, headers=headers)
    doc = check_problem(response, status=status, problem=problem, field=field, says=says)
    wrote = changes(before, snapshot(db))
    assert not wrote, f"{method} {path} was refused with {status} but wrote (rows before, after): {wrote}"
    if resource is not None and resource.status_code == 200:
        assert api.get(path).get_json() == resource.get_json(), f"refused {method} {path} changed the resource"
    return doc


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def stocked(api: Api, site: dict[str, Any]) -> dict[str, Any]:
    """`site` plus stock in W1-A1 (5 PLAIN, 3 LOTTED of lot L1, serial SN-1), zone Z1 in W1, a
    deactivated bin W1-OLD, packing stations W1-PACK and W2-PACK, returns bay W1-RET with RMA-LIVE
    being received there."""
    adjust = f"{V1}/stock/adjustments"
    api.ok("POST", adjust, {"sku": "PLAIN", "location": "W1-A1", "quantity": 5, "reason": "initial"})
    api.ok("POST", adjust, {"sku": "LOTTED", "location": "W1-A1", "quantity": 3, "reason": "initial",
                            "lot": "L1", "expiry": "2030-01-31"})
    api.ok("POST", adjust, {"sku": "SERIAL", "location": "W1-A1", "quantity": 1, "reason": "initial",
                            "serials": ["SN-1"]})
    api.ok("POST", f"{V1}/warehouses/W1/zones", {"code": "Z1", "name": "Fast movers"})
    api.ok("POST", f"{V1}/locations", {"code": "W1-OLD", "warehouse": "W1", "type": "storage"})
    api.ok("PATCH", f"{V1}/locations/W1-OLD", {"active": False})
    for code, warehouse, kind in [("W1-PACK", "W1", "packing"), ("W2-PACK", "W2", "packing"),
                                  ("W1-RET", "W1", "returns")]:
        api.ok("POST", f"{V1}/locations", {"code": code, "warehouse": warehouse, "type": kind})
    api.ok("POST", f"{V1}/returns", {"rma": "RMA-LIVE", "warehouse": "W1", "order": "SO-0",
                                     "lines": [{"sku": "PLAIN", "quantity": 1}]})
    return site


# ---------------------------------------------------------------- the same faults on every body endpoint

@dataclass(frozen=True)
class Attempt:
    """One request of a series sent to the same URL, and the refusal it must get."""

    name: str
    body: Any
    status: int
    problem: str
    field: str | None = None
    says: str | None = None


def attempt_all(api: Api, db: Database, method: str, path: str, attempts: list[Attempt], *,
                as_: str | None) -> None:
    """Send each attempt; every one must be refused as stated, and together they write nothing."""
    before = snapshot(db)
    resource = api.get(path) if method == "PATCH" else None
    failures = []
    for attempt in attempts:
        response = send(api, method, path, attempt.body, as_=as_)
        try:
            check_problem(response, status=attempt.status, problem=attempt.problem, field=attempt.field,
                          says=attempt.says)
        except AssertionError as exc:
            failures.append(f"{attempt.name}: {exc}")
    wrote = changes(before, snapshot(db))
    if wrote:
        failures.append(f"refused requests wrote (rows before, after): {wrote}")
    if resource is not None and resource.status_code == 200 and api.get(path).get_json() != resource.get_json():
        failures.append(f"refused requests changed {path}")
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)


DEEP = "[" * 100_000 + "]" * 100_000
NOT_AN_OBJECT = "must be a JSON object"
GENERIC_FAULTS = [
    Attempt("malformed JSON", Raw('{"name": '), 400, "malformed-request", says="not valid JSON"),
    Attempt("trailing comma", Raw('{"name": "x",}'), 400, "malformed-request", says="not valid JSON"),
    Attempt("single quotes", Raw("{'name': 'x'}"), 400, "malformed-request", says="not valid JSON"),
    Attempt("two documents", Raw("{} {}"), 400, "malformed-request", says="not valid JSON"),
    Attempt("empty body", Raw(""), 400, "malformed-request", says="not valid JSON"),
    Attempt("not UTF-8", Raw(b'{"name": "caf\xe9"}'), 400, "malformed-request", says="not UTF-8"),
    Attempt("nested 100000 deep", Raw('{"name": ' + DEEP + "}"), 400, "malformed-request", says="nested too deeply"),
    Attempt("a 5000-digit number", Raw('{"name": ' + "9" * 5000 + "}"), 400, "malformed-request",
            says="too many digits"),
    Attempt("text/plain", Raw('{"name": "x"}', "text/plain"), 415, "unsupported-media-type", says="text/plain"),
    Attempt("a form", Raw("name=x", "application/x-www-form-urlencoded"), 415, "unsupported-media-type",
            says="application/x-www-form-urlencoded"),
    Attempt("multipart", Raw("--b--\r\n", "multipart/form-data; boundary=b"), 415, "unsupported-media-type",
            says="multipart/form-data"),
    Attempt("no content type", Raw('{"name": "x"}', None), 415, "unsupported-media-type", says="none"),
    Attempt("an array", Raw("[]"), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
    Attempt("an array of objects", Raw('[{"name": "x"}]'), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
    Attempt("a string", Raw('"name"'), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
    Attempt("a number", Raw("42"), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
    Attempt("null", Raw("null"), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
    Attempt("true", Raw("true"), 422, "invalid-input", "_schema", NOT_AN_OBJECT),
]


def padded(size: int) -> Raw:
    """A JSON object of exactly ``size`` bytes: one long "name"."""
    shell = '{"name": ""}'
    return Raw('{"name": "' + "x" * (size - len(shell)) + '"}')


@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS), ids=" ".join)
def test_unreadable_oversized_or_non_object_body_is_refused(app: Flask, api: Api, db: Database,
                                                           endpoint: tuple[str, str]) -> None:
    """The body is refused before it is looked at, so no records are needed (PATCH targets do not exist)."""
    method, _ = endpoint
    limit = app.config["MAX_BODY_BYTES"]
    assert limit == MIB == app.config["MAX_CONTENT_LENGTH"]  # WAREHOUSE_MAX_BODY_BYTES' default, enforced
    attempts = [
        *GENERIC_FAULTS,
        Attempt("an unknown field", {**VALID_BODIES.get(endpoint, {}), "is_admin": True}, 422, "invalid-input",
                "is_admin", "unknown field"),
        Attempt("one byte over the size limit", padded(limit + 1), 413, "payload-too-large",
                says=f"larger than {limit} bytes"),
        # Control: a body of exactly the limit is read, then refused for its content, not its size.
        Attempt("exactly the size limit", padded(limit), 422, "invalid-input", "name"),
    ]
    attempt_all(api, db, method, BODY_ENDPOINTS[endpoint], attempts, as_=caller(app, api, endpoint))


# ---------------------------------------------------------------- every field, every kind of wrong value

def wrong_values(declared: fields.Field) -> list[tuple[str, Any]]:
    """Values no field of this kind accepts: the wrong JSON type, and junk any field must refuse."""
    values: list[tuple[str, Any]] = [("an object", {"x": 1}), ("a 400-digit number", 10**400),
                                     ("text with a NUL", "a\x00b"), ("an unpaired surrogate", "\ud800")]
    if not declared.allow_none:
        values.append(("null", None))
    if isinstance(declared, fields.Integer):
        values += [("a numeric string", "5"), ("a float", 1.5), ("a whole float", 2.0), ("true", True),
                   ("false", False), ("10**12", 10**12), ("-10**12", -(10**12))]
    elif isinstance(declared, fields.Float):
        values += [("a numeric string", "45.5"), ("true", True), ("a list", [45.5])]
    elif isinstance(declared, fields.Decimal):
        values += [("a word", "ten"), ("true", True), ("a list", [1])]
    elif isinstance(declared, fields.Boolean):
        values += [("the string 'true'", "true"), ("the string 'no'", "no"), ("1", 1), ("0", 0)]
    elif isinstance(declared, fields.Date):
        values += [("a number", 20300131), ("an impossible date", "2030-02-30"), ("a non-ISO date", "31/01/2030")]
    elif isinstance(declared, fields.List):
        values += [("a bare string", "x"), ("a list holding a number", [123]), ("a list holding null", [None]),
                   ("a list holding a NUL", ["a\x00b"])]
    elif isinstance(declared, fields.String):
        values += [("a number", 123), ("true", True), ("a list", ["x"])]
    elif isinstance(declared, fields.Nested):
        values += [("a string", "x"), ("a number", 5), ("a list", [{}]), ("an empty object", {})]
    else:  # a new kind of field: say here what it must refuse
        raise AssertionError(f"no wrong values for {type(declared).__name__}")
    return values


def field_attempts(endpoint: tuple[str, str], schema: Schema) -> list[Attempt]:
    """For every field of the endpoint's body: each wrong value, and leaving it out if it is required;
    the rest of the body is valid, so the field is the only fault."""
    valid = VALID_BODIES.get(endpoint, {})
    attempts = []
    for name, declared in schema.fields.items():
        key = declared.data_key or name
        attempts += [Attempt(f"{key} = {label}", {**valid, key: value}, 422, "invalid-input", key)
                     for label, value in wrong_values(declared)
                     if not ("NUL" in label and endpoint in NUL_NOT_REFUSED)]
        if declared.required:
            assert key in valid, f"VALID_BODIES[{endpoint}] lacks the required {key}"
            attempts.append(Attempt(f"{key} missing", {k: v for k, v in valid.items() if k != key}, 422,
                                    "invalid-input", key, "missing data"))
    return attempts


@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS), ids=" ".join)
def test_every_field_refuses_wrong_types_junk_and_absence_by_name(app: Flask, api: Api, db: Database,
                                                                  site: dict[str, Any],
                                                                  endpoint: tuple[str, str]) -> None:
    method, _ = endpoint
    attempts = field_attempts(endpoint, body_schema(app, endpoint))
    attempt_all(api, db, method, BODY_ENDPOINTS[endpoint], attempts, as_=caller(app, api, endpoint))


def test_the_valid_bodies_the_cases_start_from_are_accepted(app: Flask, api: Api, db: Database,
                                                            site: dict[str, Any]) -> None:
    """Control: each wrong-value or missing-field attempt differs from an accepted request by one field."""
    for endpoint, body in VALID_BODIES.items():
        if endpoint in NOT_ACCEPTED_AS_IS:
            continue
        method, _ = endpoint
        before = snapshot(db)
        response = send(api, method, BODY_ENDPOINTS[endpoint], body, as_=caller(app, api, endpoint))
        assert response.status_code in (200, 201), (endpoint, response.get_json())
        if method == "POST":
            assert snapshot(db) != before, endpoint


# ---------------------------------------------------------------- rules of each endpoint

DROP = object()  # in a case's body: leave this key of the base body out


def _case(method: str, rule: str, name: str, body: Any, status: int, problem: str, field: str | None = None,
          says: str | None = None, *, path: str | None = None, base: dict[str, Any] | None = None,
          **kwargs: Any) -> Case:
    if base is not None and isinstance(body, dict):
        body = {k: v for k, v in {**base, **body}.items() if v is not DROP}
    return Case(name, method, f"{V1}{rule}", f"{V1}{path or rule}", body, status, problem, field, says, **kwargs)

ADJ = {"sku": "PLAIN", "location": "W1-A1", "quantity": 1, "reason": "found behind the rack"}
ITEM = {"sku": "NEWSKU", "name": "New widget"}
WH = {"code": "W9", "name": "West", "latitude": 51.2, "longitude": 6.8}
LOC = {"code": "W1-NEW", "warehouse": "W1", "type": "storage"}
USER = {"username": "newop", "role": "operator", "badge": "BADGE-NEW", "pin": "4321"}
TOKEN = {"user": "op1", "name": "scanner"}
RECEIPT = {"reference": "PO-1", "warehouse": "W1", "lines": [{"sku": "PLAIN", "quantity": 10}]}
CSV_HEAD = b"reference,warehouse,sku,quantity,expiry\n"
PICK = {"warehouse": "W1", "orders": [{"order": "SO-1", "lines": [{"sku": "PLAIN", "quantity": 1}]}]}
ORDER = {"external_id": "SO-100", "paid": True, "ship_to": {"latitude": 52.1, "longitude": 5.1},
         "lines": [{"sku": "PLAIN", "quantity": 1}]}
RETURN = {"rma": "RMA-1", "warehouse": "W1", "order": "SO-1", "lines": [{"sku": "PLAIN", "quantity": 1}]}
HOOK = {"url": "https://orders.example.com/hooks", "events": ["stock.changed"]}
RULE = {"sku": "PLAIN", "warehouse": "W1", "minimum": 2, "maximum": 10}


def adjustment(name: str, body: dict[str, Any], status: int, problem: str, field: str | None = None,
               says: str | None = None, **kwargs: Any) -> Case:
    return _case("POST", "/stock/adjustments", name, body, status, problem, field, says, base=ADJ, **kwargs)


CASES: list[Case] = [
    # ---- stock adjustments: quantities
    adjustment("zero quantity", {"quantity": 0}, 422, "invalid-input", "quantity", "zero"),
    adjustment("absurd quantity 10**12", {"quantity": 10**12}, 422, "invalid-input", "quantity"),
    adjustment("absurd negative quantity", {"quantity": -(10**12)}, 422, "invalid-input", "quantity"),
    adjustment("one over the maximum", {"quantity": 1_000_000_001}, 422, "invalid-input", "quantity"),
    adjustment("quantity as a string", {"quantity": "5"}, 422, "invalid-input", "quantity", "whole number"),
    adjustment("quantity as a float", {"quantity": 2.5}, 422, "invalid-input", "quantity", "whole number"),
    adjustment("quantity as a boolean", {"quantity": True}, 422, "invalid-input", "quantity", "whole number"),
    adjustment("write-off beyond stock", {"quantity": -6}, 409, "insufficient-stock", None, "holds 5 available",
               extra={"available": 5, "requested": 6, "location": "W1-A1", "sku": "PLAIN"}),
    adjustment("write-off from an empty bin", {"location": "W1-A2", "quantity": -1}, 409, "insufficient-stock",
               None, "holds 0 available", extra={"available": 0, "requested": 1}),
    adjustment("write-off beyond a lot", {"sku": "LOTTED", "lot": "L1", "quantity": -4}, 409,
               "insufficient-stock", None, "lot L1", extra={"available": 3, "lot": "L1"}),
    # ---- stock adjustments: codes
    adjustment("unknown sku", {"sku": "NOPE"}, 422, "invalid-input", "sku", "unknown SKU"),
    adjustment("sku as a number", {"sku": 4006381333931}, 422, "invalid-input", "sku", "not a valid string"),
    adjustment("unknown location", {"location": "W1-Z9"}, 422, "invalid-input", "location", "unknown location"),
    adjustment("virtual location", {"location": "V-INVENTORY-LOSS"}, 422, "invalid-input", "location",
               "physical location"),
    adjustment("deactivated location", {"location": "W1-OLD"}, 422, "invalid-input", "location", "deactivated"),
    adjustment("code with a space", {"location": "W1 A1"}, 422, "invalid-input", "location"),
    adjustment("empty reason", {"reason": ""}, 422, "invalid-input", "reason"),
    adjustment("blank reason", {"reason": "   "}, 422, "invalid-input", "reason"),
    adjustment("unknown reason code", {"reason_code": "theft"}, 422, "invalid-input", "reason_code"),
    adjustment("unknown counterpart", {"counterpart": "in-transit"}, 422, "invalid-input", "counterpart"),
    adjustment("device name too long", {"device": "d" * 121}, 422, "invalid-input", "device"),
    # ---- stock adjustments: lots, expiry, serials
    adjustment("lot-tracked item without a lot", {"sku": "LOTTED"}, 422, "invalid-input", "lot", "give the lot"),
    adjustment("write-off of a lot-tracked item without a lot", {"sku": "LOTTED", "quantity": -1}, 422,
               "invalid-input", "lot", "give the lot"),
    adjustment("lot on an untracked item", {"lot": "L1"}, 422, "invalid-input", "lot", "not lot-tracked"),
    adjustment("new lot without expiry on an expiry-tracked item", {"sku": "LOTTED", "lot": "L2"}, 422,
               "invalid-input", "expiry", "expiry date"),
    adjustment("write-off of an unknown lot", {"sku": "LOTTED", "lot": "L9", "quantity": -1}, 422,
               "invalid-input", "lot", "has no lot"),
    adjustment("expiry contradicting the lot's", {"sku": "LOTTED", "lot": "L1", "expiry": "2031-01-01"}, 422,
               "invalid-input", "expiry", "expires on 2030-01-31"),
    adjustment("expiry without a lot", {"expiry": "2030-01-31"}, 422, "invalid-input", "expiry", "give the lot"),
    adjustment("impossible expiry date", {"sku": "LOTTED", "lot": "L2", "expiry": "2030-02-30"}, 422,
               "invalid-input", "expiry"),
    adjustment("fewer serials than units", {"sku": "SERIAL", "quantity": 2, "serials": ["SN-2"]}, 422,
               "invalid-input", "serials", "2 expected, 1 given"),
    adjustment("more serials than units", {"sku": "SERIAL", "quantity": 1, "serials": ["SN-2", "SN-3"]}, 422,
               "invalid-input", "serials", "1 expected, 2 given"),
    adjustment("serial item without serials", {"sku": "SERIAL"}, 422, "invalid-input", "serials",
               "1 expected, 0 given"),
    adjustment("a serial listed twice", {"sku": "SERIAL", "quantity": 2, "serials": ["SN-2", "SN-2"]}, 422,
               "invalid-input", "serials", "twice"),
    adjustment("writing off a serial that is not there", {"sku": "SERIAL", "quantity": -1, "serials": ["SN-9"]},
               422, "invalid-input", "serials", "not in W1-A1"),
    adjustment("finding a serial already in stock", {"sku": "SERIAL", "serials": ["SN-1"]}, 422,
               "invalid-input", "serials", "SN-1"),
    adjustment("serials on an untracked item", {"serials": ["SN-2"]}, 422, "invalid-input", "serials",
               "not serial-tracked"),
    # ---- items
    _case("POST", "/items", "duplicate sku", {"sku": "PLAIN"}, 409, "conflict", None, "already exists",
          base=ITEM),
    _case("POST", "/items", "sku with a space", {"sku": "NEW SKU"}, 422, "invalid-input", "sku", base=ITEM),
    _case("POST", "/items", "empty sku", {"sku": ""}, 422, "invalid-input", "sku", base=ITEM),
    _case("POST", "/items", "sku too long", {"sku": "S" * 65}, 422, "invalid-input", "sku", base=ITEM),
    _case("POST", "/items", "blank name", {"name": "   "}, 422, "invalid-input", "name", base=ITEM),
    _case("POST", "/items", "name too long", {"name": "n" * 201}, 422, "invalid-input", "name", base=ITEM),
    _case("POST", "/items", "GTIN-13 with a wrong check digit", {"gtins": ["4006381333932"]}, 422,
          "invalid-input", "gtins", "check digit", base=ITEM),
    _case("POST", "/items", "GTIN-8 with a wrong check digit", {"gtins": ["96385075"]}, 422,
          "invalid-input", "gtins", "check digit", base=ITEM),
    _case("POST", "/items", "GTIN-14 with a wrong check digit", {"gtins": ["14006381333937"]}, 422,
          "invalid-input", "gtins", "check digit", base=ITEM),
    _case("POST", "/items", "GTIN of 11 digits", {"gtins": ["12345678901"]}, 422, "invalid-input", "gtins",
          "not a GTIN", base=ITEM),
    _case("POST", "/items", "GTIN with letters", {"gtins": ["4006381A33931"]}, 422, "invalid-input", "gtins",
          "not a GTIN", base=ITEM),
    _case("POST", "/items", "GTIN in Arabic-Indic digits", {"gtins": ["٤٠٠٦٣٨١٣٣٣٩٣١"]}, 422, "invalid-input",
          "gtins", "not a GTIN", base=ITEM),
    _case("POST", "/items", "GTIN as a number", {"gtins": [4006381333931]}, 422, "invalid-input", "gtins",
          base=ITEM),
    _case("POST", "/items", "GTIN of another item", {"gtins": ["4006381333931"]}, 409, "conflict", None,
          "on PLAIN", base=ITEM),
    _case("POST", "/items", "GTIN listed twice", {"gtins": ["5901234123457", "05901234123457"]}, 422,
          "invalid-input", "gtins", "twice", base=ITEM),
    _case("POST", "/items", "alias with a space", {"aliases": ["OLD CODE"]}, 422, "invalid-input", "aliases",
          base=ITEM),
    _case("POST", "/items", "unknown tracking", {"tracking": "batch"}, 422, "invalid-input", "tracking",
          base=ITEM),
    _case("POST", "/items", "negative unit value", {"unit_value": -1}, 422, "invalid-input", "unit_value",
          base=ITEM),
    _case("POST", "/items", "absurd unit value", {"unit_value": 10**12}, 422, "invalid-input", "unit_value",
          base=ITEM),
    _case("POST", "/items", "NaN unit value", Raw('{"sku": "NEWSKU", "name": "x", "unit_value": NaN}'), 422,
          "invalid-input", "unit_value"),
    _case("POST", "/items", "infinite unit value", Raw('{"sku": "NEWSKU", "name": "x", "unit_value": 1e400}'),
          422, "invalid-input", "unit_value"),
    _case("POST", "/items", "pack of zero units", {"pack_sizes": [{"level": "case", "quantity": 0}]}, 422,
          "invalid-input", "pack_sizes", base=ITEM),
    _case("POST", "/items", "pack quantity as a string", {"pack_sizes": [{"level": "case", "quantity": "12"}]},
          422, "invalid-input", "pack_sizes", "whole number", base=ITEM),
    _case("POST", "/items", "unknown pack level", {"pack_sizes": [{"level": "crate", "quantity": 12}]}, 422,
          "invalid-input", "pack_sizes", base=ITEM),
    _case("POST", "/items", "unknown pack field", {"pack_sizes": [{"level": "case", "quantity": 12, "w": 1}]},
          422, "invalid-input", "pack_sizes", "unknown field", base=ITEM),
    _case("POST", "/items", "each level of 2 units", {"pack_sizes": [{"level": "each", "quantity": 2}]}, 422,
          "invalid-input", "pack_sizes", "always 1", base=ITEM),
    _case("POST", "/items", "pack level twice",
          {"pack_sizes": [{"level": "case", "quantity": 6}, {"level": "case", "quantity": 12}]}, 422,
          "invalid-input", "pack_sizes", "once", base=ITEM),
    _case("POST", "/items", "case smaller than inner",
          {"pack_sizes": [{"level": "inner", "quantity": 12}, {"level": "case", "quantity": 6}]}, 422,
          "invalid-input", "pack_sizes", "at least as many", base=ITEM),
    _case("POST", "/items", "pack GTIN with a wrong check digit",
          {"pack_sizes": [{"level": "case", "quantity": 12, "gtin": "14006381333937"}]}, 422, "invalid-input",
          "pack_sizes", "check digit", base=ITEM),
    _case("PATCH", "/items/<sku>", "unknown sku in the URL", {"name": "x"}, 404, "not-found", None, "NOPE",
          path="/items/NOPE"),
    _case("PATCH", "/items/<sku>", "NUL in the URL", {"name": "x"}, 404, "not-found", path="/items/PL%00AIN"),
    _case("PATCH", "/items/<sku>", "changing the sku", {"sku": "RENAMED"}, 422, "invalid-input", "sku",
          "unknown field", path="/items/PLAIN"),
    _case("PATCH", "/items/<sku>", "blank name", {"name": " "}, 422, "invalid-input", "name",
          path="/items/PLAIN"),
    _case("PATCH", "/items/<sku>", "GTIN with a wrong check digit", {"gtins": ["4006381333932"]}, 422,
          "invalid-input", "gtins", "check digit", path="/items/PLAIN"),
    _case("PATCH", "/items/<sku>", "GTIN of another item", {"gtins": ["96385074"]}, 409, "conflict", None,
          "on LOTTED", path="/items/PLAIN"),
    _case("PATCH", "/items/<sku>", "tracking change while in stock", {"tracking": "lot"}, 409, "conflict", None,
          "in stock", path="/items/PLAIN"),
    _case("PATCH", "/items/<sku>", "negative unit value", {"unit_value": "-0.01"}, 422, "invalid-input",
          "unit_value", path="/items/PLAIN"),
    # ---- warehouses and zones
    _case("POST", "/warehouses", "duplicate code", {"code": "W1"}, 409, "conflict", None, "already exists",
          base=WH),
    _case("POST", "/warehouses", "latitude 91", {"latitude": 91}, 422, "invalid-input", "latitude", base=WH),
    _case("POST", "/warehouses", "latitude -90.5", {"latitude": -90.5}, 422, "invalid-input", "latitude",
          base=WH),
    _case("POST", "/warehouses", "longitude -181", {"longitude": -181}, 422, "invalid-input", "longitude",
          base=WH),
    _case("POST", "/warehouses", "longitude 180.5", {"longitude": 180.5}, 422, "invalid-input", "longitude",
          base=WH),
    _case("POST", "/warehouses", "latitude as a string", {"latitude": "52.1"}, 422, "invalid-input", "latitude",
          "must be a number", base=WH),
    _case("POST", "/warehouses", "infinite longitude",
          Raw('{"code": "W9", "name": "West", "latitude": 51.2, "longitude": -1e400}'), 422, "invalid-input",
          "longitude"),
    _case("POST", "/warehouses", "code too long", {"code": "W" * 33}, 422, "invalid-input", "code", base=WH),
    _case("POST", "/warehouses", "name as a number", {"name": 9}, 422, "invalid-input", "name",
          "not a valid string", base=WH),
    _case("PATCH", "/warehouses/<code>", "unknown code in the URL", {"name": "x"}, 404, "not-found", None, "W7",
          path="/warehouses/W7"),
    _case("PATCH", "/warehouses/<code>", "NUL in the URL", {"name": "x"}, 404, "not-found",
          path="/warehouses/W%001"),
    _case("PATCH", "/warehouses/<code>", "latitude 91", {"latitude": 91}, 422, "invalid-input", "latitude",
          path="/warehouses/W1"),
    _case("PATCH", "/warehouses/<code>", "longitude -181", {"longitude": -181}, 422, "invalid-input",
          "longitude", path="/warehouses/W1"),
    _case("PATCH", "/warehouses/<code>", "changing the code", {"code": "W7"}, 422, "invalid-input", "code",
          "unknown field", path="/warehouses/W1"),
    _case("POST", "/warehouses/<code>/zones", "unknown warehouse in the URL", {"code": "Z2"}, 404, "not-found",
          None, "W7", path="/warehouses/W7/zones"),
    _case("POST", "/warehouses/<code>/zones", "duplicate zone", {"code": "Z1"}, 409, "conflict", None,
          "already exists", path="/warehouses/W1/zones"),
    _case("POST", "/warehouses/<code>/zones", "zone code with a space", {"code": "Z 2"}, 422, "invalid-input",
          "code", path="/warehouses/W1/zones"),
    # ---- locations
    _case("POST", "/locations", "unknown warehouse", {"warehouse": "W7"}, 422, "invalid-input", "warehouse",
          "unknown warehouse", base=LOC),
    _case("POST", "/locations", "unknown zone", {"zone": "Z9"}, 422, "invalid-input", "zone", "no zone",
          base=LOC),
    _case("POST", "/locations", "zone of another warehouse", {"warehouse": "W2", "code": "W2-NEW", "zone": "Z1"},
          422, "invalid-input", "zone", "W2 has no zone", base=LOC),
    _case("POST", "/locations", "virtual type", {"type": "inventory-loss"}, 422, "invalid-input", "type",
          base=LOC),
    _case("POST", "/locations", "unknown type", {"type": "shelf"}, 422, "invalid-input", "type", base=LOC),
    _case("POST", "/locations", "duplicate code", {"code": "W1-A1"}, 409, "conflict", None, "already used",
          base=LOC),
    _case("POST", "/locations", "code used in another warehouse", {"code": "W1-A1", "warehouse": "W2"}, 409,
          "conflict", None, "unique across warehouses", base=LOC),
    _case("POST", "/locations", "code of a virtual location", {"code": "V-SCRAP"}, 409, "conflict", None,
          "already used", base=LOC),
    _case("POST", "/locations", "zero capacity", {"capacity": 0}, 422, "invalid-input", "capacity", base=LOC),
    _case("POST", "/locations", "negative walk sequence", {"walk_sequence": -1}, 422, "invalid-input",
          "walk_sequence", base=LOC),
    _case("PATCH", "/locations/<code>", "unknown code in the URL", {"name": "x"}, 404, "not-found", None,
          "W1-Z9", path="/locations/W1-Z9"),
    _case("PATCH", "/locations/<code>", "NUL in the URL", {"name": "x"}, 404, "not-found",
          path="/locations/W1-A%001"),
    _case("PATCH", "/locations/<code>", "a virtual location", {"name": "x"}, 422, "invalid-input", "code",
          "virtual", path="/locations/V-SCRAP"),
    _case("PATCH", "/locations/<code>", "unknown zone", {"zone": "Z9"}, 422, "invalid-input", "zone", "no zone",
          path="/locations/W1-A1"),
    _case("PATCH", "/locations/<code>", "virtual type", {"type": "customer"}, 422, "invalid-input", "type",
          path="/locations/W1-A1"),
    _case("PATCH", "/locations/<code>", "deactivating a bin that holds stock", {"active": False, "name": "Gone"},
          409, "conflict", None, "still holds stock", path="/locations/W1-A1"),
    _case("PATCH", "/locations/<code>", "moving it to another warehouse", {"warehouse": "W2"}, 422,
          "invalid-input", "warehouse", "unknown field", path="/locations/W1-A1"),
    _case("PATCH", "/locations/<code>", "zero capacity", {"capacity": 0}, 422, "invalid-input", "capacity",
          path="/locations/W1-A1"),
    # ---- users
    _case("POST", "/users", "duplicate username", {"username": "op1"}, 409, "conflict", None, "already exists",
          base=USER),
    _case("POST", "/users", "unknown role", {"role": "boss"}, 422, "invalid-input", "role", base=USER),
    _case("POST", "/users", "operator without a PIN", {"pin": DROP}, 422, "invalid-input", "pin",
          "badge and PIN", base=USER),
    _case("POST", "/users", "PIN with letters", {"pin": "12ab"}, 422, "invalid-input", "pin", "4 to 8 digits",
          base=USER),
    _case("POST", "/users", "PIN too short", {"pin": "123"}, 422, "invalid-input", "pin", "4 to 8 digits",
          base=USER),
    _case("POST", "/users", "badge of another user", {"badge": "BADGE-OP1"}, 409, "conflict", None,
          "already issued", base=USER),
    _case("POST", "/users", "supervisor without a password", {"username": "newsup", "role": "supervisor"}, 422,
          "invalid-input", "password", "required"),
    _case("POST", "/users", "short password",
          {"username": "newsup", "role": "supervisor", "password": "short"}, 422, "invalid-input", "password",
          "at least 10"),
    _case("POST", "/users", "integration with a password",
          {"username": "newint", "role": "integration", "password": "long enough secret"}, 422, "invalid-input",
          "password", "without a password"),
    _case("POST", "/users", "integration with a badge",
          {"username": "newint", "role": "integration", "badge": "B-9", "pin": "1234"}, 422, "invalid-input",
          "badge"),
    _case("POST", "/users", "unknown locale", {"locale": "xx"}, 422, "invalid-input", "locale", base=USER),
    _case("POST", "/users", "username with a space", {"username": "new op"}, 422, "invalid-input", "username",
          base=USER),
    _case("PATCH", "/users/<username>", "unknown user in the URL", {"locale": "de"}, 404, "not-found", None,
          "nobody", path="/users/nobody"),
    _case("PATCH", "/users/<username>", "NUL in the URL", {"locale": "de"}, 404, "not-found",
          path="/users/op%001"),
    _case("PATCH", "/users/<username>", "password for an operator", {"password": "long enough secret"}, 422,
          "invalid-input", "password", "without a password", path="/users/op1"),
    _case("PATCH", "/users/<username>", "PIN for a supervisor", {"pin": "1234"}, 422, "invalid-input", "pin",
          "without a PIN", path="/users/super1"),
    _case("PATCH", "/users/<username>", "PIN too short", {"pin": "12"}, 422, "invalid-input", "pin",
          "4 to 8 digits", path="/users/op1"),
    _case("PATCH", "/users/<username>", "short password", {"password": "short"}, 422, "invalid-input",
          "password", "at least 10", path="/users/super1"),
    _case("PATCH", "/users/<username>", "changing the role", {"role": "admin"}, 422, "invalid-input", "role",
          "unknown field", path="/users/op1"),
    _case("PATCH", "/users/<username>", "unknown locale", {"locale": "xx"}, 422, "invalid-input", "locale",
          path="/users/op1"),
    # ---- changing your own language
    _case("PATCH", "/auth/me", "unknown locale", {"locale": "xx"}, 422, "invalid-input", "locale"),
    _case("PATCH", "/auth/me", "locale as a list", {"locale": ["de"]}, 422, "invalid-input", "locale"),
    _case("PATCH", "/auth/me", "changing your own role", {"locale": "de", "role": "admin"}, 422, "invalid-input",
          "role", "unknown field"),
    _case("PATCH", "/auth/me", "renaming yourself", {"locale": "de", "username": "root"}, 422, "invalid-input",
          "username", "unknown field"),
    _case("PATCH", "/auth/me", "no credentials", {"locale": "de"}, 401, "unauthenticated", as_=None),
    _case("POST", "/users/<username>/unlock", "unknown user in the URL", None, 404, "not-found", None, "nobody",
          path="/users/nobody/unlock"),
    _case("POST", "/users/<username>/totp/reset", "unknown user in the URL", None, 404, "not-found", None,
          "nobody", path="/users/nobody/totp/reset"),
    # ---- tokens
    _case("POST", "/tokens", "unknown scope", {"scopes": ["stock:steal"]}, 422, "invalid-input", "scopes",
          base=TOKEN),
    _case("POST", "/tokens", "scope beyond the user's role", {"scopes": ["users:manage"]}, 422, "invalid-input",
          "scopes", "cannot hold", base=TOKEN),
    _case("POST", "/tokens", "zero days", {"expires_in_days": 0}, 422, "invalid-input", "expires_in_days",
          base=TOKEN),
    _case("POST", "/tokens", "over ten years", {"expires_in_days": 3651}, 422, "invalid-input",
          "expires_in_days", base=TOKEN),
    _case("POST", "/tokens", "blank name", {"name": "  "}, 422, "invalid-input", "name", base=TOKEN),
    _case("DELETE", "/tokens/<int:token_id>", "unknown token", None, 404, "not-found", None, "No token 999999",
          path="/tokens/999999"),
    _case("DELETE", "/tokens/<int:token_id>", "token id that is not a number", None, 404, "not-found",
          path="/tokens/abc"),
    _case("DELETE", "/replenishment/rules/<int:rule_id>", "unknown replenishment rule", None, 404, "not-found",
          None, "No replenishment rule 999999", path="/replenishment/rules/999999"),
    # ---- scans: requests that are not scans are refused before anything is logged
    _case("POST", "/scans/resolve", "empty scan", {"raw": ""}, 422, "invalid-input", "raw"),
    _case("POST", "/scans/resolve", "scan over 1000 characters", {"raw": "7" * 1001}, 422, "invalid-input", "raw"),
    _case("POST", "/scans/resolve", "context with a space", {"raw": "W1-A1", "context": "put away"}, 422,
          "invalid-input", "context"),
    # ---- receiving, putaway, counting, tasks, discrepancies, policies
    _case("POST", "/receipts", "unknown warehouse", {"warehouse": "W7"}, 422, "invalid-input", "warehouse",
          "unknown warehouse", base=RECEIPT),
    _case("POST", "/receipts", "unknown sku on a line", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 422,
          "invalid-input", "lines.0.sku", "unknown SKU", base=RECEIPT),
    _case("POST", "/receipts", "no lines", {"lines": []}, 422, "invalid-input", "lines", base=RECEIPT),
    _case("POST", "/receipts", "a line of zero units", {"lines": [{"sku": "PLAIN", "quantity": 0}]}, 422,
          "invalid-input", "lines", base=RECEIPT),
    _case("POST", "/receipts", "a line of 10**12 units", {"lines": [{"sku": "PLAIN", "quantity": 10**12}]}, 422,
          "invalid-input", "lines", base=RECEIPT),
    _case("POST", "/receipts", "a line quantity as a string", {"lines": [{"sku": "PLAIN", "quantity": "10"}]}, 422,
          "invalid-input", "lines", "whole number", base=RECEIPT),
    _case("POST", "/receipts", "a storage bin as the dock", {"dock": "W1-A1"}, 422, "invalid-input", "dock",
          "not an active receiving location", base=RECEIPT),
    _case("POST", "/receipts", "another warehouse's dock", {"warehouse": "W2", "dock": "W1-DOCK"}, 422,
          "invalid-input", "dock", base=RECEIPT),
    _case("POST", "/receipts/import", "JSON instead of CSV", {"reference": "PO-1"}, 415, "unsupported-media-type",
          None, "text/csv"),
    _case("POST", "/receipts/import", "CSV that is not UTF-8", Raw(CSV_HEAD + b"PO-1,W1,PLAIN,5,caf\xe9\n", "text/csv"),
          422, "invalid-input", "csv", "not UTF-8"),
    _case("POST", "/receipts/import", "CSV without a quantity column",
          Raw(b"reference,warehouse,sku\nPO-1,W1,PLAIN\n", "text/csv"), 422, "invalid-input", "csv",
          "missing columns: quantity"),
    _case("POST", "/receipts/import", "CSV with only a header", Raw(CSV_HEAD, "text/csv"), 422, "invalid-input",
          "csv", "no rows"),
    _case("POST", "/receipts/import", "CSV rows with bad quantities and dates",
          Raw(CSV_HEAD + b"PO-1,W1,PLAIN,0,\nPO-1,W1,PLAIN,many,\nPO-2,W1,LOTTED,5,2030-02-30\n", "text/csv"), 422,
          "invalid-input", "row 3", "nothing was imported"),
    _case("POST", "/receipts/import", "CSV with a good receipt and one of an unknown sku",
          Raw(CSV_HEAD + b"PO-1,W1,PLAIN,5,\nPO-2,W1,NOPE,5,\n", "text/csv"), 422, "invalid-input", "lines.0.sku",
          "unknown SKU"),
    _case("POST", "/receipts/import", "CSV over the size limit",
          Raw(CSV_HEAD + b"PO-1,W1,PLAIN,5,\n" * (MIB // 16 + 1), "text/csv"), 413, "payload-too-large"),
    _case("POST", "/receipts/<int:task_id>/lines", "unknown receipt in the URL", {"sku": "PLAIN"}, 404, "not-found",
          None, str(NO_SUCH_ID), path=f"/receipts/{NO_SUCH_ID}/lines"),
    _case("POST", "/putaway-tasks", "unknown warehouse", {"warehouse": "W7"}, 422, "invalid-input", "warehouse",
          "unknown warehouse"),
    _case("POST", "/putaway-tasks", "unknown source", {"warehouse": "W1", "source": "W1-Z9"}, 422, "invalid-input",
          "source", "unknown location"),
    _case("POST", "/putaway-tasks", "a source in another warehouse", {"warehouse": "W2", "source": "W1-DOCK"}, 422,
          "invalid-input", "source"),
    _case("POST", "/putaway-tasks", "nothing waiting in receiving", {"warehouse": "W1"}, 422, "invalid-input",
          "source", "nothing is waiting"),
    _case("POST", "/count-tasks", "unknown warehouse", {"warehouse": "W7", "locations": ["W1-A1"]}, 422,
          "invalid-input", "warehouse", "unknown warehouse"),
    _case("POST", "/count-tasks", "unknown bin", {"warehouse": "W1", "locations": ["W1-Z9"]}, 422, "invalid-input",
          "locations", "unknown location"),
    _case("POST", "/count-tasks", "a bin of another warehouse", {"warehouse": "W2", "locations": ["W1-A1"]}, 422,
          "invalid-input", "locations", "not bins of W2"),
    _case("POST", "/count-tasks", "neither bins nor a zone", {"warehouse": "W1"}, 422, "invalid-input", "locations"),
    _case("POST", "/count-tasks", "unknown zone", {"warehouse": "W1", "zone": "Z9"}, 422, "invalid-input", "zone"),
    _case("POST", "/count-tasks", "an empty list of bins", {"warehouse": "W1", "locations": []}, 422,
          "invalid-input", "locations"),
    _case("POST", "/count-tasks/<int:task_id>/lines", "unknown count in the URL",
          {"location": "W1-A1", "sku": "PLAIN"}, 404, "not-found", None, str(NO_SUCH_ID),
          path=f"/count-tasks/{NO_SUCH_ID}/lines"),
    _case("POST", "/tasks/<int:task_id>/lines/<int:line_no>/confirm", "unknown task in the URL", {"quantity": 1},
          404, "not-found", None, str(NO_SUCH_ID), path=f"/tasks/{NO_SUCH_ID}/lines/1/confirm"),
    _case("POST", "/tasks/<int:task_id>/lines/<int:line_no>/confirm", "negative count", {"quantity": -1}, 422,
          "invalid-input", "quantity", path=f"/tasks/{NO_SUCH_ID}/lines/1/confirm"),
    _case("POST", "/tasks/<int:task_id>/lines/<int:line_no>/confirm", "count as a float", {"quantity": 1.5}, 422,
          "invalid-input", "quantity", "whole number", path=f"/tasks/{NO_SUCH_ID}/lines/1/confirm"),
    _case("POST", "/tasks/<int:task_id>/cancel", "unknown task in the URL", {"reason": "ordered twice"}, 404,
          "not-found", None, str(NO_SUCH_ID), path=f"/tasks/{NO_SUCH_ID}/cancel"),
    _case("POST", "/tasks/<int:task_id>/cancel", "blank reason", {"reason": " "}, 422, "invalid-input", "reason",
          path=f"/tasks/{NO_SUCH_ID}/cancel"),
    *[_case("POST", f"/discrepancies/<int:discrepancy_id>/{decision}", "unknown discrepancy in the URL", body, 404,
            "not-found", None, str(NO_SUCH_ID), path=f"/discrepancies/{NO_SUCH_ID}/{decision}")
      for decision, body in [("approve", {"reason_code": "count_correction", "reason": "recounted"}),
                             ("reject", {"reason": "miscounted"}), ("recount", {"reason": "disagree"})]],
    _case("POST", "/discrepancies/<int:discrepancy_id>/approve", "unknown reason code",
          {"reason_code": "because", "reason": "recounted"}, 422, "invalid-input", "reason_code",
          path=f"/discrepancies/{NO_SUCH_ID}/approve"),
    _case("PUT", "/verification-policies/<workflow>", "unknown workflow in the URL", {"policy": "two_person"}, 404,
          "not-found", None, "shipping", path="/verification-policies/shipping"),
    _case("PUT", "/verification-policies/<workflow>", "unknown policy", {"policy": "three_person"}, 422,
          "invalid-input", "policy", path="/verification-policies/counting"),
    _case("PUT", "/verification-policies/<workflow>", "sample over 100%", {"policy": "sampled", "sample_percent": 101},
          422, "invalid-input", "sample_percent", path="/verification-policies/counting"),
    _case("PUT", "/verification-policies/<workflow>", "negative value threshold",
          {"policy": "two_person", "two_person_from_value": "-1"}, 422, "invalid-input", "two_person_from_value",
          path="/verification-policies/counting"),
    _case("POST", "/pick-tasks", "unknown warehouse", {"warehouse": "W7"}, 422, "invalid-input", "warehouse",
          "unknown warehouse", base=PICK),
    _case("POST", "/pick-tasks", "unknown sku",
          {"orders": [{"order": "SO-1", "lines": [{"sku": "NOPE", "quantity": 1}]}]}, 422, "invalid-input",
          "orders.0.lines.0.sku", "unknown SKU", base=PICK),
    _case("POST", "/pick-tasks", "a serial-tracked item",
          {"orders": [{"order": "SO-1", "lines": [{"sku": "SERIAL", "quantity": 1}]}]}, 422, "invalid-input",
          "orders.0.lines.0.sku", "serial-tracked", base=PICK),
    _case("POST", "/pick-tasks", "an order listed twice",
          {"orders": [{"order": "SO-1", "lines": [{"sku": "PLAIN", "quantity": 1}]}] * 2}, 422, "invalid-input",
          "orders.1.order", "listed twice", base=PICK),
    _case("POST", "/pick-tasks", "no orders", {"orders": []}, 422, "invalid-input", "orders", base=PICK),
    _case("POST", "/pick-tasks", "an order without lines", {"orders": [{"order": "SO-1", "lines": []}]}, 422,
          "invalid-input", "orders", base=PICK),
    _case("POST", "/pick-tasks", "a line of zero units",
          {"orders": [{"order": "SO-1", "lines": [{"sku": "PLAIN", "quantity": 0}]}]}, 422, "invalid-input",
          "orders", base=PICK),
    _case("POST", "/pick-tasks", "a storage bin as packing station", {"packing": "W1-A1"}, 422, "invalid-input",
          "packing", "not an active packing location", base=PICK),
    _case("POST", "/pick-tasks", "nothing in stock to reserve", {"warehouse": "W2"}, 409, "insufficient-stock",
          None, "Nothing can be reserved", base=PICK),
    _case("POST", "/returns", "unknown warehouse", {"warehouse": "W7"}, 422, "invalid-input", "warehouse",
          "unknown warehouse", base=RETURN),
    _case("POST", "/returns", "a warehouse without a returns location", {"warehouse": "W2"}, 422, "invalid-input",
          "location", "no returns location", base=RETURN),
    _case("POST", "/returns", "a storage bin as returns location", {"location": "W1-A1"}, 422, "invalid-input",
          "location", "not an active returns location", base=RETURN),
    _case("POST", "/returns", "unknown sku", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "invalid-input",
          "lines.0.sku", "unknown SKU", base=RETURN),
    _case("POST", "/returns", "a serial-tracked item", {"lines": [{"sku": "SERIAL", "quantity": 1}]}, 422,
          "invalid-input", "lines.0.sku", "serial-tracked", base=RETURN),
    _case("POST", "/returns", "no lines", {"lines": []}, 422, "invalid-input", "lines", base=RETURN),
    _case("POST", "/returns", "an RMA already being received", {"rma": "RMA-LIVE"}, 409, "conflict", None,
          "already being received", base=RETURN),
    # ---- orders
    _case("POST", "/orders", "unknown sku", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "invalid-input",
          "lines.0.sku", "unknown SKU", base=ORDER),
    _case("POST", "/orders", "zero quantity", {"lines": [{"sku": "PLAIN", "quantity": 0}]}, 422, "invalid-input",
          "lines", base=ORDER),
    _case("POST", "/orders", "negative quantity", {"lines": [{"sku": "PLAIN", "quantity": -1}]}, 422,
          "invalid-input", "lines", base=ORDER),
    _case("POST", "/orders", "absurd quantity", {"lines": [{"sku": "PLAIN", "quantity": 10**12}]}, 422,
          "invalid-input", "lines", base=ORDER),
    _case("POST", "/orders", "a SKU listed twice", {"lines": [{"sku": "PLAIN", "quantity": 1}] * 2}, 422,
          "invalid-input", "lines.1.sku", "listed twice", base=ORDER),
    _case("POST", "/orders", "a serial-tracked item", {"lines": [{"sku": "SERIAL", "quantity": 1}]}, 422,
          "invalid-input", "lines.0.sku", "serial-tracked", base=ORDER),
    _case("POST", "/orders", "latitude 91", {"ship_to": {"latitude": 91, "longitude": 5.1}}, 422, "invalid-input",
          "ship_to", base=ORDER),
    _case("POST", "/orders", "longitude without latitude", {"ship_to": {"longitude": 5.1}}, 422, "invalid-input",
          "ship_to", base=ORDER),
    _case("POST", "/orders", "unknown postcode", {"ship_to": {"postcode": "0000 ZZ", "country": "NL"}}, 422,
          "invalid-input", "ship_to.postcode", "unknown postcode", base=ORDER),
    _case("POST", "/orders", "a three-letter country", {"ship_to": {"postcode": "1012", "country": "NLD"}}, 422,
          "invalid-input", "ship_to", base=ORDER),
    _case("PUT", "/orders/<int:order_id>/lines", "no such order", {"lines": [{"sku": "PLAIN", "quantity": 1}]}, 404,
          "not-found", None, "No order", path=f"/orders/{NO_SUCH_ID}/lines"),
    _case("PUT", "/orders/<int:order_id>/lines", "no lines", {"lines": []}, 422, "invalid-input", "lines",
          path=f"/orders/{NO_SUCH_ID}/lines"),
    _case("POST", "/orders/<int:order_id>/pay", "no such order", None, 404, "not-found", None, "No order",
          path=f"/orders/{NO_SUCH_ID}/pay"),
    _case("POST", "/orders/<int:order_id>/allocate", "no such order", None, 404, "not-found", None, "No order",
          path=f"/orders/{NO_SUCH_ID}/allocate"),
    _case("POST", "/orders/<int:order_id>/cancel", "no such order", None, 404, "not-found", None, "No order",
          path=f"/orders/{NO_SUCH_ID}/cancel"),
    _case("POST", "/orders/<int:order_id>/ship", "no such order", None, 404, "not-found", None, "No order",
          path=f"/orders/{NO_SUCH_ID}/ship"),
    _case("PUT", "/replenishment/rules", "unknown sku", {"sku": "NOPE"}, 422, "invalid-input", "sku", "NOPE",
          base=RULE),
    _case("PUT", "/replenishment/rules", "maximum below minimum", {"minimum": 5, "maximum": 4}, 422,
          "invalid-input", "maximum", "at least the minimum", base=RULE),
    _case("PUT", "/replenishment/rules", "negative minimum", {"minimum": -1}, 422, "invalid-input", "minimum",
          base=RULE),
    _case("PUT", "/replenishment/rules", "a storage bin as pick face", {"location": "W1-A1"}, 422, "invalid-input",
          "location", "pick face", base=RULE),
    _case("PUT", "/replenishment/rules", "another warehouse's bin", {"location": "W2-A1"}, 422, "invalid-input",
          "location", "not a location of W1", base=RULE),
    _case("PUT", "/replenishment/rules", "a supplier for a pick face", {"location": "W1-P1", "supplier": "Acme"},
          422, "invalid-input", "supplier", "reserve", base=RULE),
    _case("POST", "/replenishment/purchase-orders/<int:purchase_order_id>/receipt", "no such purchase order", None,
          404, "not-found", None, "No purchase order", path=f"/replenishment/purchase-orders/{NO_SUCH_ID}/receipt"),
    _case("POST", "/orders/pick-tasks", "unknown order", {"warehouse": "W1", "orders": [NO_SUCH_ID]}, 422,
          "invalid-input", "orders", "unknown order"),
    _case("POST", "/orders/pick-tasks", "an order listed twice", {"warehouse": "W1", "orders": [1, 1]}, 422,
          "invalid-input", "orders", "listed twice"),
    _case("POST", "/orders/pick-tasks", "unknown warehouse", {"warehouse": "W7", "orders": [1]}, 422,
          "invalid-input", "warehouse", "unknown warehouse"),
    # ---- signing out with bad credentials
    _case("POST", "/auth/logout", "Basic instead of Bearer", None, 401, "unauthenticated", None, "Bearer",
          as_=None, headers={"Authorization": "Basic b3AxOjExMTE="}),
    _case("POST", "/auth/logout", "empty bearer token", None, 401, "unauthenticated", None, "Bearer",
          as_=None, headers={"Authorization": "Bearer "}),
    _case("POST", "/auth/logout", "unknown bearer token", None, 401, "unauthenticated", None, "unknown",
          as_=None, headers={"Authorization": "Bearer wh_not-a-real-token"}),
    _case("POST", "/auth/logout", "no credentials", None, 401, "unauthenticated", as_=None),
    # ---- signing in with well-formed but impossible values
    _case("POST", "/auth/login/badge", "blank PIN", {"badge": "BADGE-OP1", "pin": ""}, 422, "invalid-input",
          "pin", as_=None),
    _case("POST", "/auth/login/password", "password as a number", {"username": "super1", "password": 1234567890},
          422, "invalid-input", "password", "not a valid string", as_=None),
    _case("POST", "/auth/login/password", "TOTP code as a number",
          {"username": "super1", "password": CAST_PASSWORD, "totp": 123456}, 422, "invalid-input", "totp",
          as_=None),
    _case("POST", "/auth/totp/enrol", "code too long", {"enrolment_token": "t", "code": "1" * 17}, 422,
          "invalid-input", "code", as_=None),
]

# Known product bugs outside the code this file may change: the test states what a user should get.
# Refusals that once were bugs (a 500, a stored NUL, a 404 for a body field), kept as cases.
CASES += [
    _case("POST", "/receipts/import", "CSV with a NUL in a reference",
          Raw(CSV_HEAD + b"PO\x001,W1,PLAIN,5,\n", "text/csv"), 422, "invalid-input", None, "NUL"),
    _case("POST", "/tokens", "unknown user", {"user": "nobody"}, 422, "invalid-input", "user", "nobody",
          base=TOKEN),
    # ---- webhooks
    _case("POST", "/webhooks/subscriptions", "an ftp URL", {"url": "ftp://orders.example.com/hooks"}, 422,
          "invalid-input", "url", "http", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "a javascript: URL", {"url": "javascript:alert(1)"}, 422,
          "invalid-input", "url", "http", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "a URL without a host", {"url": "https:///hooks"}, 422,
          "invalid-input", "url", "host", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "a URL with a space", {"url": "https://orders.example.com/a b"}, 422,
          "invalid-input", "url", "spaces", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "a port out of range", {"url": "https://orders.example.com:99999/"},
          422, "invalid-input", "url", "port", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "an unknown event type", {"events": ["stock.changed", "stock.stolen"]},
          422, "invalid-input", "events", "stock.stolen", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "no event types", {"events": []}, 422, "invalid-input", "events",
          "at least one", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "an empty event type", {"events": [""]}, 422, "invalid-input",
          "events", base=HOOK),
    _case("POST", "/webhooks/subscriptions", "a URL too long", {"url": "https://x.example/" + "a" * 2000}, 422,
          "invalid-input", "url", base=HOOK),
    _case("PATCH", "/webhooks/subscriptions/<int:subscription_id>", "unknown subscription in the URL",
          {"active": False}, 404, "not-found", None, str(NO_SUCH_ID), path=f"/webhooks/subscriptions/{NO_SUCH_ID}"),
    _case("PATCH", "/webhooks/subscriptions/<int:subscription_id>", "an ftp URL", {"url": "ftp://x.example/"}, 422,
          "invalid-input", "url", "http", path=f"/webhooks/subscriptions/{NO_SUCH_ID}"),
    _case("PATCH", "/webhooks/subscriptions/<int:subscription_id>", "an unknown event type",
          {"events": ["order.lost"]}, 422, "invalid-input", "events", "order.lost",
          path=f"/webhooks/subscriptions/{NO_SUCH_ID}"),
    _case("POST", "/webhooks/subscriptions/<int:subscription_id>/rotate-secret", "unknown subscription in the URL",
          None, 404, "not-found", None, str(NO_SUCH_ID), path=f"/webhooks/subscriptions/{NO_SUCH_ID}/rotate-secret"),
    _case("POST", "/webhooks/deliveries/<int:delivery_id>/redeliver", "unknown delivery in the URL", None, 404,
          "not-found", None, str(NO_SUCH_ID), path=f"/webhooks/deliveries/{NO_SUCH_ID}/redeliver"),
]

# ---- labels and camera frames (warehouse/labels/)
PRINT = {"kind": "location", "code": "W1-A1", "copies": 1}
JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
CASES += [
    _case("POST", "/labels/print", "an unknown kind of label", {"kind": "pallet"}, 422, "invalid-input", "kind",
          base=PRINT),
    _case("POST", "/labels/print", "no copies", {"copies": 0}, 422, "invalid-input", "copies", base=PRINT),
    _case("POST", "/labels/print", "a thousand copies", {"copies": 1000}, 422, "invalid-input", "copies", base=PRINT),
    _case("POST", "/labels/print", "an unknown location", {"code": "W1-NOPE"}, 422, "invalid-input", "code",
          "W1-NOPE", base=PRINT),
    _case("POST", "/labels/print", "an unknown SKU", {"kind": "item", "code": "NOPE"}, 422, "invalid-input", "code",
          "NOPE", base=PRINT),
    _case("POST", "/labels/print", "an SSCC with a wrong check digit", {"kind": "sscc", "code": "106141411234567890"},
          422, "invalid-input", "code", "check digit", base=PRINT),
    _case("POST", "/labels/print", "an SSCC too short", {"kind": "sscc", "code": "1234"}, 422, "invalid-input",
          "code", "18 digits", base=PRINT),
    _case("POST", "/labels/print", "a virtual location", {"code": "V-SUPPLIER"}, 404, "not-found", None, "virtual",
          base=PRINT),
    _case("POST", "/labels/print", "no printer configured", {}, 503, "printer-not-configured", None,
          "WAREHOUSE_LABEL_PRINTER", base=PRINT),
    _case("POST", "/labels/print", "an operator", {}, 403, "forbidden", None, "tasks:manage", base=PRINT, as_="op1"),
    _case("POST", "/scans/decode", "JSON instead of an image", {"raw": "W1-A1"}, 415, "unsupported-media-type", None,
          "image/jpeg or image/png"),
    _case("POST", "/scans/decode", "text/plain", Raw("W1-A1", "text/plain"), 415, "unsupported-media-type", None,
          "text/plain"),
    _case("POST", "/scans/decode", "no content type", Raw(b"\xff\xd8", None), 415, "unsupported-media-type", None,
          "none"),
    _case("POST", "/scans/decode", "an empty JPEG", Raw(b"", "image/jpeg"), 422, "invalid-input", "image",
          "not a jpeg or png"),
    _case("POST", "/scans/decode", "a GIF sent as PNG", Raw(b"GIF89a\x01\x00\x01\x00", "image/png"), 422,
          "invalid-input", "image", "not a jpeg or png"),
    _case("POST", "/scans/decode", "a JPEG cut off in its header", Raw(JPEG_START, "image/jpeg"), 422,
          "invalid-input", "image", "truncated"),
    _case("POST", "/scans/decode", "a PNG declaring 100000x100000 pixels",
          Raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x00\x00\x00\x00",
              "image/png"), 422, "invalid-input", "image", "at most"),
    _case("POST", "/scans/decode", "one byte over the size limit", Raw(b"\xff\xd8" + b"\x00" * MIB, "image/jpeg"),
          413, "payload-too-large", None, f"larger than {MIB} bytes"),
    _case("POST", "/scans/decode", "no credentials", Raw(JPEG_START, "image/jpeg"), 401, "unauthenticated", as_=None),
]
CASES_BY_ENDPOINT: dict[tuple[str, str], list[Case]] = {}
for _c in CASES:
    CASES_BY_ENDPOINT.setdefault((_c.method, _c.rule), []).append(_c)


def refuse_case(app: Flask, api: Api, db: Database, case: Case) -> None:
    as_ = caller(app, api, (case.method, case.rule)) if case.as_ == AUTO else case.as_
    doc = refused(api, db, case.method, case.path, case.body, status=case.status, problem=case.problem,
                  field=case.field, says=case.says, as_=as_, headers=case.headers)
    for name, value in case.extra.items():
        assert doc.get(name) == value, (name, doc)


@pytest.mark.parametrize("endpoint", list(CASES_BY_ENDPOINT), ids=" ".join)
def test_each_rule_is_enforced_with_a_problem_and_nothing_written(app: Flask, api: Api, db: Database,
                                                                 stocked: dict[str, Any],
                                                                 endpoint: tuple[str, str]) -> None:
    failures = []
    for case in CASES_BY_ENDPOINT[endpoint]:
        try:
            refuse_case(app, api, db, case)
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
    assert not failures, "\n".join(failures)


def test_nul_in_sign_in_fields_is_refused_before_anything_is_looked_up(app: Flask, api: Api, db: Database, site: dict[str, Any]) -> None:
    for endpoint in SIGN_IN_ENDPOINTS:
        method, _ = endpoint
        valid = VALID_BODIES[endpoint]
        attempts = [Attempt(f"NUL in {name}", {**valid, name: f"{valid.get(name, 'x')}\x00"}, 422, "invalid-input",
                            name) for name, declared in body_schema(app, endpoint).fields.items()
                    if isinstance(declared, fields.String)]
        attempt_all(api, db, method, BODY_ENDPOINTS[endpoint], attempts, as_=None)


def test_signing_out_a_cookie_session_without_the_csrf_header_is_refused(api: Api, db: Database) -> None:
    signed_in = api.post(f"{V1}/auth/login/badge", {"badge": "BADGE-OP1", "pin": "1111"}, as_=None)
    assert signed_in.status_code == 200, signed_in.get_json()
    refused(api, db, "POST", f"{V1}/auth/logout", None, status=403, problem="forbidden", says="X-CSRF-Token",
            as_=None)
    assert api.get(f"{V1}/auth/me", as_=None).get_json()["username"] == "op1"  # still signed in


# ---------------------------------------------------------------- Idempotency-Key

def _on_hand(api: Api, sku: str = "PLAIN", location: str = "W1-A1") -> int:
    rows = api.ok("GET", f"{V1}/stock?sku={sku}&location={location}")
    return sum(row["on_hand"] for row in rows)


def test_unusable_idempotency_key_is_422(api: Api, db: Database, stocked: dict[str, Any]) -> None:
    for key in ["k" * 201, "   ", "tab\tinside", "bell\x07", "nul\x00"]:
        refused(api, db, "POST", f"{V1}/stock/adjustments", ADJ, status=422, problem="invalid-input",
                field="Idempotency-Key", says="200 printable characters", headers={"Idempotency-Key": key})


def test_idempotency_key_of_200_characters_is_accepted(api: Api, stocked: dict[str, Any]) -> None:
    """Control for the limit above: the 201st character is what is refused."""
    response = api.post(f"{V1}/stock/adjustments", ADJ, headers={"Idempotency-Key": "k" * 200})
    assert response.status_code == 201, response.get_json()


def test_replayed_key_with_the_same_body_gives_the_same_answer_and_one_move(api: Api, db: Database,
                                                                          stocked: dict[str, Any]) -> None:
    path, headers = f"{V1}/stock/adjustments", {"Idempotency-Key": "scan-0001"}
    body = {**ADJ, "quantity": 4}
    on_hand, moves = _on_hand(api), count_moves(db)
    first = api.post(path, body, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    after_first = snapshot(db)
    # The same JSON, keys in another order and other whitespace: the same request.
    same = json.dumps(dict(reversed(list(body.items()))), indent=2)
    for replay in (api.post(path, body, headers=headers), send(api, "POST", path, Raw(same), headers=headers)):
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.get_json() == first.get_json()
    assert snapshot(db) == after_first  # the replays wrote nothing: no move, no ledger seq, no audit row
    assert count_moves(db) == moves + 1
    assert _on_hand(api) == on_hand + 4


def test_replayed_key_with_another_body_is_422_and_writes_nothing(api: Api, db: Database,
                                                                 stocked: dict[str, Any]) -> None:
    path, headers = f"{V1}/stock/adjustments", {"Idempotency-Key": "scan-0002"}
    first = api.post(path, ADJ, headers=headers)
    assert first.status_code == 201, first.get_json()
    on_hand = _on_hand(api)
    for other in ({**ADJ, "quantity": 2}, {**ADJ, "location": "W1-A2"}, {**ADJ, "reason": "another reason"}):
        refused(api, db, "POST", path, other, status=422, problem="idempotency-key-reused", says="new key",
                headers=headers)
    assert _on_hand(api) == on_hand
    assert _on_hand(api, location="W1-A2") == 0


def test_a_refused_request_does_not_use_up_its_idempotency_key(api: Api, db: Database,
                                                              stocked: dict[str, Any]) -> None:
    """A write-off beyond stock is refused and leaves no trace; the corrected retry with the same key runs."""
    path, headers = f"{V1}/stock/adjustments", {"Idempotency-Key": "scan-0003"}
    doc = refused(api, db, "POST", path, {**ADJ, "quantity": -50}, status=409, problem="insufficient-stock",
                  headers=headers)
    assert doc["available"] == 5
    retry = api.post(path, {**ADJ, "quantity": -5}, headers=headers)
    assert retry.status_code == 201, retry.get_json()
    assert "Idempotent-Replayed" not in retry.headers
    assert _on_hand(api) == 0


# ---------------------------------------------------------------- the guard

def coverage(app: Flask) -> dict[tuple[str, str], list[str]]:
    """(method, URL rule) -> the bad-input cases this file sends to it."""
    covered: dict[tuple[str, str], list[str]] = {}
    for endpoint in BODY_ENDPOINTS:
        covered.setdefault(endpoint, []).extend(
            [attempt.name for attempt in GENERIC_FAULTS]
            + ["an unknown field", "over the size limit"]
            + [attempt.name for attempt in field_attempts(endpoint, body_schema(app, endpoint))])
    for case in CASES:
        covered.setdefault((case.method, case.rule), []).append(case.name)
    covered[("POST", f"{V1}/auth/logout")].append("cookie session without the CSRF header")
    covered[("POST", f"{V1}/stock/adjustments")] += ["unusable Idempotency-Key", "key replayed with another body",
                                                     "refused request keeps its key free"]
    return covered


def test_every_write_endpoint_has_bad_input_cases(app: Flask) -> None:
    endpoints = {(method, rule.rule): rule for rule in app.url_map.iter_rules() if rule.rule.startswith(V1 + "/")
                 for method in rule.methods & WRITE_METHODS}
    assert ("POST", f"{V1}/auth/login/password") in endpoints  # sign-in counts too

    # BODY_ENDPOINTS lists exactly the write endpoints that declare a JSON body.
    with_body = {endpoint for endpoint, rule in endpoints.items()
                 if getattr(app.view_functions[rule.endpoint], "endpoint_spec", None) is not None
                 and app.view_functions[rule.endpoint].endpoint_spec.body is not None}
    assert set(BODY_ENDPOINTS) == with_body, (sorted(with_body - set(BODY_ENDPOINTS)),
                                              sorted(set(BODY_ENDPOINTS) - with_body))

    covered = coverage(app)
    missing = sorted(set(endpoints) - {endpoint for endpoint, cases in covered.items() if cases})
    assert not missing, f"write endpoints without bad-input cases in {__name__}: {missing}"
    stale = sorted(set(covered) - set(endpoints))
    assert not stale, f"cases for endpoints the app no longer has: {stale}"

    # Every case's URL reaches the endpoint it claims to test.
    adapter = app.url_map.bind("localhost")
    targets = [(method, rule, path) for (method, rule), path in BODY_ENDPOINTS.items()]
    targets += [(case.method, case.rule, case.path) for case in CASES
                if case.path != f"{V1}/tokens/abc"]
    for method, rule_text, path in targets:
        endpoint_name, _ = adapter.match(path, method=method)
        assert endpoint_name == endpoints[(method, rule_text)].endpoint, (method, path, rule_text)
