"""Engine, sessions and the one place work is committed.

Services receive a ``Session`` and only ``flush()``. The edges (HTTP endpoints, CLI commands)
wrap a whole use case in ``db.transaction()``; callbacks registered with ``after_commit`` run
only once that commit has succeeded (live events, waking the webhook dispatcher), so nothing
is announced for work that was rolled back.

SQLite: WAL, a busy timeout, ``BEGIN IMMEDIATE`` for write transactions and a process-wide
write lock, so concurrent writers queue instead of failing with "database is locked".
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import DateTime, MetaData, bindparam, create_engine, event, inspect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed; never on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


_CORE = "db.core"  # session.info: (the transaction, its connection)


def core(session: Session) -> Connection:
    """The session's connection, for prepared statements on hot paths. Pending ORM changes are flushed
    first, so the statements see them. A confirmation runs about fifteen statements: the connection is
    remembered for the transaction, and the check for pending changes is the session's own cheap one
    (its public ``new``/``dirty``/``deleted`` each build a set)."""
    if not session._is_clean():
        session.flush()
    transaction = session.get_transaction()
    remembered = session.info.get(_CORE)
    if remembered is not None and transaction is not None and remembered[0] is transaction:
        return remembered[1]  # type: ignore[no-any-return]
    connection = session.connection()
    session.info[_CORE] = (session.get_transaction(), connection)
    return connection


class _Plan:
    """A statement compiled for one dialect (and one length of each IN list): its SQL and how its
    parameters and rows are converted."""

    __slots__ = ("sql", "positional", "names", "fixed", "bind_processors", "result_types", "result_processors")

    def __init__(self, statement: Any, dialect: Dialect, keys: list[str] | None, lengths: Mapping[str, int]) -> None:
        if lengths:
            statement = statement.params({name: [None] * length for name, length in lengths.items()})
        compiled = statement.compile(dialect=dialect, column_keys=keys, compile_kwargs={"render_postcompile": True})
        self.sql: str = compiled.string
        self.positional: bool = compiled.positional
        # Values the statement was built with (``== 1``, ``IN ('a', 'b')``), not passed per call; the
        # items of an IN list are parameters named ``<name>_1``, ``<name>_2``...
        self.fixed: dict[str, Any] = {}
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            if bind.callable is not None:
                raise ValueError("a prepared statement takes no parameters computed at execution")
            if bind.expanding:
                count = lengths.get(name, 0) if bind.required else len(bind.value)
                targets = [f"{name}_{index}" for index in range(1, count + 1)]
                if not bind.required:
                    self.fixed.update(zip(targets, bind.value))
            else:
                targets = [name]
                if not bind.required:
                    self.fixed[name] = bind.value
            process = compiled._bind_processors.get(name)
            if process is not None:
                processors.update((target, process) for target in targets)
        # The parameters, in the order a positional driver takes them.
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.bind_processors = tuple(processors.items())
        self.result_types = [column.type for column in compiled._result_columns]
        # (column index, its conversion); known once the driver has described a result (some PostgreSQL
        # conversions depend on the column's type there).
        self.result_processors: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def describe(self, dialect: Dialect, description: Sequence[Any]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        processors = ((index, kind._cached_result_processor(dialect, column[1]))
                      for index, (kind, column) in enumerate(zip(self.result_types, description)))
        self.result_processors = tuple((index, process) for index, process in processors if process is not None)
        return self.result_processors


class Prepared:
    """A Core statement compiled once per database dialect and run straight on the driver's connection.

    For the statements every confirmation, order or request runs: SQLAlchemy's execution of even a
    prebuilt statement (execution context, events, result object) costs about twenty times the Python
    work of the driver call itself. Values still pass through the column types' bind and result
    processors, so they are stored and read exactly as through SQLAlchemy, and driver errors are raised
    as SQLAlchemy's (``IntegrityError``, ``OperationalError``), which the edges turn into 409 and 503.

    ``keys`` names the columns an INSERT or UPDATE without explicit values sets (as SQLAlchemy would
    infer them from the parameters of the first execution). An ``expanding`` parameter takes a list
    (``IN``): the statement is compiled once per length of it. The statement runs on the session's (or
    connection's) current transaction; rows come back as tuples."""

    __slots__ = ("statement", "keys", "_expanding", "_last", "_plans")

    def __init__(self, statement: Any, *, keys: Iterable[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._expanding = tuple(sorted({element.key for element in visitors.iterate(statement)
                                        if isinstance(element, BindParameter) and element.expanding
                                        and element.required}))
        self._last: tuple[Dialect | None, _Plan | None] = (None, None)  # the plan used last (one read: threads)
        self._plans: dict[Any, _Plan] = {}

    def _plan_for(self, dialect: Dialect, lengths: dict[str, int]) -> _Plan:
        key = (dialect, *lengths.values())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.statement, dialect, self.keys, lengths)
        if not lengths:
            self._last = (dialect, plan)
        return plan

    def rows(self, bind: Session | Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        connection = core(bind) if isinstance(bind, Session) else bind
        dialect = connection.dialect
        values = dict(params) if params else {}
        if self._expanding:
            lengths = {}
            for name in self._expanding:
                items = values.pop(name)
                lengths[name] = len(items)
                values.update((f"{name}_{index}", item) for index, item in enumerate(items, start=1))
            plan = self._plan_for(dialect, lengths)
        else:
            last_dialect, last_plan = self._last
            plan = last_plan if dialect is last_dialect and last_plan is not None else self._plan_for(dialect, {})
        if plan.fixed:
            values = {**plan.fixed, **values}
        for name, process in plan.bind_processors:
            values[name] = process(values[name])
        arguments: Any = tuple(values[name] for name in plan.names) if plan.positional else values
        try:
            cursor = connection.connection.dbapi_connection.execute(plan.sql, arguments)  # type: ignore[union-attr]
            if cursor.description is None:
                return []
            rows = cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, connection.connection.dbapi_connection, None):
                connection.invalidate(error)  # as SQLAlchemy does: the pool does not hand it out again
            raise DBAPIError.instance(plan.sql, arguments, error, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from error
        processors = plan.result_processors
        if processors is None:
            processors = plan.describe(dialect, cursor.description)
        if processors:
            rows = [_converted(row, processors) for row in rows]
        return rows

    def first(self, bind: Session | Connection, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        rows = self.rows(bind, params)
        return rows[0] if rows else None

    def run(self, bind: Session | Connection, params: Mapping[str, Any] | None = None) -> None:
        self.rows(bind, params)


def _converted(row: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    values = list(row)
    for index, process in processors:
        values[index] = process(values[index])
    return tuple(values)


@functools.cache
def _columns_of(mapper: Any) -> tuple[tuple[Any, str], ...]:
    """(column, attribute name) of a mapped table."""
    return tuple((column, mapper.get_property_by_column(column).key) for column in mapper.local_table.columns)


@functools.cache
def _insert_into(table: Any, names: frozenset[str]) -> Prepared:
    return Prepared(table.insert().returning(*table.primary_key), keys=sorted(names))


@functools.cache
def _update_by_key(table: Any, names: frozenset[str]) -> Prepared:
    # (An UPDATE's parameters may not be named like the table's columns.)
    return Prepared(table.update().where(*(column == bindparam(f"key_{column.name}") for column in table.primary_key))
                    .values({name: bindparam(f"new_{name}") for name in names}))


def write_through(session: Session, instance: Any, **values: Any) -> None:
    """Set ``values`` (attribute = column names) on a loaded ``instance`` with one UPDATE now, leaving it
    clean: on hot paths this replaces the unit of work's flush, which costs far more than the statement.
    The instance reads the new values as if it had been loaded with them."""
    state = inspect(instance)
    table = state.mapper.local_table
    params = {f"key_{column.name}": value for column, value in zip(table.primary_key, state.identity)}
    params.update((f"new_{name}", value) for name, value in values.items())
    _update_by_key(table, frozenset(values)).run(session, params)
    for name, value in values.items():
        set_committed_value(instance, name, value)


def insert_through(session: Session, instance: Any) -> Any:
    """Insert a new ``instance`` with one INSERT now and attach it to the session as loaded (see
    ``write_through``): for append-only records on hot paths. Give it its foreign keys as ids;
    relationships set on it are not followed."""
    insert_row(session, instance)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def insert_row(session: Session, instance: Any) -> None:
    """The INSERT of ``insert_through``, for records that are attached together once all are written
    (attaching one attaches what its relationships hold)."""
    state = inspect(instance)
    values: dict[str, Any] = {}
    for column, key in _columns_of(state.mapper):
        if key in state.dict:
            values[column.name] = state.dict[key]
        elif column.default is not None:  # what the unit of work would have filled in
            default = column.default.arg(None) if column.default.is_callable else column.default.arg
            values[column.name] = default
            set_committed_value(instance, key, default)
    table = state.mapper.local_table
    primary_key: Sequence[Any] = _insert_into(table, frozenset(values)).rows(session, values)[0]
    for column, value in zip(table.primary_key, primary_key):
        set_committed_value(instance, column.key, value)


def columns_of(model: type, alias: Any = None) -> list[Any]:
    """Every column of ``model`` (or of an ``aliased`` form of it), in the order ``attach_loaded`` takes
    their values: to select whole records in a prepared statement."""
    return [getattr(model if alias is None else alias, key) for _, key in _columns_of(inspect(model))]


@functools.cache
def _loading_plan(model: type) -> tuple[Any, type, tuple[str, ...], tuple[int, ...]]:
    """The mapper, the class its identity keys name, the attribute names in ``columns_of`` order and the
    positions of the primary key."""
    mapper = inspect(model)
    columns = [column for column, _ in _columns_of(mapper)]
    return (mapper, mapper.base_mapper.class_, tuple(key for _, key in _columns_of(mapper)),
            tuple(columns.index(column) for column in mapper.primary_key))


def attach_loaded(session: Session, model: type, values: Sequence[Any]) -> Any:
    """The persistent ``model`` instance whose column values (in ``columns_of`` order) a prepared statement
    read: the session's own if it has that record already, else a new one attached as if the ORM had
    loaded it. None for the NULLs of an outer join that found nothing. Relationships are not set: set
    those the statement read with ``set_committed_value``; the others load on first use as usual.
    Loading records this way costs a fraction of the ORM's loading, which sets up its loaders anew for
    every statement it runs."""
    mapper, identity_class, keys, key_positions = _loading_plan(model)
    identity = tuple(values[position] for position in key_positions)
    if None in identity:
        return None
    existing = session.identity_map.get((identity_class, identity, None))
    if existing is not None:
        return existing
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(zip(keys, values))
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def keep_if_rolled_back(session: Session, write: Callable[[Session], None]) -> None:
    """If the session's work is rolled back, run ``write`` in a transaction of its own.

    For evidence that must outlive a refusal: a wrong bin that was scanned is refused, and the
    scan that was refused is still kept in the scan log."""
    session.info.setdefault("after_rollback", []).append(write)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit transactions are switched off so that we decide how
        # each transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


# A pooled connection that sat unused longer than this is tested before it is handed out.
IDLE_BEFORE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a connection before use only if it sat in the pool for a while: one that was in use a moment
    ago is alive, and testing every checkout (``pool_pre_ping``) cost two round trips on every request (it
    authenticates, then works). A connection the database dropped is replaced before use, as with
    pre-ping; one dropped within the last second fails its request with a 503 (retry) and is replaced."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # the dialect's own test (outside any transaction)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the pooled connection was dropped; the pool replaces it") from error


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


class Database:
    """One per application: the engine, session factories and the transaction boundary."""

    def __init__(self, url: str | None = None, *, bind: Engine | Connection | None = None) -> None:
        if bind is None:
            if url is None:
                raise ValueError("Database needs a URL or a bind")
            bind = make_engine(url)
        self.bind = bind
        self.engine: Engine = bind.engine
        self.backend: str = self.engine.dialect.name
        self.is_sqlite = self.backend == "sqlite"
        joined = isinstance(bind, Connection)
        # A test joins the app to one outer connection whose transaction it rolls back; each
        # "commit" then releases a savepoint instead.
        mode: dict[str, Any] = {"join_transaction_mode": "create_savepoint"} if joined else {}
        write_bind = bind if joined or not self.is_sqlite else bind.execution_options(sqlite_begin="IMMEDIATE")
        self._writer = sessionmaker(bind=write_bind, expire_on_commit=False, **mode)
        self._reader = sessionmaker(bind=bind, expire_on_commit=False, **mode)
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commit at the end of the block, roll back on any exception."""
        with self._write_lock or nullcontext():
            session = self._writer()
            try:
                with session.begin():
                    yield session
            except BaseException:
                rescues = session.info.pop("after_rollback", [])
                session.close()
                for write in rescues:
                    self._write_separately(write)
                raise
            callbacks = session.info.pop("after_commit", [])
            session.close()
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the work is committed; a failed announcement must not undo it
                log.exception("after-commit callback failed")

    def _write_separately(self, write: Callable[[Session], None]) -> None:
        try:
            with self.transaction() as session:
                write(session)
        except Exception:
            log.exception("could not keep a record of refused work")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; anything it changes is rolled back."""
        session = self._reader()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def writing(self) -> Any:
        """Hold SQLite's process-wide write lock for a whole write request, not only its transaction.

        Writers run one at a time there anyway. Without this, the other writers' threads spend the
        wait authenticating and validating, and every time the writer in the transaction releases the
        interpreter lock for a statement it may wait a switch interval to get it back: at 16 clients
        that cost more than the work. A no-op on PostgreSQL, where writers do run side by side."""
        return self._write_lock or nullcontext()

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for one read statement (who is calling): no session, and on PostgreSQL no
        transaction around it, which would cost two more round trips on every request."""
        if isinstance(self.bind, Connection):  # a test's outer connection: read inside its transaction
            yield self.bind
            return
        options = {"isolation_level": "AUTOCOMMIT"} if self.backend == "postgresql" else {}
        with self.engine.connect().execution_options(**options) as connection:
            yield connection

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()
