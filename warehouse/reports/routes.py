"""The dashboard's read endpoints: thin edges over ``warehouse.reports.services``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.api import Api
from warehouse.reports import services
from warehouse.reports.schemas import (
    FloorOut,
    FloorQuery,
    PersonOut,
    StockSnapshotOut,
    StockSnapshotQuery,
    ThroughputOut,
    ThroughputQuery,
)

api = Api("reports", __name__)

# Who works on what, and how fast, is a floor manager's view: supervisors and admins see it; operators
# and the order system's tokens (who may create tasks, but have no business reading people's pace) do not.
PERMISSION = "reports:read"


@api.get("/reports/floor", permission=PERMISSION, query=FloorQuery, response=FloorOut, tags=["reports"],
         errors=(404,), summary="Open tasks grouped by the operator who last confirmed or scanned on each")
def floor(session: Session, query: dict[str, Any]) -> services.Floor:
    return services.floor(session, warehouse=query.get("warehouse"))


@api.get("/reports/throughput", permission=PERMISSION, query=ThroughputQuery, response=ThroughputOut,
         tags=["reports"], errors=(404,),
         summary="A day's throughput per hour: lines finished and units moved per workflow, and ledger moves")
def throughput(session: Session, query: dict[str, Any]) -> services.Throughput:
    return services.throughput(session, day=query.get("date"), utc_offset=query["utc_offset"],
                               warehouse=query.get("warehouse"))


@api.get("/reports/people", permission=PERMISSION, response=PersonOut, many=True, tags=["reports"],
         summary="Names for the user ids in live events and reports")
def people(session: Session) -> list[services.Person]:
    return services.people(session)


@api.get("/reports/stock-snapshot", permission="stock:read", query=StockSnapshotQuery, response=StockSnapshotOut,
         tags=["reports"], errors=(404,),
         summary="All stock rows of a warehouse with the exact ledger seq they reflect, for live clients "
                 "that apply `stock.changed` and catch-up deltas exactly once")
def stock_snapshot(session: Session, query: dict[str, Any]) -> services.StockSnapshot:
    return services.stock_snapshot(session, warehouse=query.get("warehouse"))
