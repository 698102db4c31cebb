"""The HTTP edge every JSON endpoint goes through.

An endpoint is declared once, with its permission, input and output schemas:

    @api.post("/stock/adjustments", permission="stock:adjust", body=AdjustmentIn,
              response=MoveOut, status=201, idempotent=True)
    def create_adjustment(session, actor, body):
        return services.adjust(session, actor_id=actor.user_id, **body)

and this module does the rest, in the same order for every endpoint: authenticate, check the
permission (and CSRF for cookie sessions), parse and validate the input (nothing touches the
database until the input is valid), claim the Idempotency-Key, run the view inside one
transaction, dump the result, store it for replays in that same transaction, commit. The
declarations also feed the OpenAPI document, so the docs cannot drift from what is enforced.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

from flask import Blueprint, Response, current_app, g, request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError

from warehouse import idempotency
from warehouse.accounts.principal import Principal
from warehouse.db import Database
from warehouse.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The permission of endpoints open to every signed-in user, whatever their role.
ANY_USER = "signed-in"
SESSION_COOKIE = "warehouse_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Page:
    """A page of a list endpoint's results."""

    items: Sequence[Any]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class EndpointSpec:
    rule: str
    method: str
    permission: str | None
    summary: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    idempotent: bool = False
    paginated: bool = False
    many: bool = False
    tags: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def current_db() -> Database:
    return current_app.extensions["warehouse.db"]


def current_principal() -> Principal | None:
    """The authenticated caller of this request, or None (resolved once per request)."""
    if "principal" not in g:
        from warehouse.accounts import services as accounts

        g.principal = None
        db = current_db()
        header = request.headers.get("Authorization", "")
        with db.lookup() as connection:
            if header:
                scheme, _, token = header.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise Unauthenticated("Use 'Authorization: Bearer <token>'.")
                g.principal = accounts.principal_for_token(connection, token.strip())
                if g.principal is None:
                    raise Unauthenticated("The bearer token is unknown, expired or revoked.")
            elif request.cookies.get(SESSION_COOKIE):
                g.principal = accounts.principal_for_session(connection, request.cookies[SESSION_COOKIE])
        if g.principal is not None and g.principal.token_id is not None:
            accounts.note_token_use(db, g.principal.token_id)
    return g.principal


def require(permission: str | None) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthenticated("Sign in or send a bearer token.")
    if request.method not in SAFE_METHODS and principal.via == "session":
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, principal.csrf_token or ""):
            raise Forbidden(f"Missing or wrong {CSRF_HEADER} header for a cookie session.")
    if permission not in (None, ANY_USER) and not principal.can(permission):
        raise Forbidden(f"Your role ({principal.role.value}) may not do this (needs {permission}).")
    return principal


def json_body() -> Any:
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"Got Content-Type {request.mimetype or 'none'}; send application/json.")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise MalformedRequest("The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}.") from None
    except RecursionError:
        raise MalformedRequest("The body is not valid JSON: it is nested too deeply.") from None
    except ValueError:  # an integer literal longer than Python converts (sys.get_int_max_str_digits)
        raise MalformedRequest("The body is not valid JSON: it holds a number with too many digits.") from None


