"""The verification engine shared by every floor workflow.

``confirm`` records one person's account of a line and, once the policy is satisfied, lets the
workflow settle the line: post its moves, or open a discrepancy. The workflow-specific parts
(which scans a line needs, what is posted, what approving a discrepancy posts) live in a
``Workflow`` handler registered per workflow; the rules every workflow shares live here:

- the second confirmer of a line is always a different person than the first;
- nobody is shown another person's count (the routes dump lines blind);
- the approver of a discrepancy took no part in the line;
- a line under discrepancy posts nothing until it is decided.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Protocol

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.orm.attributes import set_committed_value

from warehouse.audit.services import record as audit
from warehouse.catalog.models import Item
from warehouse.db import Prepared, attach_loaded, columns_of, insert_through, keep_if_rolled_back, utcnow, write_through
from warehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from warehouse.locations.models import Location, Warehouse
from warehouse.queries import one_by_id
from warehouse.realtime import announce
from warehouse.scanning.normalize import ScanError
from warehouse.scanning.resolve import Resolution, resolve
from warehouse.scanning.services import log_scan
from warehouse.stock.models import LedgerHead
from warehouse.tasks.models import (
    Confirmation,
    Discrepancy,
    DiscrepancyStatus,
    LineStatus,
    Policy,
    Task,
    TaskLine,
    TaskStatus,
    VerificationPolicy,
    Workflow,
)

DEFAULT_POLICIES: dict[Workflow, Policy] = {
    Workflow.RECEIVING: Policy.TWO_PERSON,
    Workflow.PUTAWAY: Policy.TWO_SCAN,
    Workflow.PICKING: Policy.TWO_SCAN,
    Workflow.PACKING: Policy.TWO_SCAN,
    Workflow.COUNTING: Policy.TWO_PERSON,
    Workflow.RETURNS: Policy.TWO_PERSON,
}


@dataclass(frozen=True)
class Evidence:
    """What one confirmation says: a count, and what was scanned to back it."""

    quantity: int
    location: Resolution | None = None
    item: Resolution | None = None
    lot: str | None = None
    expiry: date | None = None
    details: dict[str, Any] = field(default_factory=dict)
    device: str | None = None

    @property
    def lot_code(self) -> str | None:
        if self.lot:
            return self.lot
        if self.item is not None:
            return self.item.elements.get("10")
        return None

    @property
    def expiry_date(self) -> date | None:
        return self.expiry or (self.item.expiry if self.item is not None else None)


class WorkflowHandler(Protocol):
    workflow: Workflow

    def check(self, session: Session, line: TaskLine, evidence: Evidence) -> None:
        """Refuse evidence that cannot belong to the line (a wrong bin, a wrong item)."""

    def settle(self, session: Session, line: TaskLine, agreed: Evidence, confirmers: list[int]) -> None:
        """The confirmations agree: post the line's moves, or open a discrepancy."""

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """Post what approving the discrepancy means; returns the move's seq, if one was posted."""

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        """Close the line without posting the disputed quantity."""


HANDLERS: dict[str, WorkflowHandler] = {}


def register(handler: WorkflowHandler) -> WorkflowHandler:
    HANDLERS[handler.workflow.value] = handler
    return handler


# ---------------------------------------------------------------- policies and tasks

def policy_for(session: Session, workflow: Workflow) -> VerificationPolicy:
    policy = session.get(VerificationPolicy, workflow.value)
    if policy is None:
        policy = VerificationPolicy(workflow=workflow.value, policy=DEFAULT_POLICIES[workflow].value,
                                    sample_percent=10, tolerance_units=0, tolerance_percent=0)
    return policy


def set_policy(session: Session, *, workflow: str, actor_id: int, **settings: Any) -> VerificationPolicy:
    current = session.get(VerificationPolicy, workflow)
    if current is None:
        current = policy_for(session, Workflow(workflow))
        session.add(current)
    for name, value in settings.items():
        setattr(current, name, value)
    current.updated_by, current.updated_at = actor_id, utcnow()
    session.flush()
    audit(session, actor_id=actor_id, action="policy.changed", target=workflow, **settings)
    return current


