"""Endpoints every workflow shares: tasks and their lines, confirming, discrepancies, policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.errors import NotFound
from warehouse.locations.models import Warehouse
from warehouse.queries import paginate
from warehouse.scanning.models import ScanLog
from warehouse.tasks import services
from warehouse.tasks.models import Discrepancy, Task, VerificationPolicy, Workflow
from warehouse.tasks.schemas import (
    ApproveIn,
    CancelIn,
    ConfirmIn,
    ConfirmOut,
    DecisionIn,
    DiscrepancyDetailOut,
    DiscrepancyOut,
    DiscrepancyQuery,
    PolicyIn,
    PolicyOut,
    TaskOut,
    TaskQuery,
)

api = Api("tasks", __name__)


@api.get("/tasks", permission="stock:read", query=TaskQuery, response=TaskOut, paginated=True, tags=["tasks"],
         summary="Tasks to work on, oldest first (filter by workflow, status, warehouse)")
def list_tasks(session: Session, query: dict[str, Any]) -> Page:
    statement = select(Task).join(Warehouse, Task.warehouse_id == Warehouse.id).order_by(Task.id)
    for name, column in (("workflow", Task.workflow), ("status", Task.status), ("warehouse", Warehouse.code)):
        if name in query:
            statement = statement.where(column == query[name])
    return paginate(session, statement, query)


@api.get("/tasks/<int:task_id>", permission="stock:read", response=TaskOut, tags=["tasks"], errors=(404,),
         summary="A task and its lines, blind: nobody sees another person's count or a count's system quantity")
def get_task(session: Session, task_id: int) -> Task:
    return services.get_task(session, task_id)


@api.post("/tasks/<int:task_id>/lines/<int:line_no>/confirm", permission="tasks:work", body=ConfirmIn,
          response=ConfirmOut, idempotent=True, tags=["tasks"], errors=(403, 404, 409, 422),
          summary="Confirm a line with what you scanned and counted. The first confirmation waits for a "
                  "different person when the policy asks for four eyes; agreeing confirmations post the line "
                  "or open a discrepancy. Honours Idempotency-Key (offline replays).")
def confirm_line(session: Session, actor: Principal, task_id: int, line_no: int,
                 body: dict[str, Any]) -> services.ConfirmOutcome:
    line = services.get_line(session, task_id, line_no, for_update=True)
    device = body.get("device")
    scan = {name: services.resolve_scan(session, body.get(name), user_id=actor.user_id, device=device,
                                        task=line.task, field_name=name) for name in ("location", "item")}
    evidence = services.Evidence(quantity=body["quantity"], location=scan["location"], item=scan["item"],
                                 lot=body.get("lot"), expiry=body.get("expiry"), device=device,
                                 details={"grade": body["grade"]} if "grade" in body else {})
    return services.confirm(session, line=line, actor_id=actor.user_id, evidence=evidence)


@api.post("/tasks/<int:task_id>/cancel", permission="tasks:manage", body=CancelIn, response=TaskOut,
          tags=["tasks"], errors=(404, 409), summary="Cancel a task that has posted nothing yet")
def cancel_task(session: Session, actor: Principal, task_id: int, body: dict[str, Any]) -> Task:
    return services.cancel_task(session, task=services.get_task(session, task_id), actor_id=actor.user_id,
                                reason=body["reason"])


@api.get("/discrepancies", permission="discrepancies:review", query=DiscrepancyQuery, response=DiscrepancyOut,
         paginated=True, tags=["discrepancies"], summary="The review queue (filter by status, workflow, kind, warehouse)")
def list_discrepancies(session: Session, query: dict[str, Any]) -> Page:
    statement = (select(Discrepancy).join(Task, Discrepancy.task_id == Task.id)
                 .join(Warehouse, Task.warehouse_id == Warehouse.id).order_by(Discrepancy.id))
    for name, column in (("status", Discrepancy.status), ("workflow", Task.workflow), ("kind", Discrepancy.kind),
                         ("warehouse", Warehouse.code)):
        if name in query:
            statement = statement.where(column == query[name])
    return paginate(session, statement, query)


def _with_scans(session: Session, discrepancy: Discrepancy) -> Discrepancy:
    people = {c.user_id for c in discrepancy.line.confirmations}
    discrepancy.scans = list(session.scalars(  # type: ignore[attr-defined]
        select(ScanLog).where(ScanLog.task_id == discrepancy.task_id, ScanLog.user_id.in_(people))
        .order_by(ScanLog.id)))
    return discrepancy


@api.get("/discrepancies/<int:discrepancy_id>", permission="discrepancies:review", response=DiscrepancyDetailOut,
         tags=["discrepancies"], errors=(404,), summary="A discrepancy with every confirmation and scan behind it")
def get_discrepancy(session: Session, discrepancy_id: int) -> Discrepancy:
    return _with_scans(session, services.get_discrepancy(session, discrepancy_id))


@api.post("/discrepancies/<int:discrepancy_id>/approve", permission="discrepancies:review", body=ApproveIn,
          response=DiscrepancyDetailOut, idempotent=True, tags=["discrepancies"], errors=(403, 404, 409, 422),
          summary="Approve: post what was counted, with a reason code. Refused to anyone who counted or "
                  "confirmed the line.")
def approve(session: Session, actor: Principal, discrepancy_id: int, body: dict[str, Any]) -> Discrepancy:
    discrepancy = services.get_discrepancy(session, discrepancy_id, for_update=True)
    services.approve(session, discrepancy=discrepancy, actor_id=actor.user_id, reason=body["reason"],
                     reason_code=body["reason_code"])
    return _with_scans(session, discrepancy)


@api.post("/discrepancies/<int:discrepancy_id>/reject", permission="discrepancies:review", body=DecisionIn,
          response=DiscrepancyDetailOut, idempotent=True, tags=["discrepancies"], errors=(403, 404, 409),
          summary="Reject: post nothing for the disputed quantity")
def reject(session: Session, actor: Principal, discrepancy_id: int, body: dict[str, Any]) -> Discrepancy:
    discrepancy = services.get_discrepancy(session, discrepancy_id, for_update=True)
    services.reject(session, discrepancy=discrepancy, actor_id=actor.user_id, reason=body["reason"])
    return _with_scans(session, discrepancy)


@api.post("/discrepancies/<int:discrepancy_id>/recount", permission="discrepancies:review", body=DecisionIn,
          response=DiscrepancyDetailOut, idempotent=True, tags=["discrepancies"], errors=(403, 404, 409),
          summary="Request a recount: the line opens again for a new round of confirmations")
def recount(session: Session, actor: Principal, discrepancy_id: int, body: dict[str, Any]) -> Discrepancy:
    discrepancy = services.get_discrepancy(session, discrepancy_id, for_update=True)
    services.request_recount(session, discrepancy=discrepancy, actor_id=actor.user_id, reason=body["reason"])
    return _with_scans(session, discrepancy)


@api.get("/verification-policies", permission="stock:read", response=PolicyOut, many=True, tags=["policies"],
         summary="How each workflow's lines are verified")
def list_policies(session: Session) -> list[VerificationPolicy]:
    return [services.policy_for(session, workflow) for workflow in Workflow]  # type: ignore[return-value]


@api.put("/verification-policies/<workflow>", permission="policies:manage", body=PolicyIn, response=PolicyOut,
         tags=["policies"], errors=(404, 422),
         summary="Set a workflow's policy: two_person, two_scan or sampled, a value threshold for four eyes, "
                 "and the count tolerance for automatic approval")
def set_policy(session: Session, actor: Principal, workflow: str, body: dict[str, Any]) -> VerificationPolicy:
    if workflow not in {w.value for w in Workflow}:
        raise NotFound(f"No workflow {workflow!r}.")
    value: Decimal | None = body.pop("two_person_from_value", None)
    return services.set_policy(session, workflow=workflow, actor_id=actor.user_id,
                               two_person_from_value_minor=None if value is None else int(value * 100), **body)
