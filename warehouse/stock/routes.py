from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.stock import queries, services
from warehouse.stock.checks import LedgerReport, check_ledger
from warehouse.stock.models import Move
from warehouse.stock.schemas import (
    AdjustmentIn,
    ChangeFeedOut,
    ChangesQuery,
    InvariantOut,
    MoveOut,
    StockQuery,
    StockRowOut,
    TotalsQuery,
    TotalsRowOut,
)

api = Api("stock", __name__)


@api.get("/stock", permission="stock:read", query=StockQuery, response=StockRowOut, paginated=True, tags=["stock"],
         summary="Stock per location, item and lot in physical locations (filter by sku, location, "
                 "warehouse, lot); available = on_hand - reserved")
def list_stock(session: Session, query: dict[str, Any]) -> Page:
    return queries.stock_levels(session, query)


@api.get("/stock/totals", permission="stock:read", query=TotalsQuery, response=TotalsRowOut, paginated=True,
         tags=["stock"], summary="Stock per item and warehouse")
def stock_totals(session: Session, query: dict[str, Any]) -> Page:
    return queries.stock_totals(session, query)


@api.get("/stock/changes", permission="stock:read", query=ChangesQuery, response=ChangeFeedOut, tags=["stock"],
         summary="The ledger in seq order as per-location changes; page with `after=next_after`. "
                 "A live client that sees a gap in seq catches up here.")
def stock_changes(session: Session, query: dict[str, Any]) -> queries.ChangeFeed:
    return queries.changes_after(session, after=query["after"], limit=query["limit"], sku=query.get("sku"),
                                 warehouse=query.get("warehouse"))


@api.post("/stock/adjustments", permission="stock:adjust", body=AdjustmentIn, response=MoveOut, status=201,
          idempotent=True, tags=["stock"], errors=(409, 422),
          summary="Post a manual adjustment with a reason: positive quantity adds stock found, negative "
                  "writes stock off. Honours Idempotency-Key.")
def create_adjustment(session: Session, actor: Principal, body: dict[str, Any],
                      idempotency_key: str | None = None) -> Move:
    return services.adjust(session, actor_id=actor.user_id, idempotency_key=idempotency_key, **body)


@api.get("/stock/invariants", permission="stock:adjust", response=InvariantOut, tags=["stock"],
         summary="Check every ledger invariant now (the same check as `warehouse check-ledger`)")
def invariants(session: Session) -> LedgerReport:
    return check_ledger(session)