def ledger_seq(session: Session) -> int:
    return int(session.scalar(select(LedgerHead.last_seq).where(LedgerHead.id == 1)) or 0)


def _needs_second_person(policy: VerificationPolicy, item: Item | None) -> bool:
    if policy.two_person_from_value_minor is not None and item is not None \
            and item.unit_value_minor >= policy.two_person_from_value_minor:
        return True
    if policy.policy == Policy.TWO_PERSON.value:
        return True
    if policy.policy == Policy.SAMPLED.value:
        return secrets.randbelow(100) < policy.sample_percent
    return False


def create_task(session: Session, *, workflow: Workflow, warehouse_id: int, actor_id: int | None,
                reference: str | None, lines: Iterable[dict[str, Any]], details: dict[str, Any] | None = None,
                parent_task_id: int | None = None) -> Task:
    policy = policy_for(session, workflow)
    task = Task(workflow=workflow.value, warehouse_id=warehouse_id, policy=policy.policy, reference=reference,
                created_by=actor_id, start_seq=ledger_seq(session), details=details or {},
                parent_task_id=parent_task_id)
    session.add(task)
    session.flush()
    for number, line in enumerate(lines, start=1):
        add_line(session, task, policy=policy, line_no=number, **line)
    audit(session, actor_id=actor_id, action="task.created", target=f"{workflow.value}/{task.id}",
          reference=reference, lines=len(task.lines))
    _announce_task(session, task)
    return task


def add_line(session: Session, task: Task, *, policy: VerificationPolicy | None = None, line_no: int | None = None,
             item: Item | None = None, **columns: Any) -> TaskLine:
    policy = policy or policy_for(session, Workflow(task.workflow))
    if line_no is None:
        line_no = max((line.line_no for line in task.lines), default=0) + 1
    line = TaskLine(task=task, line_no=line_no, item=item, needs_second_person=_needs_second_person(policy, item),
                    **columns)
    session.add(line)
    session.flush()
    return line


def get_task(session: Session, task_id: int, *, workflow: Workflow | None = None) -> Task:
    task = session.get(Task, task_id)
    if task is None or (workflow is not None and task.workflow != workflow.value):
        raise NotFound(f"No {workflow.value if workflow else ''} task {task_id}.".replace("  ", " "))
    return task


# A line with what confirming it reads (its task, item and bins, and their warehouses) in one prepared
# statement, turned into records without the ORM's loading: every confirmation starts here.
_TaskWarehouse, _From, _FromWarehouse, _To, _ToWarehouse = (
    aliased(Warehouse), aliased(Location), aliased(Warehouse), aliased(Location), aliased(Warehouse))
_LINE_PARTS = ((TaskLine, None), (Task, None), (Warehouse, _TaskWarehouse), (Item, None), (Location, _From),
               (Warehouse, _FromWarehouse), (Location, _To), (Warehouse, _ToWarehouse))
_LINE_SELECT = (select(*(column for model, alias in _LINE_PARTS for column in columns_of(model, alias)))
                .join(Task, TaskLine.task_id == Task.id)
                .join(_TaskWarehouse, Task.warehouse_id == _TaskWarehouse.id)
                .outerjoin(Item, TaskLine.item_id == Item.id)
                .outerjoin(_From, TaskLine.location_id == _From.id)
                .outerjoin(_FromWarehouse, _From.warehouse_id == _FromWarehouse.id)
                .outerjoin(_To, TaskLine.to_location_id == _To.id)
                .outerjoin(_ToWarehouse, _To.warehouse_id == _ToWarehouse.id)
                .where(TaskLine.task_id == bindparam("task_id"), TaskLine.line_no == bindparam("line_no")))
