"""Webhook subscriptions and the outbox of deliveries.

A delivery row is written in the same transaction as the change it reports (``announce`` enqueues
it), so a crash between commit and send loses nothing: the dispatcher finds the row afterwards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.db import Base, utcnow


class WebhookSubscription(Base):
    """Where to send which events. The secret is kept as it is (not hashed): every delivery is signed
    with it, so the service must be able to read it back; it is shown to the client only once."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(100))
    # During a rotation the previous secret still signs (next to the new one) until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one subscription: the outbox row, retried until delivered or failed.

    ``msg_id`` is the Standard Webhooks ``webhook-id``; it never changes for this row, so a retry or a
    manual redelivery reaches the receiver under the same id and it can drop duplicates. ``body`` is
    the exact JSON text that is signed and sent, fixed at enqueue time so every attempt is identical."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The dispatcher's scan: due pending rows, and the earlier pending row of the same item.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_ordering_key_status", "subscription_id", "ordering_key",
              "status"),
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    # Stock events of one item go out one at a time, in seq order (see dispatcher); None: no order.
    ordering_key: Mapped[str | None] = mapped_column(String(120))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Retries stop (failed) once the retry period has passed since this instant: the creation, or
    # the last manual redelivery.
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A dispatcher's lease: set when it claims the row, so others leave it alone while it sends; if
    # that dispatcher dies, the lease runs out and the row is claimed again (at least once).
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(40))
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))

    subscription: Mapped[WebhookSubscription] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id",
                                                             back_populates="delivery")


class WebhookAttempt(Base):
    """One try at sending a delivery: the delivery log with response codes and timings."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # delivered | http_error | timeout | error
    error: Mapped[str | None] = mapped_column(String(500))
    redelivery: Mapped[bool] = mapped_column(Boolean, default=False)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
