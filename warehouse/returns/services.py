"""Customer returns against an RMA.

An RMA (return merchandise authorisation) becomes a returns task whose lines are what the customer
said they would send back. At the returns location an operator scans the location's label, scans
the item, enters how many arrived and grades them; a second, different person does the same
blind. Agreed lines are posted from the customer (a virtual location) by grade:

- ``resellable`` -> the returns location, from where a putaway task (``POST /putaway-tasks`` with
  ``source`` = the returns location) takes it back to stock;
- ``damaged`` / ``defective`` -> the warehouse's quarantine location, for a supervisor to scrap or
  repair later (scrapping is a stock move of its own, not part of receiving the return);
- ``wrong_item`` (the customer was sent the wrong thing) -> quarantine as well, flagged
  ``wrong_item`` on the line so the mis-shipment can be traced.

Graders who disagree open a ``grade_disagree`` discrepancy and nothing is posted. Fewer units than
expected post what arrived and open ``return_short`` for the rest; a recount of that line then
counts what arrives later, so nothing is ever posted twice. Once every line is done the task
announces ``return.received`` exactly once, which is what refunds wait for.

An RMA names the order by the order system's external id. For an order this service shipped, the
RMA may not return more of an item than went out; an order it never saw is taken on the RMA's word.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item, Lot, Tracking
from warehouse.catalog.services import item_for_floor_line, lot_for
from warehouse.db import utcnow
from warehouse.errors import Conflict, InvalidInput
from warehouse.locations.models import Location, LocationType
from warehouse.locations.services import first_location, location_for, virtual_location, warehouse_by_code
from warehouse.orders import services as orders
from warehouse.realtime import announce
from warehouse.stock.ledger import post_move
from warehouse.tasks import services as tasks
from warehouse.tasks.models import Discrepancy, LineStatus, Task, TaskLine, TaskStatus, Workflow
from warehouse.tasks.schemas import RETURN_GRADES

RESELLABLE = "resellable"
WRONG_ITEM = "wrong_item"
RECEIVED_EVENT = "return.received"


# ---------------------------------------------------------------- locations

def quarantine_location(session: Session, warehouse_id: int) -> Location | None:
    """Where damaged, defective and wrongly shipped returns wait for a supervisor."""
    return first_location(session, warehouse_id, LocationType.QUARANTINE)


def _destination(session: Session, line: TaskLine, grade: str) -> Location:
    if grade == RESELLABLE:
        assert line.location is not None
        return line.location
    quarantine = quarantine_location(session, line.task.warehouse_id)
    if quarantine is None:
        raise InvalidInput.field("grade", f"{line.task.warehouse.code} has no quarantine location for {grade} "
                                          "returns; create one first")
    return quarantine


# ---------------------------------------------------------------- creating an RMA

def create_return(session: Session, *, actor_id: int, rma: str, warehouse: str, order: str,
                  lines: list[dict[str, Any]], customer: str | None = None, location: str | None = None) -> Task:
    site = warehouse_by_code(session, warehouse, field="warehouse")
    returns = location_for(session, warehouse=site, kind=LocationType.RETURNS, code=location, field="location")
    # One live task per RMA, so that return.received is announced once per RMA (a retry of the same
    # request is answered from its Idempotency-Key instead). A cancelled RMA may be entered again.
    existing = session.scalar(select(Task.id).where(
        Task.workflow == Workflow.RETURNS.value, Task.reference == rma,
        Task.status != TaskStatus.CANCELLED.value))
    if existing is not None:
        raise Conflict(f"RMA {rma} is already being received as task {existing}.", reason="rma_exists",
                       task_id=existing)
    if not lines:
        raise InvalidInput.field("lines", "an RMA needs at least one line")
    shipped = orders.shipped_units(session, external_id=order)
    claimed: dict[str, int] = {}
    task_lines = []
    for index, line in enumerate(lines):
        item = item_for_floor_line(session, line["sku"], field=f"lines.{index}.sku", work="returning")
        claimed[item.sku] = claimed.get(item.sku, 0) + line["quantity"]
        # An order we shipped bounds what may come back; one we never saw (shipped before this system,
        # or by another) is taken on the RMA's word, as the order system issued it.
        if shipped is not None and claimed[item.sku] > shipped.get(item.sku, 0):
            raise InvalidInput.field(f"lines.{index}.quantity",
                                     f"order {order} shipped {shipped.get(item.sku, 0)} of {item.sku}; "
                                     f"this RMA returns {claimed[item.sku]}")
        task_lines.append({"item": item, "expected_quantity": line["quantity"], "location": returns,
                           "details": {"reason": line["reason"]} if line.get("reason") else {}})
    return tasks.create_task(session, workflow=Workflow.RETURNS, warehouse_id=site.id, actor_id=actor_id,
                             reference=rma, lines=task_lines,
                             details={"rma": rma, "order": order, "customer": customer, "location": returns.code,
                                      "announced_at": None})


# ---------------------------------------------------------------- what a line has received

def received(line: TaskLine) -> list[dict[str, Any]]:
    """The postings of a line: one per settled round (a short return may be completed later)."""
    return list(line.details.get("received", []))


def outstanding(line: TaskLine) -> int:
    return (line.expected_quantity or 0) - sum(entry["quantity"] for entry in received(line))


def received_event(task: Task) -> dict[str, Any]:
    return {"rma": task.details.get("rma", task.reference), "order": task.details.get("order"),
            "warehouse": task.warehouse.code,
            "lines": [{"sku": line.item.sku if line.item else None, "quantity": entry["quantity"],
                       "grade": entry["grade"], "location": entry["location"], "lot": entry["lot"]}
                      for line in task.lines for entry in received(line)]}


def _lock_task(session: Session, task_id: int) -> None:
    """Serialise the transactions that can finish lines of one RMA. Without it, two lines finishing
    at once on PostgreSQL could each miss the other's commit, leave the task open and never announce
    return.received; with it, the later one sees the earlier one's line as done."""
    session.execute(select(Task.id).where(Task.id == task_id).with_for_update())