_LINE = Prepared(_LINE_SELECT)
_LOCKED_LINE = Prepared(_LINE_SELECT.with_for_update(of=TaskLine))  # only the line is locked
_LINE_WIDTHS = tuple(len(columns_of(model)) for model, _ in _LINE_PARTS)


def get_line(session: Session, task_id: int, line_no: int, *, for_update: bool = False) -> TaskLine:
    row = (_LOCKED_LINE if for_update else _LINE).first(session, {"task_id": task_id, "line_no": line_no})
    if row is None:
        raise NotFound(f"Task {task_id} has no line {line_no}.")
    records, start = [], 0
    for (model, _), width in zip(_LINE_PARTS, _LINE_WIDTHS):
        records.append(attach_loaded(session, model, row[start:start + width]))
        start += width
    line, task, task_warehouse, item, source, source_warehouse, destination, destination_warehouse = records
    for owner, name, value in ((line, "task", task), (task, "warehouse", task_warehouse), (line, "item", item),
                               (line, "location", source), (source, "warehouse", source_warehouse),
                               (line, "to_location", destination), (destination, "warehouse", destination_warehouse)):
        if owner is not None and name not in owner.__dict__:
            set_committed_value(owner, name, value)
    return line


def cancel_task(session: Session, *, task: Task, actor_id: int, reason: str) -> Task:
    if task.status in (TaskStatus.DONE.value, TaskStatus.CANCELLED.value):
        raise Conflict(f"Task {task.id} is already {task.status}.")
    if any(line.status == LineStatus.DONE.value and line.posted_seq for line in task.lines):
        raise Conflict(f"Task {task.id} already posted stock; finish it instead of cancelling.")
    for line in task.lines:
        if line.status != LineStatus.DONE.value:
            line.status = LineStatus.CANCELLED.value
    task.status, task.completed_at = TaskStatus.CANCELLED.value, utcnow()
    _release_hook(session, task)
    audit(session, actor_id=actor_id, action="task.cancelled", target=f"{task.workflow}/{task.id}", reason=reason)
    _announce_task(session, task)
    return task


def _release_hook(session: Session, task: Task) -> None:
    handler = HANDLERS.get(task.workflow)
    release = getattr(handler, "release", None)
    if release is not None:
        release(session, task)


# ---------------------------------------------------------------- scans

def resolve_scan(session: Session, raw: str | None, *, user_id: int, device: str | None, task: Task,
                 field_name: str) -> Resolution | None:
    """Resolve one scan a workflow received and keep it in the scan log, even if the request fails."""
    if raw is None:
        return None
    context, task_id = f"{task.workflow}:{field_name}", task.id  # plain values: the lambdas outlive the session
    try:
        resolution = resolve(session, raw)
    except ScanError as error:
        refused = error  # ``error`` is unbound when the except block ends; the callback runs later
        keep_if_rolled_back(session, lambda s: log_scan(s, raw=raw, resolution_or_error=refused, user_id=user_id,
                                                        device=device, context=context, task_id=task_id))
        raise InvalidInput(f"{field_name}: {error.message}", errors={field_name: [error.message]},
                           reason=error.reason) from None
    log_scan(session, raw=raw, resolution_or_error=resolution, user_id=user_id, device=device, context=context,
             task_id=task_id)
    keep_if_rolled_back(session, lambda s: log_scan(s, raw=raw, resolution_or_error=resolution, user_id=user_id,
                                                    device=device, context=context, task_id=task_id))
    return resolution


def require_item(line: TaskLine, scan: Resolution | None, *, field_name: str = "item") -> None:
    if scan is None:
        raise InvalidInput.field(field_name, "scan the item")
    if scan.item is None or line.item_id is None or scan.item.item_id != line.item_id:
        what = scan.item.sku if scan.item else f"{scan.kind} {scan.normalized!r}"
        expected = line.item.sku if line.item else "?"
        raise InvalidInput(f"Wrong item: scanned {what}, this line is {expected}.",
                           errors={field_name: [f"expected {expected}, scanned {what}"]}, reason="wrong_item")


