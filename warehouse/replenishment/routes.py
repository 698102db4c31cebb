"""Replenishment rules (supervisors and admins) and the draft purchase orders they make."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.replenishment import services
from warehouse.replenishment.models import PurchaseOrder, ReplenishmentRule
from warehouse.replenishment.schemas import PurchaseOrderOut, PurchaseOrderQuery, RuleIn, RuleOut, RuleQuery

api = Api("replenishment", __name__)


@api.put("/replenishment/rules", permission="replenishment:manage", body=RuleIn, response=RuleOut, idempotent=True,
         tags=["replenishment"], errors=(422,),
         summary="Set the min/max of an item in a warehouse, or at one of its pick faces (one rule each). Falling "
                 "below the minimum announces stock.low once and makes a replenishment up to the maximum: a move "
                 "task from reserve bins for a pick face, a draft purchase order (grouped by supplier) for a "
                 "warehouse. A rule set below the current level acts at once.")
def set_rule(session: Session, actor: Principal, body: dict[str, Any]) -> ReplenishmentRule:
    return services.set_rule(session, actor_id=actor.user_id, **body)


@api.delete("/replenishment/rules/<int:rule_id>", permission="replenishment:manage", response=RuleOut,
            tags=["replenishment"], errors=(404,),
            summary="Remove a rule: the item is no longer watched there. Replenishments it already made stay.")
def delete_rule(session: Session, actor: Principal, rule_id: int) -> ReplenishmentRule:
    return services.delete_rule(session, actor_id=actor.user_id, rule_id=rule_id)


@api.get("/replenishment/rules", permission="stock:read", query=RuleQuery, response=RuleOut, paginated=True,
         tags=["replenishment"], errors=(422,), summary="Replenishment rules, filtered by warehouse or SKU")
def list_rules(session: Session, query: dict[str, Any]) -> Page:
    return services.list_rules(session, query)


@api.get("/replenishment/purchase-orders", permission="stock:read", query=PurchaseOrderQuery,
         response=PurchaseOrderOut, paginated=True, tags=["replenishment"], errors=(422,),
         summary="Purchase orders made by replenishment, newest first")
def list_purchase_orders(session: Session, query: dict[str, Any]) -> Page:
    return services.list_purchase_orders(session, query)


@api.get("/replenishment/purchase-orders/<int:purchase_order_id>", permission="stock:read",
         response=PurchaseOrderOut, tags=["replenishment"], errors=(404,), summary="A purchase order")
def get_purchase_order(session: Session, purchase_order_id: int) -> PurchaseOrder:
    return services.get_purchase_order(session, purchase_order_id)


@api.post("/replenishment/purchase-orders/<int:purchase_order_id>/receipt", permission="replenishment:manage",
          response=PurchaseOrderOut, idempotent=True, tags=["replenishment", "receiving"], errors=(404, 409, 422),
          summary="Send a draft purchase order: it becomes an expected receipt (a receiving task referenced "
                  "PO-<id>, at the warehouse's first receiving location); 409 unless it is a draft, 422 if the "
                  "warehouse has no receiving location")
def expect_purchase_order(session: Session, actor: Principal, purchase_order_id: int) -> PurchaseOrder:
    return services.expect(session, purchase_order_id=purchase_order_id, actor_id=actor.user_id)
