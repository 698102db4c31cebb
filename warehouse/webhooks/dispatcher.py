"""The webhook dispatcher: sends committed outbox rows, at least once.

One loop, run as a daemon thread by ``warehouse run`` or in the foreground by ``warehouse webhooks
run`` (as many processes as wanted):

1. **Claim** due deliveries in a short transaction. On PostgreSQL the rows are selected
   ``FOR UPDATE SKIP LOCKED``, so dispatchers in other processes skip what this one is claiming; on
   SQLite the claim runs under the process write lock and ``BEGIN IMMEDIATE``, which serialise
   claims. A claim is a lease (``claimed_until``) rather than a lock held while sending: no
   transaction stays open during HTTP, and a dispatcher that dies mid-send only delays the row
   until its lease runs out.
2. **Send** outside any transaction, signed (Standard Webhooks), with a bounded timeout, redirects
   not followed (a receiver answering 3xx has not received the event).
3. **Record** the attempt in the delivery log; 2xx is delivered, anything else (timeout, refused
   connection, 3xx-5xx) is retried with exponential backoff and jitter until the retry period has
   passed, then the delivery is marked failed.

Per-item order: a stock delivery is not claimed while an earlier delivery of the same item for the
same subscription is still pending (waiting, in flight or retrying), so a receiver that was down
gets an item's events in seq order once it is back. Delivery ids follow seq for one item: stock
deliveries are written under the ledger-head lock, which serialises the transactions that write them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

import requests
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from warehouse import __version__
from warehouse.db import Database, utcnow
from warehouse.webhooks import signing
from warehouse.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
USER_AGENT = f"warehouse-webhooks/{__version__}"
# At most this much of a receiver's answer is read (into the log's error text); the rest is dropped.
MAX_RESPONSE_BYTES = 4096

# Every dispatcher running in this process, so that a commit here can wake them all at once.
_running: set[Dispatcher] = set()
_running_lock = threading.Lock()


def wake() -> None:
    """Tell this process's dispatchers that deliveries were just committed (an after-commit callback)."""
    with _running_lock:
        dispatchers = list(_running)
    for dispatcher in dispatchers:
        dispatcher.wake()


@dataclass(frozen=True)
class Job:
    delivery_id: int
    claim_token: str
    msg_id: str
    url: str
    body: str
    secrets: tuple[str, ...]
    attempt: int
    window_started_at: datetime
    redelivery: bool


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    outcome: str  # delivered | http_error | timeout | error
    error: str | None


