"""The service outlives its database connections: a pooled connection PostgreSQL dropped (a restart, an
idle-session timeout, an administrator) is replaced before a request uses it, so nobody sees an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import FreshDatabase, _pg_admin, make_test_app
from warehouse import db as db_module


def test_a_dropped_connection_is_replaced_before_a_request_uses_it(fresh_database: FreshDatabase, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("SQLite has no server that could drop a connection")
    database = fresh_database.database()
    client = make_test_app(database, tmp_path).test_client()
    headers = fresh_database.cast["admin1"].headers
    try:
        assert client.get("/api/v1/warehouses", headers=headers).status_code == 200
        with _pg_admin() as admin:
            cut = admin.execute(text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": make_url(fresh_database.url).database}).scalars().all()
        assert cut and all(cut)  # the pool's idle connections are gone on the server's side
        # As if they had sat in the pool for a while (the threshold is a second).
        monkeypatch.setattr(db_module, "IDLE_BEFORE_PING_SECONDS", 0.0)
        reply = client.get("/api/v1/warehouses", headers=headers)
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json() is not None
    finally:
        database.dispose()