def require_location(scan: Resolution | None, expected: Location, *, field_name: str = "location") -> None:
    if scan is None:
        raise InvalidInput.field(field_name, f"scan the label of {expected.code}")
    if scan.location is None or scan.location.location_id != expected.id:
        what = scan.location.code if scan.location else scan.normalized
        raise InvalidInput(f"Wrong location: scanned {what}, go to {expected.code}.",
                           errors={field_name: [f"expected {expected.code}, scanned {what}"]},
                           reason="wrong_location")


# ---------------------------------------------------------------- confirming

@dataclass(frozen=True)
class ConfirmOutcome:
    line: TaskLine
    stage: str
    waiting_for_second_person: bool
    discrepancy: Discrepancy | None


def _round(line: TaskLine) -> int:
    return int(line.details.get("round", 1))


def confirm(session: Session, *, line: TaskLine, actor_id: int, evidence: Evidence) -> ConfirmOutcome:
    handler = HANDLERS[line.task.workflow]
    if line.task.status in (TaskStatus.DONE.value, TaskStatus.CANCELLED.value):
        raise Conflict(f"Task {line.task.id} is {line.task.status}.", reason="task_closed")
    if line.status not in (LineStatus.OPEN.value, LineStatus.AWAITING_VERIFICATION.value):
        raise Conflict(f"Line {line.line_no} is {line.status.replace('_', ' ')}; nothing more to confirm.",
                       reason="line_closed", line_status=line.status)
    if not 0 <= evidence.quantity <= 1_000_000_000:
        raise InvalidInput.field("quantity", "must be from 0 to 1000000000")
    handler.check(session, line, evidence)

    if line.status == LineStatus.OPEN.value and _round(line) == 1:
        # Never confirmed: a first confirmation either waits for a second person or settles the line,
        # and only a recount (a new round) opens a line again. Nothing to load.
        set_committed_value(line, "confirmations", [])
    current = [c for c in line.confirmations if c.round == _round(line)]
    stage = "first" if not current else "second"
    if stage == "second" and current[0].user_id == actor_id:
        raise Forbidden("Four eyes: a different person must verify this line; you made the first count.",
                        reason="same_person")
    task_status = line.task.status
    # Every change below is written through at once (no unit-of-work flush): this is the floor's hot path.
    confirmation = insert_through(session, Confirmation(
        line_id=line.id, round=_round(line), stage=stage, user_id=actor_id, quantity=evidence.quantity,
        lot_code=evidence.lot_code, expiry=evidence.expiry_date.isoformat() if evidence.expiry_date else None,
        scanned_location=evidence.location.raw if evidence.location else None,
        scanned_item=evidence.item.raw if evidence.item else None, details=evidence.details, device=evidence.device))
    set_committed_value(confirmation, "line", line)
    set_committed_value(line, "confirmations", [*line.confirmations, confirmation])
    if line.task.status == TaskStatus.OPEN.value:
        write_through(session, line.task, status=TaskStatus.IN_PROGRESS.value)

    discrepancy = None
    if stage == "first" and line.needs_second_person:
        write_through(session, line, status=LineStatus.AWAITING_VERIFICATION.value)
    else:
        if stage == "second" and (current[0].quantity != evidence.quantity
                                  or (current[0].lot_code or None) != (evidence.lot_code or None)):
            discrepancy = open_discrepancy(session, line, kind="confirmations_disagree",
                                           expected=line.expected_quantity, counted=evidence.quantity,
                                           details={"first": current[0].quantity, "second": evidence.quantity,
                                                    "first_lot": current[0].lot_code,
                                                    "second_lot": evidence.lot_code})
        else:
            # In the order they confirmed: the first counter is the move's actor, the second its verifier.
            confirmers = [c.user_id for c in current] + [actor_id]
            write_through(session, line, confirmed_quantity=evidence.quantity)
            handler.settle(session, line, evidence, confirmers)
            discrepancy = session.info.get(_OPENED, {}).get(line.id)
    if line.status in (LineStatus.DONE.value, LineStatus.CANCELLED.value):
        finish_task_if_done(session, line.task)
    # A line that posted stock is told by its stock.changed (which names the task); the task's own event
    # is for what else its screens show: its status, a line waiting for a second person, a line closed
    # without a move. At 100 confirmations a second, one event less for every dashboard each time.
    if line.task.status != task_status or not (line.status == LineStatus.DONE.value and line.posted_seq):
        _announce_task(session, line.task)
    return ConfirmOutcome(line=line, stage=stage, discrepancy=discrepancy,
                          waiting_for_second_person=line.status == LineStatus.AWAITING_VERIFICATION.value)


