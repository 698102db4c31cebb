"""The OpenAPI 3 document, built from the endpoint declarations and their marshmallow schemas,
and the human docs page rendered from that same document (served from local files only)."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from marshmallow import Schema, fields

from warehouse import __version__
from warehouse.api import ANY_USER, EndpointSpec, current_principal, json_response, require

ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Not signed in, or the token is unknown, expired or revoked",
    403: "Signed in, but the role or token scopes do not allow this (or a cookie session sent no CSRF token)",
    404: "No such record",
    409: "Conflicts with the current state (not enough stock, already exists, request still in progress)",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Invalid input; `errors` names each field and what is wrong with it",
    429: "Too many attempts; see Retry-After",
    503: "Database unavailable or busy; retry",
}

DESCRIPTION = """\
REST API of the warehouse operations service.

**Authentication.** Send `Authorization: Bearer <token>` (tokens are created by an admin with
`warehouse token create --user NAME` or `POST /api/v1/tokens`), or sign in from a browser
(`/api/v1/auth/login/...`), which sets a session cookie; cookie sessions must send the
`X-CSRF-Token` header from the sign-in response on every state-changing request.

**Errors** are `application/problem+json` (RFC 9457) with a stable `type` URN, `title`,
`detail` and, for invalid input, `errors` keyed by field.

**Idempotency.** Endpoints marked *idempotent* accept an `Idempotency-Key` header: a retry with
the same key and body returns the stored response (with `Idempotent-Replayed: true`); the same
key with a different body is 422; a retry while the first request still runs is 409.

**Lists** are JSON arrays, paginated with `page` and `per_page`; the `Link` header carries
`next`/`prev`/`first`/`last` and `X-Total-Count` the total. The ledger feed
`/api/v1/stock/changes` pages by sequence number instead.
"""


class ProblemOut(Schema):
    type = fields.String(metadata={"example": "urn:warehouse:problem:invalid-input"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Per-field messages, for invalid input."})


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _operation(endpoint: str, spec: EndpointSpec, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"{([^}]+)}", path)],
        "responses": {},
    }
    if spec.permission is None:
        operation["security"] = []
    else:
        operation["x-permission"] = "any signed-in user" if spec.permission == ANY_USER else spec.permission
    if spec.query is not None:
        operation["parameters"].append({"in": "query", "schema": spec.query})
    if spec.idempotent:
        operation["x-idempotent"] = True
        operation["parameters"].append({
            "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 200},
            "description": "Makes a retry safe: the same key and body returns the first response."})
    if spec.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec.body}}}
    success: dict[str, Any] = {"description": "Success"}
    if spec.response is not None:
        schema: Any = spec.response(many=True) if spec.paginated or spec.many else spec.response
        success["content"] = {"application/json": {"schema": schema}}
    if spec.paginated:
        success["headers"] = {
            "Link": {"schema": {"type": "string"}, "description": "RFC 8288 links: next, prev, first, last"},
            "X-Total-Count": {"schema": {"type": "integer"}, "description": "Rows over all pages"},
        }
    operation["responses"][str(spec.status)] = success
    error_codes = set(spec.errors) | ({401, 403} if spec.permission is not None else set())
    if spec.body is not None:
        error_codes |= {400, 413, 415, 422}
    if spec.query is not None:
        error_codes.add(422)
    for code in sorted(error_codes):
        operation["responses"][str(code)] = {"$ref": f"#/components/responses/Problem{code}"}
    return operation


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="Warehouse operations API", version=__version__, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], info={"description": DESCRIPTION})
    spec.components.schema("Problem", schema=ProblemOut)
    for code, description in ERROR_DESCRIPTIONS.items():
        spec.components.response(f"Problem{code}", {
            "description": description,
            "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.security_scheme("bearerToken", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("sessionCookie", {"type": "apiKey", "in": "cookie", "name": "warehouse_session"})
    spec.options["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
    operations: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint_spec: EndpointSpec | None = getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)
        if endpoint_spec is None:
            continue
        path = _path(rule.rule)
        operations.setdefault(path, {})[endpoint_spec.method.lower()] = _operation(rule.endpoint, endpoint_spec, path)
    for path, path_operations in operations.items():
        spec.path(path=path, operations=path_operations)
    document = spec.to_dict()
    document["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
    return document


def openapi_document() -> dict[str, Any]:
    cache = current_app.extensions.setdefault("warehouse.openapi", {})
    if "document" not in cache:
        cache["document"] = build_spec(current_app)
    return cache["document"]


docs = Blueprint("docs", __name__)


@docs.get("/api/v1/openapi.json")
def openapi_json() -> Any:
    require(ANY_USER)
    return json_response(openapi_document(), 200)


def _schema_name(ref_or_schema: dict[str, Any] | None) -> str | None:
    if not ref_or_schema:
        return None
    if "$ref" in ref_or_schema:
        return ref_or_schema["$ref"].rsplit("/", 1)[-1]
    if ref_or_schema.get("type") == "array" and "$ref" in ref_or_schema.get("items", {}):
        return ref_or_schema["items"]["$ref"].rsplit("/", 1)[-1] + "[]"
    return None


@docs.get("/api/docs")
def docs_page() -> Any:
    if current_principal() is None:
        return redirect(url_for("web.signin", next=request.path))
    require(ANY_USER)
    document = openapi_document()
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = []
            for code, response in operation["responses"].items():
                if "$ref" in response:
                    responses.append({"code": code, "schema": "Problem",
                                      "description": ERROR_DESCRIPTIONS[int(code)]})
                else:
                    content = response.get("content", {}).get("application/json", {}).get("schema")
                    responses.append({"code": code, "schema": _schema_name(content),
                                      "description": response["description"]})
            by_tag.setdefault(operation["tags"][0], []).append({
                "method": method.upper(), "path": path, "operation": operation,
                "body": _schema_name(body), "responses": responses,
                "query": [p for p in operation.get("parameters", []) if p["in"] in ("query", "header")],
            })
    return render_template("docs.html", document=document, by_tag=sorted(by_tag.items()),
                           schemas=document["components"]["schemas"])
