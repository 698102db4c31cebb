"""Test fixtures.

Every test that takes ``db`` (directly or through ``app``/``api``) runs once on SQLite and once
on PostgreSQL (when ``WAREHOUSE_TEST_DATABASE_URL`` is set; CI sets it, elsewhere those runs skip
with a reason). The schema is built by running the Alembic migrations, once per backend, and a
cast of users with tokens is created there. Each test then runs inside one outer transaction that
is rolled back at the end, so tests see the committed cast and nothing of each other.

Tests that need real commits from several connections (concurrency, the CLI, a live server) use
``fresh_database``: a new database copied from the migrated template.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from warehouse import create_app
from warehouse.accounts import services as accounts
from warehouse.accounts.models import User
from warehouse.db import Database, make_engine
from warehouse.migrate import upgrade

PG_URL = os.environ.get("WAREHOUSE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]

# Known secret so that tests can produce valid TOTP codes for the cast's supervisor and admin.
CAST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CAST_PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class CastMember:
    username: str
    role: str
    token: str
    badge: str | None = None
    pin: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


CAST_SPEC = [
    ("admin1", "admin", {"password": CAST_PASSWORD}),
    ("super1", "supervisor", {"password": CAST_PASSWORD}),
    ("super2", "supervisor", {"password": CAST_PASSWORD}),
    ("op1", "operator", {"badge": "BADGE-OP1", "pin": "1111"}),
    ("op2", "operator", {"badge": "BADGE-OP2", "pin": "2222"}),
    ("shop", "integration", {}),
]


def _create_cast(engine: Engine) -> dict[str, CastMember]:
    database = Database(bind=engine)
    cast: dict[str, CastMember] = {}
    with database.transaction() as session:
        for username, role, secrets_ in CAST_SPEC:
            user = accounts.create_user(session, username=username, role=role, actor_id=None, **secrets_)
            if role in ("admin", "supervisor"):
                user.totp_secret = CAST_TOTP_SECRET
            _, token = accounts.create_token(session, username=username, name="tests", actor_id=None)
            cast[username] = CastMember(username, role, token, secrets_.get("badge"), secrets_.get("pin"))
    return cast


@dataclass
class Template:
    backend: str
    url: str
    engine: Engine
    cast: dict[str, CastMember]


@contextmanager
def _pg_admin() -> Iterator[Any]:
    """A connection to the server's maintenance database, for CREATE/DROP DATABASE."""
    assert PG_URL
    engine = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT",
                           poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class Templates:
    """One migrated database per backend, built on first use and shared by the whole session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, Template] = {}

    def get(self, backend: str) -> Template:
        if backend not in self.built:
            self.built[backend] = self._build(backend)
        return self.built[backend]

    def _build(self, backend: str) -> Template:
        if backend == "sqlite":
            url = f"sqlite:///{self.folder / 'template.db'}"
        else:
            if not PG_URL:
                pytest.skip("PostgreSQL runs need WAREHOUSE_TEST_DATABASE_URL (CI sets it)")
            name = f"wh_test_{os.getpid()}_template"
            with _pg_admin() as admin:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        return Template(backend, url, engine, _create_cast(engine))

    def close(self) -> None:
        for template in self.built.values():
            template.engine.dispose()
            if template.backend == "postgresql":
                with _pg_admin() as admin:
                    admin.execute(text(f'DROP DATABASE IF EXISTS "{make_url(template.url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    store = Templates(tmp_path_factory.mktemp("templates"))
    yield store
    store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def template(templates: Templates, backend: str) -> Template:
    return templates.get(backend)


@pytest.fixture
def cast(template: Template) -> dict[str, CastMember]:
    return template.cast


@pytest.fixture
def db(template: Template) -> Iterator[Database]:
    """The migrated database inside one transaction that is rolled back after the test."""
    connection = template.engine.connect()
    outer = connection.begin()
    try:
        yield Database(bind=connection)
    finally:
        outer.rollback()
        connection.close()


def make_test_app(db: Database, instance: Path, **config: Any) -> Flask:
    settings = {"INSTANCE_DIR": str(instance), "SECRET_KEY": "test-secret", **config}
    return create_app(settings, db=db)


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Flask:
    return make_test_app(db, tmp_path)


class Api:
    """A test client that speaks JSON as a given cast member."""

    def __init__(self, client: FlaskClient, cast: dict[str, CastMember]) -> None:
        self.client = client
        self.cast = cast

    def request(self, method: str, path: str, *, as_: str | None = "admin1", json: Any = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        all_headers = dict(self.cast[as_].headers) if as_ else {}
        all_headers.update(headers or {})
        return self.client.open(path, method=method, json=json, headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, json: Any = None, *, status: int | tuple[int, ...] = (200, 201),
           **kwargs: Any) -> Any:
        response = self.request(method, path, json=json, **kwargs)
        expected = (status,) if isinstance(status, int) else status
        assert response.status_code in expected, (response.status_code, response.get_json())
        return response.get_json()


class Emitted(list):  # type: ignore[type-arg]
    """Every live event the app emits, as (event, payload, room); reading waits for the emitter thread."""

    def of(self, event: str) -> list[tuple[Any, Any]]:
        from warehouse import realtime

        realtime.drain()
        return [(payload, room) for name, payload, room in self if name == event]


@pytest.fixture
def emitted(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Emitted:
    """``app`` first: creating it gives the shared SocketIO its server, without which nothing is emitted."""
    from warehouse import realtime

    assert realtime.socketio.server is not None
    realtime.drain()  # what earlier tests committed is not this test's to see
    sent = Emitted()
    monkeypatch.setattr(realtime.socketio, "emit",
                        lambda event, payload, **kwargs: sent.append((event, payload, kwargs.get("to"))))
    return sent


@pytest.fixture
def api(app: Flask, cast: dict[str, CastMember]) -> Api:
    return Api(app.test_client(), cast)


def totp_now(secret: str = CAST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


# ------------------------------------------------------------------ a small warehouse to work in

@pytest.fixture
def site(api: Api) -> dict[str, Any]:
    """Two warehouses with a few bins and three items (plain, lot+expiry, serial)."""
    api.ok("POST", "/api/v1/warehouses", {"code": "W1", "name": "North", "latitude": 52.37, "longitude": 4.89})
    api.ok("POST", "/api/v1/warehouses", {"code": "W2", "name": "South", "latitude": 48.14, "longitude": 11.58})
    for code, warehouse, kind in [("W1-DOCK", "W1", "receiving"), ("W1-A1", "W1", "storage"),
                                  ("W1-A2", "W1", "storage"), ("W1-P1", "W1", "pick-face"),
                                  ("W2-A1", "W2", "storage")]:
        api.ok("POST", "/api/v1/locations", {"code": code, "warehouse": warehouse, "type": kind})
    api.ok("POST", "/api/v1/items", {"sku": "PLAIN", "name": "Plain widget", "gtins": ["4006381333931"]})
    api.ok("POST", "/api/v1/items", {"sku": "LOTTED", "name": "Lotted syrup", "gtins": ["96385074"],
                                     "tracking": "lot", "expiry_tracked": True})
    api.ok("POST", "/api/v1/items", {"sku": "SERIAL", "name": "Serial scanner", "tracking": "serial"})
    return {"warehouses": ["W1", "W2"], "bins": ["W1-A1", "W1-A2", "W1-P1", "W2-A1"]}


def table_counts(db: Database) -> dict[str, int]:
    """Rows per table, and the ledger head: a snapshot to prove a refused request wrote nothing."""
    counts: dict[str, int] = {}
    with db.reading() as session:
        for table in sorted(inspect(session.connection()).get_table_names()):
            if table in ("alembic_version", "login_events", "api_tokens"):
                continue
            counts[table] = session.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
        counts["ledger_head.last_seq"] = session.execute(text("SELECT last_seq FROM ledger_head")).scalar_one()
    return counts


# ------------------------------------------------------------------ real databases for real commits

@dataclass
class FreshDatabase:
    backend: str
    url: str
    cast: dict[str, CastMember]

    def database(self) -> Database:
        return Database(self.url)


@pytest.fixture
def fresh_database(template: Template, tmp_path: Path) -> Iterator[FreshDatabase]:
    """A database of its own, copied from the migrated template (with the cast), really committed to."""
    if template.backend == "sqlite":
        source = Path(make_url(template.url).database or "")
        target = tmp_path / "fresh.db"
        with template.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(source, target)
        yield FreshDatabase("sqlite", f"sqlite:///{target}", template.cast)
        return
    template.engine.dispose()
    name = f"wh_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    template_name = make_url(template.url).database
    with _pg_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    url = make_url(template.url).set(database=name).render_as_string(hide_password=False)
    try:
        yield FreshDatabase("postgresql", url, template.cast)
    finally:
        with _pg_admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def user_id(db: Database, username: str) -> int:
    with db.reading() as session:
        return session.scalar(select(User.id).where(User.username == username))  # type: ignore[return-value]


def count_moves(db: Database) -> int:
    from warehouse.stock.models import Move

    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Move)) or 0


def closing_files(app: Flask) -> Any:
    """The app as served by the test servers, with files read whole when a response is built.

    werkzeug's development server skips closing a response when reading the rest of a request fails
    because the client reset the connection (browsers do), so a file being sent would be closed only
    by the garbage collector, with a ResourceWarning (an error here) in whatever test runs then."""

    def read_whole(file: Any, block_size: int = 8192) -> list[bytes]:
        try:
            return [file.read()]
        finally:
            file.close()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.file_wrapper"] = read_whole
        return app(environ, start_response)

    return wsgi


@dataclass
class LiveServer:
    url: str
    app: Flask
    database: Database
    cast: dict[str, CastMember]


@pytest.fixture
def live_server(fresh_database: FreshDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    """The app over real HTTP (threaded WSGI server on loopback) on a database of its own."""
    import threading

    from werkzeug.serving import make_server

    database = fresh_database.database()
    app = make_test_app(database, tmp_path)
    server = make_server("127.0.0.1", 0, closing_files(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, database, fresh_database.cast)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        database.dispose()