_CLOSED = (LineStatus.DONE.value, LineStatus.CANCELLED.value)
_LINES_AND_OPEN = Prepared(
    select(func.count(TaskLine.id),
           func.coalesce(func.sum(case((and_(*(TaskLine.status != status for status in _CLOSED)), 1), else_=0)), 0))
    .where(TaskLine.task_id == bindparam("task_id")))


def _all_lines_closed(session: Session, task: Task) -> bool:
    """Whether the task has lines and every one is done or cancelled. Unless its lines are loaded already,
    the database counts them (after a flush): confirming one line of a long receipt does not load
    every other line."""
    if "lines" in task.__dict__:
        return bool(task.lines) and all(line.status in _CLOSED for line in task.lines)
    (total, open_lines), = _LINES_AND_OPEN.rows(session, {"task_id": task.id})
    return total > 0 and open_lines == 0


def finish_task_if_done(session: Session, task: Task) -> None:
    if task.status in (TaskStatus.DONE.value, TaskStatus.CANCELLED.value):
        return
    if _all_lines_closed(session, task):
        write_through(session, task, status=TaskStatus.DONE.value, completed_at=utcnow())
        finished = getattr(HANDLERS.get(task.workflow), "finished", None)
        if finished is not None:
            finished(session, task)


def mark_done(line: TaskLine, *, posted_seq: int | None, **columns: Any) -> None:
    """Close the line, with any other ``columns`` of it in the same UPDATE."""
    write_through(object_session(line), line, status=LineStatus.DONE.value, posted_seq=posted_seq, **columns)


# ---------------------------------------------------------------- discrepancies

_OPENED = "tasks.opened_discrepancies"  # session.info: line id -> the discrepancy this transaction opened on it


def open_discrepancy(session: Session, line: TaskLine, *, kind: str, expected: int | None, counted: int | None,
                     details: dict[str, Any] | None = None, moved_since_start: bool = False) -> Discrepancy:
    write_through(session, line, status=LineStatus.DISCREPANCY.value)
    discrepancy = Discrepancy(task_id=line.task_id, line=line, kind=kind, expected_quantity=expected,
                              counted_quantity=counted, details=details or {},
                              stock_moved_since_start=moved_since_start)
    session.add(discrepancy)
    session.flush()
    session.info.setdefault(_OPENED, {})[line.id] = discrepancy
    announce(session, "discrepancy.opened", _discrepancy_event(discrepancy), [line.task.warehouse.code])
    return discrepancy


def get_discrepancy(session: Session, discrepancy_id: int, *, for_update: bool = False) -> Discrepancy:
    return one_by_id(session, Discrepancy, discrepancy_id, noun="discrepancy", for_update=for_update)


def _participants(line: TaskLine) -> set[int]:
    return {c.user_id for c in line.confirmations}


def _decidable(discrepancy: Discrepancy, actor_id: int) -> None:
    if discrepancy.status != DiscrepancyStatus.OPEN.value:
        raise Conflict(f"Discrepancy {discrepancy.id} is {discrepancy.status.replace('_', ' ')}.",
                       reason="already_decided")
    if actor_id in _participants(discrepancy.line):
        raise Forbidden("Four eyes: you counted or confirmed this line, so someone else must decide.",
                        reason="participant")


