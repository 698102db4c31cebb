"""Pure read services for the supervisor dashboard: each takes a Session and plain arguments.

They only read. Grouping and hour-bucketing happen in Python on rows already narrowed to one day
or to open tasks, which keeps the SQL identical on SQLite and PostgreSQL (their date functions
differ) and is small work at a warehouse's daily volume.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session, aliased

from warehouse.accounts.models import User
from warehouse.locations.models import Location, Warehouse
from warehouse.locations.services import warehouse_by_code
from warehouse.scanning.models import ScanLog
from warehouse.stock.models import LedgerHead, Move, StockLevel
from warehouse.stock.queries import level_rows
from warehouse.tasks.models import Confirmation, LineStatus, Task, TaskLine, TaskStatus, Workflow

OPEN_TASK_STATUSES = (TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value)
# Moves without a task are supervisors' adjustments (or the order system's); shown as their own series.
NO_WORKFLOW = "adjustment"
HOURS = 24
# Most rows one stock snapshot returns; a dashboard showing more than this is not readable anyway.
SNAPSHOT_LIMIT = 20_000


@dataclass
class FloorTask:
    id: int
    workflow: str
    warehouse: str
    status: str
    reference: str | None
    lines_total: int = 0
    lines_done: int = 0
    lines_waiting: int = 0
    lines_discrepancy: int = 0
    last_user_id: int | None = None
    last_activity_at: datetime | None = None


@dataclass
class Operator:
    user_id: int
    display_name: str
    role: str
    last_activity_at: datetime
    tasks: list[FloorTask] = field(default_factory=list)


@dataclass
class Floor:
    warehouse: str | None
    operators: list[Operator]
    unassigned: list[FloorTask]
    generated_at: datetime


@dataclass
class Throughput:
    date: date
    utc_offset: int
    warehouse: str | None
    start: datetime
    end: datetime
    workflows: list[str]
    lines: dict[str, list[int]]
    units: dict[str, list[int]]
    moves: list[int]


@dataclass(frozen=True)
class StockRow:
    sku: str
    item_name: str
    warehouse: str
    location: str
    location_type: str
    lot: str | None
    expiry: date | None
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass
class StockSnapshot:
    seq: int
    warehouse: str | None
    rows: list[StockRow]
    truncated: bool


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    display_name: str
    role: str
    active: bool


def _check_warehouse(session: Session, code: str | None) -> None:
    if code is not None:
        warehouse_by_code(session, code)  # a 404 for a code that names nothing


def _latest(activity: Iterable[tuple[int, int, datetime]]) -> dict[int, tuple[int, datetime]]:
    """Per task, the (user, time) of the newest activity among (task, user, time) rows."""
    newest: dict[int, tuple[int, datetime]] = {}
    for task_id, user_id, at in activity:
        if at is not None and (task_id not in newest or at > newest[task_id][1]):
            newest[task_id] = (user_id, at)
    return newest


def floor(session: Session, *, warehouse: str | None = None, now: datetime | None = None) -> Floor:
    """Open and in-progress tasks grouped by the person who last worked on each.

    "Last worked on" is the newest of their confirmations on the task's lines and their scans
    logged against the task: a scan shows someone is on a task before they confirm anything.
    Tasks nobody has touched yet are listed apart as unassigned."""
    _check_warehouse(session, warehouse)
    statement = (select(Task.id, Task.workflow, Warehouse.code, Task.status, Task.reference)
                 .join(Warehouse, Task.warehouse_id == Warehouse.id)
                 .where(Task.status.in_(OPEN_TASK_STATUSES)).order_by(Task.id))
    if warehouse is not None:
        statement = statement.where(Warehouse.code == warehouse)
    tasks = {row[0]: FloorTask(*row) for row in session.execute(statement)}
    if not tasks:
        return Floor(warehouse, [], [], now or datetime.now(timezone.utc))
    ids = list(tasks)

    for task_id, status, count in session.execute(
            select(TaskLine.task_id, TaskLine.status, func.count())
            .where(TaskLine.task_id.in_(ids)).group_by(TaskLine.task_id, TaskLine.status)):
        task = tasks[task_id]
        if status == LineStatus.CANCELLED.value:
            continue
        task.lines_total += count
        if status == LineStatus.DONE.value:
            task.lines_done += count
        elif status == LineStatus.AWAITING_VERIFICATION.value:
            task.lines_waiting += count
        elif status == LineStatus.DISCREPANCY.value:
            task.lines_discrepancy += count

    confirmed = session.execute(
        select(TaskLine.task_id, Confirmation.user_id, func.max(Confirmation.created_at))
        .join(TaskLine, Confirmation.line_id == TaskLine.id).where(TaskLine.task_id.in_(ids))
        .group_by(TaskLine.task_id, Confirmation.user_id)).all()
    scanned = session.execute(
        select(ScanLog.task_id, ScanLog.user_id, func.max(ScanLog.created_at))
        .where(ScanLog.task_id.in_(ids)).group_by(ScanLog.task_id, ScanLog.user_id)).all()
    newest = _latest([*confirmed, *scanned])

    people: dict[int, Operator] = {}
    users = {user.id: user for user in session.scalars(
        select(User).where(User.id.in_({user_id for user_id, _ in newest.values()})))}
    unassigned: list[FloorTask] = []
    for task in tasks.values():
        if task.id not in newest:
            unassigned.append(task)
            continue
        task.last_user_id, task.last_activity_at = newest[task.id]
        user = users[task.last_user_id]
        person = people.setdefault(user.id, Operator(user.id, user.display_name, user.role, task.last_activity_at))
        person.last_activity_at = max(person.last_activity_at, task.last_activity_at)
        person.tasks.append(task)
    operators = sorted(people.values(), key=lambda p: p.last_activity_at, reverse=True)
    for person in operators:
        person.tasks.sort(key=lambda t: t.last_activity_at or datetime.min.replace(tzinfo=timezone.utc),
                          reverse=True)
    return Floor(warehouse, operators, unassigned, now or datetime.now(timezone.utc))


def _hour(at: datetime, start: datetime) -> int | None:
    if at.tzinfo is None:  # defensive: the column type gives aware UTC datetimes
        at = at.replace(tzinfo=timezone.utc)
    index = int((at - start).total_seconds() // 3600)
    return index if 0 <= index < HOURS else None


def throughput(session: Session, *, day: date | None = None, utc_offset: int = 0,
               warehouse: str | None = None) -> Throughput:
    """Per hour of ``day`` (a local day ``utc_offset`` minutes east of UTC, so the browser can ask for
    its own "today", the default): lines finished per workflow, units moved per workflow, and ledger moves.

    A line counts in the hour of its last confirmation, once it is done. Units count moves that touch
    a physical location of the warehouse (or of any warehouse): a transfer between two bins counts its
    quantity once."""
    _check_warehouse(session, warehouse)
    if day is None:
        day = (datetime.now(timezone.utc) + timedelta(minutes=utc_offset)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) - timedelta(minutes=utc_offset)
    end = start + timedelta(hours=HOURS)

    finished = (select(TaskLine.id.label("line_id"), Task.workflow.label("workflow"),
                       func.max(Confirmation.created_at).label("at"))
                .join(TaskLine, Confirmation.line_id == TaskLine.id).join(Task, TaskLine.task_id == Task.id)
                .join(Warehouse, Task.warehouse_id == Warehouse.id)
                .where(TaskLine.status == LineStatus.DONE.value))
    if warehouse is not None:
        finished = finished.where(Warehouse.code == warehouse)
    finished = finished.group_by(TaskLine.id, Task.workflow).subquery()
    lines: dict[str, list[int]] = defaultdict(lambda: [0] * HOURS)
    for workflow, at in session.execute(select(finished.c.workflow, finished.c.at)
                                        .where(finished.c.at >= start, finished.c.at < end)):
        hour = _hour(at, start)
        if hour is not None:
            lines[workflow][hour] += 1

    source, destination = aliased(Location), aliased(Location)
    source_wh, destination_wh = aliased(Warehouse), aliased(Warehouse)
    moved = (select(Move.quantity, Move.created_at, Task.workflow)
             .join(source, Move.from_location_id == source.id)
             .join(destination, Move.to_location_id == destination.id)
             .outerjoin(source_wh, source.warehouse_id == source_wh.id)
             .outerjoin(destination_wh, destination.warehouse_id == destination_wh.id)
             .outerjoin(Task, Move.task_id == Task.id)
             .where(Move.created_at >= start, Move.created_at < end))
    if warehouse is not None:
        moved = moved.where(or_(source_wh.code == warehouse, destination_wh.code == warehouse))
    else:
        moved = moved.where(or_(source.is_virtual.is_(False), destination.is_virtual.is_(False)))
    units: dict[str, list[int]] = defaultdict(lambda: [0] * HOURS)
    moves = [0] * HOURS
    for quantity, at, workflow in session.execute(moved):
        hour = _hour(at, start)
        if hour is not None:
            units[workflow or NO_WORKFLOW][hour] += quantity
            moves[hour] += 1

    known = [w.value for w in Workflow] + [NO_WORKFLOW]
    workflows = [w for w in known if w in lines or w in units]
    return Throughput(day, utc_offset, warehouse, start, end, workflows,
                      {w: lines[w] for w in workflows}, {w: units[w] for w in workflows}, moves)


def people(session: Session) -> list[Person]:
    """Everyone who can appear in the feed or on the floor, by id, so screens can show names for ids."""
    return [Person(u.id, u.username, u.display_name, u.role, u.active)
            for u in session.scalars(select(User).order_by(User.id))]


def stock_snapshot(session: Session, *, warehouse: str | None = None, limit: int = SNAPSHOT_LIMIT) -> StockSnapshot:
    """Every non-empty physical stock row, and the ledger seq they reflect, read in ONE statement.

    One statement sees one snapshot on both databases, so ``seq`` is exact: a live client applies
    any change with a higher seq and skips the rest, and a row absent here was zero at ``seq``.
    (The paginated ``GET /stock`` reads each page in its own statement and says no seq.) The head
    is the outer table so that an empty warehouse still answers its seq."""
    _check_warehouse(session, warehouse)
    levels = (level_rows(Location.walk_sequence.label("walk"))
              .where((StockLevel.on_hand != 0) | (StockLevel.reserved != 0)))
    if warehouse is not None:
        levels = levels.where(Warehouse.code == warehouse)
    rows = levels.subquery()
    statement = (select(LedgerHead.last_seq, rows.c.sku, rows.c.item_name, rows.c.warehouse, rows.c.location,
                        rows.c.location_type, rows.c.lot, rows.c.expiry, rows.c.on_hand, rows.c.reserved)
                 .select_from(LedgerHead).outerjoin(rows, true()).where(LedgerHead.id == 1)
                 .order_by(rows.c.warehouse, rows.c.walk, rows.c.location, rows.c.sku, rows.c.lot)
                 .limit(limit + 1))
    result = session.execute(statement).all()
    seq = result[0][0] if result else 0
    found = [StockRow(*row[1:]) for row in result if row[1] is not None]
    return StockSnapshot(seq or 0, warehouse, found[:limit], len(found) > limit)
