"""Webhook endpoints: declarations only; the rules live in services."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.accounts.principal import Principal
from warehouse.api import Api, Page
from warehouse.schemas import PageQuery
from warehouse.webhooks import services
from warehouse.webhooks.models import WebhookDelivery, WebhookSubscription
from warehouse.webhooks.schemas import (
    DeliveryOut,
    DeliveryQuery,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

api = Api("webhooks", __name__)
PERMISSION = "webhooks:manage"


@api.post("/webhooks/subscriptions", permission=PERMISSION, body=SubscriptionIn, response=SubscriptionCreatedOut,
          status=201, errors=(422,),
          summary="Subscribe a URL to event types; answers the signing secret (`whsec_...`), only this once")
def create_subscription(session: Session, actor: Principal, body: dict[str, Any]) -> WebhookSubscription:
    # SubscriptionCreatedOut dumps the (new) secret; every other answer uses SubscriptionOut, without it.
    subscription, _ = services.create_subscription(session, actor_id=actor.user_id, **body)
    return subscription


@api.get("/webhooks/subscriptions", permission=PERMISSION, query=PageQuery, response=SubscriptionOut,
         paginated=True, summary="Webhook subscriptions (without their secrets)")
def list_subscriptions(session: Session, query: dict[str, Any]) -> Page:
    return services.list_subscriptions(session, query)


@api.get("/webhooks/subscriptions/<int:subscription_id>", permission=PERMISSION, response=SubscriptionOut,
         errors=(404,), summary="One webhook subscription (without its secret)")
def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    return services.get_subscription(session, subscription_id)


@api.patch("/webhooks/subscriptions/<int:subscription_id>", permission=PERMISSION, body=SubscriptionPatch,
           response=SubscriptionOut, errors=(404, 422),
           summary="Change the URL, event types or description; `active: false` pauses deliveries (they wait)")
def update_subscription(session: Session, actor: Principal, subscription_id: int,
                        body: dict[str, Any]) -> WebhookSubscription:
    return services.update_subscription(session, subscription_id=subscription_id, actor_id=actor.user_id,
                                        changes=body)


@api.post("/webhooks/subscriptions/<int:subscription_id>/rotate-secret", permission=PERMISSION,
          response=SubscriptionCreatedOut, errors=(404,),
          summary="A new secret (answered only here); the previous one keeps signing next to it for "
                  "WAREHOUSE_WEBHOOK_ROTATION_HOURS")
def rotate_secret(session: Session, actor: Principal, subscription_id: int) -> WebhookSubscription:
    subscription, _ = services.rotate_secret(session, subscription_id=subscription_id, actor_id=actor.user_id)
    return subscription


@api.get("/webhooks/subscriptions/<int:subscription_id>/deliveries", permission=PERMISSION, query=DeliveryQuery,
         response=DeliveryOut, paginated=True, errors=(404,),
         summary="The delivery log, newest first: each delivery with its attempts, status codes and timings")
def list_deliveries(session: Session, subscription_id: int, query: dict[str, Any]) -> Page:
    return services.list_deliveries(session, subscription_id=subscription_id, query=query)


@api.post("/webhooks/deliveries/<int:delivery_id>/redeliver", permission=PERMISSION, response=DeliveryOut,
          errors=(404, 409),
          summary="Send a delivered or failed delivery again, under the same webhook-id, with a fresh retry period")
def redeliver(session: Session, actor: Principal, delivery_id: int) -> WebhookDelivery:
    return services.redeliver(session, delivery_id=delivery_id, actor_id=actor.user_id)
