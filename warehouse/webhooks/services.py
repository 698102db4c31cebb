"""Webhook use cases: subscriptions, secret rotation, the outbox (enqueue) and manual redelivery.

Like every service: a Session in, flush, never commit. ``enqueue`` is called by
``warehouse.realtime.announce`` inside the transaction that made the change, so the delivery rows
commit (or roll back) with it; the dispatcher is woken after the commit.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from warehouse.api import Page
from warehouse.audit.services import record as audit
from warehouse.catalog.models import Item
from warehouse.config import current_setting
from warehouse.db import Prepared, after_commit, utcnow
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.locations.models import Location, Warehouse
from warehouse.queries import one_by_id, paginate
from warehouse.stock import watch
from warehouse.stock.models import StockLevel
from warehouse.webhooks import dispatcher, signing
from warehouse.webhooks.models import WebhookDelivery, WebhookSubscription

# What a subscription may ask for. Other announced events (task.updated, ...) are for live screens only.
EVENT_TYPES: tuple[str, ...] = (
    "stock.changed", "stock.low",
    "order.allocated", "order.backordered", "order.shipped",
    "return.received", "discrepancy.opened", "discrepancy.resolved",
)
STOCK_EVENTS = frozenset({"stock.changed", "stock.low"})
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# ---------------------------------------------------------------- subscriptions

def validate_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput.field("url", "must be an http:// or https:// URL with a host")
    if any(c.isspace() for c in url):
        raise InvalidInput.field("url", "must not contain spaces")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError:
        raise InvalidInput.field("url", "has an invalid port") from None
    return url


def validate_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput.field("events", f"unknown event type(s) {', '.join(unknown)}; "
                                           f"known: {', '.join(EVENT_TYPES)}")
    if not events:
        raise InvalidInput.field("events", "name at least one event type")
    return sorted(set(events), key=EVENT_TYPES.index)


def create_subscription(session: Session, *, actor_id: int | None, url: str, events: list[str],
                        active: bool = True, description: str | None = None) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret; the secret is returned only here (and on rotation)."""
    secret = signing.new_secret()
    subscription = WebhookSubscription(url=validate_url(url), events=validate_events(events), active=active,
                                       description=description, secret=secret, created_by=actor_id)
    session.add(subscription)
    session.flush()
    audit(session, actor_id=actor_id, action="webhook.subscribed", target=str(subscription.id),
          url=subscription.url, events=subscription.events)
    return subscription, secret


def get_subscription(session: Session, subscription_id: int, *, for_update: bool = False) -> WebhookSubscription:
    return one_by_id(session, WebhookSubscription, subscription_id, noun="webhook subscription",
                     for_update=for_update)


def list_subscriptions(session: Session, query: dict[str, Any]) -> Page:
    return paginate(session, select(WebhookSubscription).order_by(WebhookSubscription.id), query)


def update_subscription(session: Session, *, subscription_id: int, actor_id: int | None,
                        changes: dict[str, Any]) -> WebhookSubscription:
    if "url" in changes:
        changes["url"] = validate_url(changes["url"])
    if "events" in changes:
        changes["events"] = validate_events(changes["events"])
    subscription = get_subscription(session, subscription_id, for_update=True)
    for name, value in changes.items():
        setattr(subscription, name, value)
    session.flush()
    audit(session, actor_id=actor_id, action="webhook.updated", target=str(subscription.id),
          changes=sorted(changes))
    if changes.get("active"):  # pending deliveries of a paused subscription may go now
        after_commit(session, dispatcher.wake)
    return subscription