def unstorable(value: Any, *, nul: bool = True) -> bool:
    """Whether ``value`` holds text no database column can store: an unpaired surrogate (not
    encodable as UTF-8) or, with ``nul``, a NUL character (PostgreSQL refuses it). Walks nested JSON
    without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if (nul and "\x00" in item) or (not item.isascii() and any("\ud800" <= c <= "\udfff" for c in item)):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@functools.cache
def schema_instance(schema: type[Schema], *, many: bool = False) -> Schema:
    """One instance per schema, reused by every request: building one deep-copies all its fields, and
    loading or dumping keeps no state on the instance."""
    return schema(many=many)


def load(schema: type[Schema], data: Any, *, where: str, refuse_nul: bool = False) -> dict[str, Any]:
    """Validate ``data`` with ``schema``. Text that cannot be stored is refused first: unpaired surrogates
    always, NUL characters in a query string or with ``refuse_nul`` (a raw view that keeps NUL, such as a
    scan to be logged as it arrived, leaves it off)."""
    if not isinstance(data, dict):
        message = f"The {where} must be a JSON object."
        raise InvalidInput(message, errors={"_schema": [message]})
    nul = refuse_nul or where == "query string"
    bad = sorted(str(name) for name, value in data.items()
                 if unstorable(name, nul=nul) or unstorable(value, nul=nul))
    if bad:
        message = "Text may not contain unpaired surrogates" + (" or NUL characters." if nul else ".")
        raise InvalidInput(f"Invalid {where}: check {', '.join(bad)}.", errors={name: [message] for name in bad})
    try:
        return schema_instance(schema).load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields_text = ", ".join(sorted(messages))
        raise InvalidInput(f"Invalid {where}: check {fields_text}.", errors=messages) from None


def _query_args(schema: type[Schema]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name in request.args:
        values = request.args.getlist(name)
        declared = schema._declared_fields.get(name)
        is_list = declared is not None and declared.__class__.__name__ == "List"
        args[name] = values if is_list else values[-1]
    return args


def _page_headers(page: Page) -> dict[str, str]:
    headers = {"X-Total-Count": str(page.total)}
    last = max(1, math.ceil(page.total / page.per_page))
    links = []
    args = request.args.to_dict()

    def url(number: int) -> str:
        query = {**args, "page": str(number), "per_page": str(page.per_page)}
        return request.base_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())

    if page.page < last:
        links.append(f'<{url(page.page + 1)}>; rel="next"')
    if page.page > 1:
        links.append(f'<{url(page.page - 1)}>; rel="prev"')
    links.append(f'<{url(1)}>; rel="first"')
    links.append(f'<{url(last)}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return headers


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status=204, headers=headers)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return Response(body, status=status, mimetype="application/json", headers=headers)


@dataclass(frozen=True)
class WithStatus:
    """A view's result with a status other than the endpoint's declared one (e.g. 200 for a
    create that found the record an identical earlier request made)."""

    result: Any
    status: int


def _dump(spec: EndpointSpec, result: Any) -> tuple[Any, int, dict[str, str]]:
    status = spec.status
    if isinstance(result, WithStatus):
        result, status = result.result, result.status
    payload, headers = _dump_result(spec, result)
    return payload, status, headers


def _dump_result(spec: EndpointSpec, result: Any) -> tuple[Any, dict[str, str]]:
    if spec.response is None:
        return None, {}
    if spec.paginated:
        assert isinstance(result, Page)
        return schema_instance(spec.response, many=True).dump(result.items), _page_headers(result)
    return schema_instance(spec.response, many=spec.many).dump(result), {}


def _run(spec: EndpointSpec, view: Callable[..., Any], path: dict[str, Any]) -> Response:
    if spec.method == "GET":
        return _serve(spec, view, path)
    with current_db().writing():
        return _serve(spec, view, path)


def _serve(spec: EndpointSpec, view: Callable[..., Any], path: dict[str, Any]) -> Response:
    kwargs: dict[str, Any] = dict(path)
    principal = None if spec.permission is None else require(spec.permission)
    if principal is not None:
        kwargs["actor"] = principal
    if unstorable(list(path.values())):  # no code holds a NUL; the database could not even look it up
        raise NotFound(f"Nothing at {request.path!r}.")
    if spec.query is not None:
        kwargs["query"] = load(spec.query, _query_args(spec.query), where="query string")
    raw_body = None
    if spec.body is not None:
        raw_body = json_body()
        kwargs["body"] = load(spec.body, raw_body, where="body", refuse_nul=True)

    db = current_db()
    if spec.method == "GET":
        with db.reading() as session:
            payload, status, headers = _dump(spec, view(session, **kwargs))
        return json_response(payload, status, headers)

    claim: idempotency.Claim | None = None
    key = request.headers.get("Idempotency-Key")
    if spec.idempotent and key is not None and principal is not None:
        outcome = idempotency.claim(
            db, user_id=principal.user_id, key=idempotency.validate_key(key),
            fingerprint=idempotency.fingerprint(spec.method, request.path, raw_body),
            ttl=timedelta(hours=current_app.config["IDEMPOTENCY_HOURS"]))
        if isinstance(outcome, idempotency.Replay):
            return json_response(outcome.response, outcome.status_code, {"Idempotent-Replayed": "true"})
        claim = outcome
        kwargs["idempotency_key"] = key
    try:
        with db.transaction() as session:
            payload, status, headers = _dump(spec, view(session, **kwargs))
            if claim is not None:
                idempotency.complete(session, claim, status, payload)
    except BaseException:
        if claim is not None:
            idempotency.release(db, claim)
        raise
    return json_response(payload, status, headers)


class Api(Blueprint):
    """A blueprint whose routes are declared with ``get/post/patch/delete`` and run by ``_run``."""

    def endpoint(self, rule: str, *, method: str, permission: str | None, summary: str,
                 body: type[Schema] | None = None, query: type[Schema] | None = None,
                 response: type[Schema] | None = None, status: int = 200, idempotent: bool = False,
                 paginated: bool = False, many: bool = False, tags: Iterable[str] = (), errors: Iterable[int] = (),
                 public: bool = False, raw: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare an endpoint. ``raw`` views are plain Flask views (sign-in, which must commit the
        record of a failed attempt before answering) that are only documented from here."""
        if permission is None and not public:
            raise ValueError(f"{rule}: an endpoint needs a permission unless it is declared public")
        spec = EndpointSpec(rule=rule, method=method, permission=permission, summary=summary, body=body,
                            query=query, response=response, status=status, idempotent=idempotent,
                            paginated=paginated, many=many, tags=tuple(tags) or (self.name,), errors=tuple(errors))

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            accepted = frozenset(inspect.signature(view).parameters)

            def call(session: Any, **kwargs: Any) -> Any:
                return view(session, **{k: v for k, v in kwargs.items() if k in accepted})

            @functools.wraps(view)
            def wrapper(**path: Any) -> Response:
                return view(**path) if raw else _run(spec, call, path)

            wrapper.endpoint_spec = spec  # type: ignore[attr-defined]
            self.add_url_rule(rule, view.__name__, wrapper, methods=[method])
            return view

        return decorator

    def get(self, rule: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        return self.endpoint(rule, method="GET", **kwargs)

    def post(self, rule: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        return self.endpoint(rule, method="POST", **kwargs)

    def put(self, rule: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        return self.endpoint(rule, method="PUT", **kwargs)

    def patch(self, rule: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        return self.endpoint(rule, method="PATCH", **kwargs)

    def delete(self, rule: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        return self.endpoint(rule, method="DELETE", **kwargs)


def database_error(exc: Exception) -> DomainError | None:
    """The client's view of a database error that escaped a service; None for our own bugs."""
    if isinstance(exc, IntegrityError):
        return Conflict("The change conflicts with existing data (it may have been made concurrently); "
                        "reload and retry.")
    if isinstance(exc, OperationalError):  # lock timeouts, deadlocks, a lost connection: transient
        return ServiceUnavailable("The database is busy; retry shortly.", headers={"Retry-After": "1"})
    return None
