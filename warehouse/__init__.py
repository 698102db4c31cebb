"""Warehouse operations service."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

__version__ = "0.1.0"

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(config: Mapping[str, Any] | None = None, *, db: Any = None) -> Flask:
    """Build the application. ``config`` overrides settings; ``db`` replaces the Database (tests)."""
    from warehouse import live_fanout
    from warehouse.config import load_settings
    from warehouse.db import Database
    from warehouse.realtime import socketio

    settings = load_settings(overrides=config)
    app = Flask(__name__, instance_path=settings["INSTANCE_DIR"])
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(level=settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    app.session_interface = _NoCookieSession()
    app.extensions["warehouse.db"] = db or Database(settings["DATABASE_URL"])
    _register_blueprints(app)
    _register_error_handlers(app)
    app.after_request(_security_headers)

    socketio.init_app(app, message_queue=settings["REDIS_URL"], channel=settings["REDIS_CHANNEL"],
                      async_mode="threading",
                      cors_allowed_origins=[], logger=False, engineio_logger=False)
    # Room emits are written once per event and sent to each websocket by the emitting thread, instead of
    # waking a writer thread per client (see warehouse/live_fanout.py and bench/README.md).
    live_fanout.install(socketio.server)
    return app


class _NoCookieSession(SessionInterface):
    """Flask's signed-cookie session is not used: sign-in sessions live in the database with their own
    cookie (``warehouse.api``). Left on, it built a signing serializer for every request."""

    def open_session(self, app: Flask, request: Request) -> Any:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


def _register_blueprints(app: Flask) -> None:
    from warehouse.accounts.routes import api as accounts
    from warehouse.catalog.routes import api as catalog
    from warehouse.counting.routes import api as counting
    from warehouse.labels.routes import api as labels
    from warehouse.locations.routes import api as locations
    from warehouse.openapi import docs
    from warehouse.orders.routes import api as orders
    from warehouse.picking.routes import api as picking
    from warehouse.putaway.routes import api as putaway
    from warehouse.receiving.routes import api as receiving
    from warehouse.replenishment.routes import api as replenishment
    from warehouse.reports.routes import api as reports
    from warehouse.returns.routes import api as returns
    from warehouse.scanning.routes import api as scanning
    from warehouse.stock.routes import api as stock
    from warehouse.system.routes import api as system
    from warehouse.tasks.routes import api as tasks
    from warehouse.web import web
    from warehouse.webhooks.routes import api as webhooks
    from scanner_ui import ui

    for blueprint in (system, accounts, catalog, locations, stock, scanning, tasks, receiving, putaway, counting,
                      returns, picking, orders, webhooks, reports, replenishment, labels):
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(docs)
    app.register_blueprint(web)
    app.register_blueprint(ui)


def _problem(error: Any) -> Response:
    from warehouse.api import json_response
    from warehouse.errors import PROBLEM_MEDIA_TYPE

    response = json_response(error.to_problem(instance=request.path), error.status, error.headers)
    response.mimetype = PROBLEM_MEDIA_TYPE
    return response


def _register_error_handlers(app: Flask) -> None:
    from warehouse import errors
    from warehouse.api import database_error

    http_errors = {400: errors.MalformedRequest, 401: errors.Unauthenticated, 403: errors.Forbidden,
                   404: errors.NotFound, 405: errors.MethodNotAllowed, 413: errors.PayloadTooLarge,
                   415: errors.UnsupportedMediaType}

    @app.errorhandler(errors.DomainError)
    def domain_error(error: errors.DomainError) -> Response:
        return _problem(error)

    @app.errorhandler(ValidationError)
    def validation_error(error: ValidationError) -> Response:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return _problem(errors.InvalidInput("Invalid input.", errors=messages))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        kind = http_errors.get(error.code or 500)
        if kind is None:
            problem = errors.DomainError(error.description)
            problem.status, problem.title = error.code or 500, error.name
        else:
            detail = {404: f"No route {request.path}.", 405: f"{request.method} is not allowed on {request.path}.",
                      413: f"The body is larger than {app.config['MAX_BODY_BYTES']} bytes."}.get(error.code or 0)
            problem = kind(detail)
        if error.code == 405 and getattr(error, "valid_methods", None):
            problem.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[union-attr]
        return _problem(problem)

    @app.errorhandler(SQLAlchemyError)
    def database_problem(error: SQLAlchemyError) -> Response:
        problem = database_error(error)
        if problem is None:
            return unexpected(error)
        log.warning("database refused %s %s: %s", request.method, request.path, error)
        return _problem(problem)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        problem = errors.DomainError("Something went wrong on our side; the change was not saved.")
        problem.status, problem.title = 500, "Internal error"
        return _problem(problem)


_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
     "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
)
_API_HEADERS = (*_SECURITY_HEADERS, ("Cache-Control", "no-store"))


def _security_headers(response: Response) -> Response:
    """The headers every response carries, unless the view set its own (one pass over the headers:
    every API call ends here)."""
    present = {name.lower() for name, _ in response.headers}
    wanted = _API_HEADERS if request.path.startswith("/api/") else _SECURITY_HEADERS
    response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response