def rotate_secret(session: Session, *, subscription_id: int, actor_id: int | None,
                  keep_previous_hours: float | None = None) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing next to it for the rotation window, so the receiver
    can switch over without refusing a single delivery. A second rotation inside the window retires the
    oldest secret at once (only two are ever valid)."""
    hours = current_setting("WEBHOOK_ROTATION_HOURS") if keep_previous_hours is None else keep_previous_hours
    subscription = get_subscription(session, subscription_id, for_update=True)
    now = utcnow()
    secret = signing.new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + timedelta(hours=hours)
    subscription.secret, subscription.rotated_at = secret, now
    session.flush()
    audit(session, actor_id=actor_id, action="webhook.secret_rotated", target=str(subscription.id),
          previous_valid_until=subscription.previous_secret_expires_at.isoformat())
    return subscription, secret


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    secrets_ = [subscription.secret]
    if subscription.previous_secret and subscription.previous_secret_expires_at and \
            subscription.previous_secret_expires_at > now:
        secrets_.append(subscription.previous_secret)
    return secrets_


# ---------------------------------------------------------------- the outbox

def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ACTIVE_SUBSCRIPTIONS = Prepared(select(WebhookSubscription.id, WebhookSubscription.events)
                                 .where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id))


def _subscribers(session: Session) -> list[tuple[int, frozenset[str]]]:
    """Active subscriptions and their event types, read once per transaction (a move announces
    several events; the list does not change under it in a way that matters)."""
    cached = session.info.get("webhooks.subscribers")
    if cached is None:
        rows = _ACTIVE_SUBSCRIPTIONS.rows(session)
        cached = [(subscription_id, frozenset(events)) for subscription_id, events in rows]
        session.info["webhooks.subscribers"] = cached
    return cached


def _read_subscribers_ahead(session: Session, item_ids: set[int]) -> None:
    """Stock is about to be locked and changed: read the subscriptions now, not at the first announcement
    while other transactions queue on those stock rows."""
    _subscribers(session)


watch.register(None, prepare=_read_subscribers_ahead)


def _warehouse_totals(session: Session, sku: str, warehouse: str) -> tuple[int, int]:
    """On hand and reserved of the item over the warehouse's physical locations, as of this transaction
    (the ledger has already updated the projection for the move being announced)."""
    on_hand, reserved = session.execute(
        select(func.coalesce(func.sum(StockLevel.on_hand), 0), func.coalesce(func.sum(StockLevel.reserved), 0))
        .join(Item, StockLevel.item_id == Item.id)
        .join(Location, StockLevel.location_id == Location.id)
        .join(Warehouse, Location.warehouse_id == Warehouse.id)
        .where(Item.sku == sku, Warehouse.code == warehouse, StockLevel.is_virtual.is_(False))).one()
    return int(on_hand), int(reserved)


def _stock_events(session: Session, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    on_hand, reserved = _warehouse_totals(session, payload["sku"], payload["warehouse"])
    data = {"seq": payload["seq"], "sku": payload["sku"], "warehouse": payload["warehouse"],
            "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved,
            "location": payload["location"], "delta": payload["delta"], "lot": payload.get("lot"),
            "reason": payload.get("reason")}
    return [("stock.changed", data)]


def enqueue(session: Session, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """Write a delivery row per matching subscription, in the caller's transaction."""
    if event not in EVENT_TYPES:
        return []
    subscribers = _subscribers(session)
    if not subscribers:
        return []
    events = _stock_events(session, payload) if event == "stock.changed" else [(event, payload)]
    now = utcnow()
    deliveries = []
    for event_type, data in events:
        targets = [subscription_id for subscription_id, wanted in subscribers if event_type in wanted]
        if not targets:
            continue
        body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data},
                          separators=(",", ":"), ensure_ascii=False, default=_json_default)
        stock = event_type in STOCK_EVENTS
        for subscription_id in targets:
            deliveries.append(WebhookDelivery(
                subscription_id=subscription_id, msg_id=signing.new_msg_id(), event_type=event_type, body=body,
                ordering_key=f"item:{data['sku']}" if stock else None, seq=data.get("seq") if stock else None,
                status=PENDING, attempts=0, created_at=now, window_started_at=now, next_attempt_at=now))
    if deliveries:
        session.add_all(deliveries)
        if not session.info.get("webhooks.wake"):
            session.info["webhooks.wake"] = True
            after_commit(session, dispatcher.wake)
    return deliveries


# ---------------------------------------------------------------- the delivery log, redelivery

def list_deliveries(session: Session, *, subscription_id: int, query: dict[str, Any]) -> Page:
    get_subscription(session, subscription_id)
    statement = (select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                 .options(selectinload(WebhookDelivery.attempt_log))
                 .order_by(WebhookDelivery.id.desc()))
    for name in ("status", "event_type"):
        if query.get(name):
            statement = statement.where(getattr(WebhookDelivery, name) == query[name])
    return paginate(session, statement, query)


def redeliver(session: Session, *, delivery_id: int, actor_id: int | None) -> WebhookDelivery:
    """Send a delivery again, under the same webhook-id, with a fresh retry period. A delivery that is
    still pending is already on its way: 409."""
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    if delivery.status == PENDING:
        raise Conflict(f"Delivery {delivery_id} is still pending; it is retried on its own.", reason="pending")
    now = utcnow()
    delivery.status, delivery.window_started_at, delivery.next_attempt_at = PENDING, now, now
    delivery.failed_at = None
    delivery.claimed_until = delivery.claim_token = None
    session.flush()
    audit(session, actor_id=actor_id, action="webhook.redelivered", target=str(delivery.id),
          subscription=delivery.subscription_id, msg_id=delivery.msg_id)
    after_commit(session, dispatcher.wake)
    return delivery
