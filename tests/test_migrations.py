"""The schema is what the migrations build, on both backends, and they run both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from tests.conftest import FreshDatabase, Template
from warehouse.migrate import current_revision, head_revision, upgrade
from warehouse.models import Base


def test_models_and_migrations_agree(template: Template) -> None:
    with template.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations drifted; write a migration for: {differences}"


def test_migrations_downgrade_to_nothing_and_back(fresh_database: FreshDatabase) -> None:
    from alembic import command

    from warehouse.migrate import alembic_config

    database = fresh_database.database()
    try:
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM api_tokens"))
            connection.execute(text("DELETE FROM audit_events"))
            connection.execute(text("DELETE FROM users"))
        with database.engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
        with database.engine.connect() as connection:
            assert current_revision(connection) is None
        upgrade(database.engine)
        with database.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            virtual = connection.execute(text("SELECT code FROM locations WHERE is_virtual ORDER BY code")).scalars()
            assert list(virtual) == ["V-CUSTOMER", "V-IN-TRANSIT", "V-INVENTORY-LOSS", "V-SCRAP", "V-SUPPLIER"]
            assert connection.execute(text("SELECT last_seq FROM ledger_head")).scalar_one() == 0
    finally:
        database.dispose()