class Dispatcher:
    def __init__(self, db: Database, *, timeout: float = 10.0, retry_hours: float = 72.0,
                 backoff: float = 5.0, max_backoff: float = 3600.0, poll: float = 2.0, batch: int = 20,
                 workers: int = 8, lease_seconds: float | None = None,
                 name: str = "webhook-dispatcher") -> None:
        self.db = db
        self.timeout = timeout
        self.retry_period = timedelta(hours=retry_hours)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.poll, self.batch, self.workers = poll, batch, workers
        self.name = name
        # Long enough that a send bounded by ``timeout`` (connect, then the answer) ends well before
        # another dispatcher may take the row over.
        self.lease = timedelta(seconds=lease_seconds if lease_seconds is not None else max(30.0, 3 * timeout))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, db: Database, config: Mapping[str, Any], **kwargs: Any) -> Dispatcher:
        return cls(db, timeout=config["WEBHOOK_TIMEOUT_SECONDS"], retry_hours=config["WEBHOOK_RETRY_HOURS"],
                   backoff=config["WEBHOOK_BACKOFF_SECONDS"], max_backoff=config["WEBHOOK_MAX_BACKOFF_SECONDS"],
                   poll=config["WEBHOOK_POLL_SECONDS"], **kwargs)

    # ------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> threading.Thread:
        """Run in a daemon thread until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name=self.name, daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.timeout + 5)

    def run_forever(self) -> None:
        with _running_lock:
            _running.add(self)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"{self.name}-send")
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    sent = self.run_once()
                except Exception:  # the database may be briefly unreachable: keep going, nothing is lost
                    log.exception("webhook dispatcher: a round failed; retrying after %.1f s", self.poll)
                    sent = 0
                if not sent:
                    self._wake.wait(self.poll)
        finally:
            with _running_lock:
                _running.discard(self)
            self._pool.shutdown(wait=True)
            self._pool = None
            self.close()

    # ------------------------------------------------------------ one round

    def run_once(self) -> int:
        """Claim what is due, send it, record the outcomes; the number of attempts made."""
        jobs = self.claim()
        if not jobs:
            return 0
        if self._pool is not None:
            outcomes = list(self._pool.map(self.send, jobs))
        else:
            outcomes = [self.send(job) for job in jobs]
        for job, outcome in zip(jobs, outcomes):
            self.record(job, outcome)
        return len(jobs)

    def claim(self) -> list[Job]:
        now = utcnow()
        delivery = WebhookDelivery
        earlier = aliased(WebhookDelivery)
        blocked = (exists().where(earlier.subscription_id == delivery.subscription_id,
                                  earlier.ordering_key == delivery.ordering_key,
                                  earlier.status == PENDING, earlier.id < delivery.id))
        statement = (select(delivery, WebhookSubscription)
                     .join(WebhookSubscription, WebhookSubscription.id == delivery.subscription_id)
                     .where(delivery.status == PENDING, delivery.next_attempt_at <= now,
                            or_(delivery.claimed_until.is_(None), delivery.claimed_until < now),
                            WebhookSubscription.active.is_(True), ~blocked)
                     .order_by(delivery.id).limit(self.batch))
        if not self.db.is_sqlite:
            statement = statement.with_for_update(of=delivery, skip_locked=True)
        from warehouse.webhooks.services import signing_secrets

        token = uuid.uuid4().hex
        jobs = []
        with self.db.transaction() as session:
            for row, subscription in session.execute(statement).all():
                row.claimed_until, row.claim_token = now + self.lease, token
                row.attempts += 1
                jobs.append(Job(row.id, token, row.msg_id, subscription.url, row.body,
                                tuple(signing_secrets(subscription, now)), row.attempts, row.window_started_at,
                                row.window_started_at > row.created_at))
        return jobs

    def _http(self) -> requests.Session:
        # One connection pool per sending thread: requests.Session is not documented as thread-safe.
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
            http.trust_env = False  # a proxy from the environment must not see or reroute signed events
            with self._sessions_lock:
                self._sessions.append(http)
        return http

    def close(self) -> None:
        """Close the HTTP connection pools (``run_forever`` does this when it ends)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for http in sessions:
            http.close()

    def send(self, job: Job) -> Outcome:
        timestamp = int(time.time())
        headers = {**signing.headers(job.secrets, job.msg_id, timestamp, job.body),
                   "Content-Type": "application/json", "User-Agent": USER_AGENT}
        started_at, start = utcnow(), time.monotonic()
        status_code: int | None = None
        try:
            with self._http().post(job.url, data=job.body.encode(), headers=headers, allow_redirects=False,
                                   timeout=(self.timeout, self.timeout), stream=True) as response:
                status_code = response.status_code
                answer = response.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
            if 200 <= status_code < 300:
                outcome, error = "delivered", None
            else:
                outcome = "http_error"
                error = f"HTTP {status_code}: {answer.decode('utf-8', 'replace')[:200]}".strip()
        except requests.Timeout:
            outcome, error = "timeout", f"no answer within {self.timeout:g} s"
        except requests.RequestException as exc:
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # a broken URL or a response urllib3 cannot parse: still an attempt
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.monotonic() - start) * 1000)
        return Outcome(started_at, duration_ms, status_code, outcome, error)

    def next_delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many
        deliveries that failed together (a receiver that went down) spread out instead of stampeding."""
        delay = min(self.max_backoff, self.backoff * 2 ** max(0, attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def record(self, job: Job, outcome: Outcome) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            row = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == job.delivery_id)
                                 .with_for_update())
            if row is None:
                return
            session.add(WebhookAttempt(delivery_id=job.delivery_id, started_at=outcome.started_at,
                                       duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                                       outcome=outcome.outcome, error=outcome.error, redelivery=job.redelivery))
            if row.claim_token != job.claim_token:
                # Our lease ran out and another dispatcher took the row over; it decides its fate.
                log.warning("webhook delivery %s: lease lost, outcome %s only logged", job.delivery_id,
                            outcome.outcome)
                return
            row.claimed_until = row.claim_token = None
            row.last_status_code, row.last_error = outcome.status_code, outcome.error
            if outcome.outcome == "delivered":
                row.status, row.delivered_at = DELIVERED, now
                return
            deadline = row.window_started_at + self.retry_period
            if now >= deadline:
                row.status, row.failed_at = FAILED, now
                log.warning("webhook delivery %s (%s) failed after %d attempts: %s", row.id, row.msg_id,
                            row.attempts, outcome.error)
                return
            # The last retry happens at the deadline, so the whole period is used.
            row.next_attempt_at = min(now + timedelta(seconds=self.next_delay(row.attempts)), deadline)
