"""The bare reference for bench/scan_confirm.py: the least a JSON write endpoint can do.

One Flask route that validates a small JSON body with marshmallow and, in one transaction, inserts a
row into a scratch table and updates a counter row: one ORM insert and one update. It uses the
service's own ``warehouse.db.Database`` on the service's own SQLite file, so it runs with exactly the
same settings (WAL, synchronous=NORMAL, busy timeout, BEGIN IMMEDIATE, the process-wide write lock)
and under the same gunicorn command line. No authentication, no scan resolution, no ledger.

Its two tables (``bench_scratch``, ``bench_counter``) live in their own metadata and are created by
the benchmark (``create_tables``); the service's schema and migrations are not touched.

Serve it with ``gunicorn -w 1 --threads 32 -b 127.0.0.1:PORT reference_app:app`` from this folder,
with ``WAREHOUSE_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from flask import Flask, Response, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import DateTime, Integer, MetaData, String, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from warehouse.db import Database, make_engine


class BenchBase(DeclarativeBase):
    metadata = MetaData()


class Scratch(BenchBase):
    __tablename__ = "bench_scratch"

    id: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(1000))
    item: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Counter(BenchBase):
    __tablename__ = "bench_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ScanIn(Schema):
    """The same shape and limits as the service's confirm body (``ConfirmIn``), minus the optional fields."""

    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000_000))
    location = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    item = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def create_tables(url: str) -> None:
    """Create the reference's two tables (and the one counter row) in the database at ``url``."""
    engine = make_engine(url)
    try:
        BenchBase.metadata.create_all(engine)
        with engine.begin() as connection:
            if connection.execute(Counter.__table__.select()).first() is None:
                connection.execute(Counter.__table__.insert().values(id=1, value=0))
    finally:
        engine.dispose()


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    db = Database(url or os.environ["WAREHOUSE_DATABASE_URL"])

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.post("/reference/lines/<int:line_no>/confirm")
    def confirm(line_no: int) -> tuple[Response, int]:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return jsonify(error="send a JSON object"), 400
        try:
            body = ScanIn().load(payload)
        except ValidationError as exc:
            return jsonify(errors=exc.messages), 422
        with db.transaction() as session:
            session.add(Scratch(line=line_no, created_at=datetime.now(timezone.utc).replace(tzinfo=None), **body))
            session.execute(update(Counter).where(Counter.id == 1).values(value=Counter.value + 1))
        return jsonify(line=line_no, status="done"), 200

    return app


app = create_app() if os.environ.get("WAREHOUSE_DATABASE_URL") else None