# ---------------------------------------------------------------- the workflow

class Returns:
    workflow = Workflow.RETURNS

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        _lock_task(session, line.task_id)
        assert line.location is not None
        tasks.require_location(evidence.location, line.location, field_name="location")
        left = outstanding(line)
        if evidence.quantity == 0:  # nothing of this line arrived: no item to scan or grade
            return
        tasks.require_item(line, evidence.item)
        if not 1 <= evidence.quantity <= left:
            already = (line.expected_quantity or 0) - left
            message = f"confirm 1 to {left} here" + (f" ({already} of {line.expected_quantity} were received "
                                                     "earlier)" if already else "")
            raise InvalidInput(f"quantity: {message}", errors={"quantity": [message]},
                               reason="more_than_expected" if evidence.quantity > left else "nothing_returned")
        grade = evidence.details.get("grade")
        if grade not in RETURN_GRADES:
            raise InvalidInput.field("grade", f"grade the returned goods: {', '.join(RETURN_GRADES)}")
        if grade != RESELLABLE:
            _destination(session, line, grade)  # refuse now, not after a second person has graded too
        item: Item = line.item  # type: ignore[assignment]
        if item.tracking != Tracking.NONE.value:
            if not evidence.lot_code:
                raise InvalidInput.field("lot", f"{item.sku} is lot-tracked: scan or enter the lot")
            if item.expiry_tracked and evidence.expiry_date is None and \
                    session.scalar(select(Lot.id).where(Lot.item_id == item.id, Lot.code == evidence.lot_code)) is None:
                raise InvalidInput.field("expiry", f"{item.sku} tracks expiry and lot {evidence.lot_code} is new: "
                                                   "scan or enter the expiry date")

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        # The engine compares quantities and lots only; the grades of this round are compared here.
        current = [c for c in line.confirmations if c.round == int(line.details.get("round", 1))]
        grades = [c.details.get("grade") for c in current]
        left = outstanding(line)
        if len(set(grades)) > 1:
            tasks.open_discrepancy(session, line, kind="grade_disagree", expected=left, counted=agreed.quantity,
                                   details={"first": grades[0], "second": grades[-1]})
            return
        if agreed.quantity == 0:
            tasks.open_discrepancy(session, line, kind="return_short", expected=left, counted=0,
                                   details={"missing": left, "grade": None})
            return
        grade = agreed.details["grade"]
        seq = self._post(session, line, agreed, grade, actor_id=confirmers[0],
                         verifier_id=confirmers[-1] if len(confirmers) > 1 else None)
        if agreed.quantity < left:
            missing = left - agreed.quantity
            line.details = {**line.details, "suggestion": f"{(line.expected_quantity or 0) - missing} of "
                                                          f"{line.expected_quantity} received; a recount confirms "
                                                          "only what arrives later"}
            tasks.open_discrepancy(session, line, kind="return_short", expected=left, counted=agreed.quantity,
                                   details={"missing": missing, "grade": grade})
            line.posted_seq = seq
            return
        tasks.mark_done(line, posted_seq=seq)

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """Accept a short return as it is: what arrived is already posted, the rest is not coming."""
        if discrepancy.kind == "grade_disagree":
            raise InvalidInput("The graders disagree, so there is no single grade to approve: request a recount "
                               "so the line is graded again.", reason="grades_disagree")
        if discrepancy.kind != "return_short":
            raise InvalidInput("Only a short return can be approved: request a recount.", reason="recount_required")
        _lock_task(session, discrepancy.task_id)
        line = discrepancy.line
        line.details = {**line.details, "shortfall": {"missing": discrepancy.details.get("missing"),
                                                      "decision": "accepted"}}
        tasks.mark_done(line, posted_seq=line.posted_seq)
        return None

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        """Refuse to accept a shortfall: nothing is posted for the missing units (what arrived stays
        posted, the goods are here). Disagreements over goods that are here cannot be rejected away;
        they are settled by a recount."""
        if discrepancy.kind != "return_short":
            raise InvalidInput("The returned goods are here: a disagreement over them is settled by a recount, "
                               "not by rejecting them.", reason="recount_required")
        _lock_task(session, discrepancy.task_id)
        line = discrepancy.line
        line.details = {**line.details, "shortfall": {"missing": discrepancy.details.get("missing"),
                                                      "decision": "rejected"}}
        tasks.mark_done(line, posted_seq=line.posted_seq)

    def finished(self, session: Session, task: Task) -> None:
        """Every line is verified and decided: announce the return, once, for refunds to follow."""
        if task.details.get("announced_at") or any(line.status != LineStatus.DONE.value for line in task.lines):
            return
        # Kept on the task in the same transaction as the event is queued, so the flag and the
        # announcement commit (or roll back) together.
        task.details = {**task.details, "announced_at": utcnow().isoformat()}
        announce(session, RECEIVED_EVENT, received_event(task), [task.warehouse.code])

    def _post(self, session: Session, line: TaskLine, agreed: tasks.Evidence, grade: str, *, actor_id: int,
              verifier_id: int | None) -> int:
        item: Item = line.item  # type: ignore[assignment]
        tracked = item.tracking != Tracking.NONE.value
        # A GS1 label may carry a lot even for an item that is not lot-tracked; the ledger keeps none then.
        lot = lot_for(session, item, agreed.lot_code if tracked else None,
                      expiry=agreed.expiry_date if tracked else None, create=True)
        destination = _destination(session, line, grade)
        move = post_move(session, item=item, lot=lot, source=virtual_location(session, LocationType.CUSTOMER),
                         destination=destination, quantity=agreed.quantity,
                         reason=f"Returned on {line.task.reference} ({grade})", reason_code="return",
                         actor_id=actor_id, verifier_id=verifier_id, task_id=line.task_id)
        entry = {"quantity": agreed.quantity, "grade": grade, "location": destination.code,
                 "lot": lot.code if lot else None, "seq": move.seq, "round": int(line.details.get("round", 1))}
        line.details = {**line.details, "received": [*received(line), entry],
                        **({"wrong_item": True} if grade == WRONG_ITEM else {})}
        line.to_location = destination
        return move.seq


tasks.register(Returns())