def approve(session: Session, *, discrepancy: Discrepancy, actor_id: int, reason: str,
            reason_code: str) -> Discrepancy:
    _decidable(discrepancy, actor_id)
    if discrepancy.kind == "confirmations_disagree":
        raise InvalidInput("The two counts disagree, so there is no single quantity to approve: request a recount "
                           "or reject.", reason="counts_disagree")
    handler = HANDLERS[discrepancy.task.workflow]
    seq = handler.approve(session, discrepancy, actor_id, reason, reason_code)
    _decide(session, discrepancy, DiscrepancyStatus.APPROVED, actor_id, reason, reason_code, seq)
    return discrepancy


def reject(session: Session, *, discrepancy: Discrepancy, actor_id: int, reason: str) -> Discrepancy:
    _decidable(discrepancy, actor_id)
    HANDLERS[discrepancy.task.workflow].reject(session, discrepancy, actor_id, reason)
    _decide(session, discrepancy, DiscrepancyStatus.REJECTED, actor_id, reason, None, None)
    return discrepancy


def request_recount(session: Session, *, discrepancy: Discrepancy, actor_id: int, reason: str) -> Discrepancy:
    """Send the line back to be counted again, by anyone, in a new round; the old counts stay as evidence."""
    _decidable(discrepancy, actor_id)
    line = discrepancy.line
    # Only a line held by its discrepancy can be counted again. A line its workflow already settled (a
    # short pick is posted and done while its discrepancy is open) or one its cancelled task closed would
    # be reopened on a task that may be finished, and a new round could post it a second time.
    if line.status != LineStatus.DISCREPANCY.value:
        raise Conflict(f"Line {line.line_no} is {line.status.replace('_', ' ')}, not waiting on this discrepancy: "
                       "it cannot be counted again; approve or reject.", reason="line_settled")
    line.details = {**line.details, "round": _round(line) + 1}
    line.status = LineStatus.OPEN.value
    line.confirmed_quantity = None
    _decide(session, discrepancy, DiscrepancyStatus.RECOUNT_REQUESTED, actor_id, reason, None, None)
    return discrepancy


def _decide(session: Session, discrepancy: Discrepancy, status: DiscrepancyStatus, actor_id: int, reason: str,
            reason_code: str | None, seq: int | None) -> None:
    discrepancy.status = status.value
    discrepancy.decided_by, discrepancy.decided_at = actor_id, utcnow()
    discrepancy.decision_reason, discrepancy.reason_code, discrepancy.posted_seq = reason, reason_code, seq
    session.flush()
    audit(session, actor_id=actor_id, action=f"discrepancy.{status.value}", target=str(discrepancy.id),
          reason=reason, reason_code=reason_code, seq=seq, task=discrepancy.task_id, line=discrepancy.line.line_no)
    finish_task_if_done(session, discrepancy.task)
    announce(session, "discrepancy.resolved", _discrepancy_event(discrepancy), [discrepancy.task.warehouse.code])
    _announce_task(session, discrepancy.task)


def _discrepancy_event(discrepancy: Discrepancy) -> dict[str, Any]:
    line = discrepancy.line
    return {"id": discrepancy.id, "task_id": discrepancy.task_id, "workflow": discrepancy.task.workflow,
            "line": line.line_no, "kind": discrepancy.kind, "status": discrepancy.status,
            "sku": line.item.sku if line.item else None,
            "location": line.location.code if line.location else None,
            "warehouse": discrepancy.task.warehouse.code}


def _announce_task(session: Session, task: Task) -> None:
    announce(session, "task.updated", {"id": task.id, "workflow": task.workflow, "status": task.status,
                                       "reference": task.reference, "warehouse": task.warehouse.code},
             [task.warehouse.code])
