"""The ``warehouse`` command."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask

from warehouse.db import Database


def _app(**overrides: Any) -> Flask:
    from warehouse import create_app

    return create_app(overrides or None)


def _db(app: Flask) -> Database:
    return app.extensions["warehouse.db"]


@click.group(help="Warehouse operations service.")
def main() -> None:
    pass


@main.command(help="Start the service (embedded server with live updates).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Migrate and load demo data if the database is empty; print the sign-ins.")
def run(host: str, port: int, demo: bool) -> None:
    from warehouse.migrate import current_revision, head_revision, upgrade
    from warehouse.realtime import socketio

    app = _app()
    db = _db(app)
    with db.engine.connect() as connection:
        revision = current_revision(connection)
    if revision != head_revision():
        if db.is_sqlite or demo:
            click.echo(f"Migrating the {db.backend} database to {head_revision()}...")
            upgrade(db.engine)
        else:
            raise click.ClickException("The database schema is not up to date: run `warehouse db upgrade` first.")
    if demo:
        from warehouse.demo import DEMO_CREDENTIALS, seed

        with app.app_context():
            created = seed(db)
        click.echo("Demo data loaded." if created else "Demo data already present.")
        click.echo(DEMO_CREDENTIALS.format(url=f"http://{host}:{port}"))
    dispatcher = None
    if app.config["WEBHOOK_DISPATCHER"] == "thread":
        from warehouse.webhooks.dispatcher import Dispatcher

        # In the embedded server the webhooks go out from a daemon thread of this process; commits made
        # here wake it at once. With WAREHOUSE_WEBHOOK_DISPATCHER=off, `warehouse webhooks run` sends them.
        dispatcher = Dispatcher.from_config(db, app.config)
        dispatcher.start()
    click.echo(f"Serving on http://{host}:{port} ({db.backend}). Press Ctrl+C to stop.")
    try:
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)
    finally:
        if dispatcher is not None:
            dispatcher.stop()


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply migrations up to the newest schema.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from warehouse.migrate import current_revision, upgrade

    database = _db(_app())
    upgrade(database.engine, revision)
    with database.engine.connect() as connection:
        click.echo(f"{database.backend} database at revision {current_revision(connection)}")


@main.command(help="Load the demo warehouses, items, stock and users (only into an empty database).")
def demo() -> None:
    from warehouse.demo import DEMO_CREDENTIALS, seed

    app = _app()
    with app.app_context():
        created = seed(_db(app))
    click.echo("Demo data loaded." if created else "Demo data already present; nothing changed.")
    click.echo(DEMO_CREDENTIALS.format(url="http://127.0.0.1:5000"))


@main.group(help="People and integrations.")
def user() -> None:
    pass


@user.command("create", help="Create a user. Operators need --badge and --pin; supervisors and admins --password.")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["operator", "supervisor", "admin", "integration"]))
@click.option("--password", help="Supervisors and admins. Asked for if the role needs it and it is not given.")
@click.option("--badge", help="Operators: the badge code.")
@click.option("--pin", help="Operators: 4 to 8 digits.")
@click.option("--display-name")
def user_create(name: str, role: str, password: str | None, badge: str | None, pin: str | None,
                display_name: str | None) -> None:
    from warehouse.accounts import services
    from warehouse.errors import DomainError

    if role in ("supervisor", "admin") and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = _db(_app())
    try:
        with database.transaction() as session:
            created = services.create_user(session, username=name, role=role, actor_id=None, password=password,
                                           badge=badge, pin=pin, display_name=display_name)
            summary = f"Created {created.role} {created.username}"
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(summary, err=True)


@main.group(help="API bearer tokens.")
def token() -> None:
    pass


@token.command("create", help="Create a bearer token and print it (only this once).")
@click.option("--user", "username", required=True)
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, help="Limit the token (repeat); default: all the role allows.")
@click.option("--expires-in-days", type=int)
def token_create(username: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None) -> None:
    from warehouse.accounts import services
    from warehouse.errors import DomainError

    database = _db(_app())
    try:
        with database.transaction() as session:
            _, plaintext = services.create_token(session, username=username, name=name, actor_id=None,
                                                 scopes=list(scopes) or None, expires_in_days=expires_in_days)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(plaintext)


@main.group(help="Outbound stock-sync webhooks.")
def webhooks() -> None:
    pass


@webhooks.command("run", help="Send webhook deliveries until Ctrl+C (run several: they share the work).")
def webhooks_run() -> None:
    from warehouse.webhooks.dispatcher import Dispatcher

    app = _app()
    database = _db(app)
    dispatcher = Dispatcher.from_config(database, app.config)
    click.echo(f"Sending webhooks from the {database.backend} outbox. Press Ctrl+C to stop.")
    try:
        dispatcher.run_forever()
    except KeyboardInterrupt:
        # Deliveries claimed but not recorded are sent again once their lease runs out: nothing is lost.
        click.echo("Stopped.")


@main.group(help="The postcode table that places an order's ship-to given as postcode and country.")
def postcodes() -> None:
    pass


@postcodes.command("load", help="Add or update postcodes from a CSV with the header country,postcode,latitude,longitude.")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def postcodes_load(file: Any) -> None:
    from warehouse.errors import DomainError
    from warehouse.orders.services import load_postcodes

    database = _db(_app())
    try:
        with database.transaction() as session:
            count = load_postcodes(session, file.read())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"{count} postcode(s) loaded")


@main.command("check-ledger", help="Verify the ledger invariants; exits 1 on any breach.")
def check_ledger_command() -> None:
    from warehouse.stock.checks import check_ledger

    database = _db(_app())
    with database.reading() as session:
        report = check_ledger(session)
    if report.ok:
        click.echo(f"ledger OK: {report.moves} moves, last seq {report.last_seq}, every invariant holds")
        return
    click.echo(f"ledger BROKEN: {len(report.breaches)} breach(es) over {report.moves} moves", err=True)
    for breach in report.breaches:
        click.echo(f"  - {breach}", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
