"""Telling other areas, just before a transaction commits, which stock buckets it changed.

The ledger and the reservation code note every (item, location) whose on hand or reserved they change.
Just before the session commits, each registered watcher is handed the set once, still inside the
transaction: whatever it writes (a replenishment task, an outbox row) commits or rolls back with the
stock change that caused it. Watchers see the state the transaction is about to commit, not every
intermediate step, so a use case that moves stock several times is judged once, by its outcome.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

Touched = set[tuple[int, int]]  # (item id, location id)
Watcher = Callable[[Session, Touched], None]

Preparer = Callable[[Session, set[int]], None]

WATCHERS: list[Watcher] = []
PREPARERS: list[Preparer] = []
_KEY = "stock.touched"


def register(watcher: Watcher | None, *, prepare: Preparer | None = None) -> None:
    """``prepare``, if given, is told which items a use case is about to change (``prepare`` below); an
    area that only needs to read ahead registers no watcher."""
    if watcher is not None and watcher not in WATCHERS:
        WATCHERS.append(watcher)
    if prepare is not None and prepare not in PREPARERS:
        PREPARERS.append(prepare)


def prepare(session: Session, item_ids: set[int]) -> None:
    """A use case about to lock and change stock of these items says so first, so that watchers read
    what they need now rather than at commit, while the stock rows are locked and others queue on them."""
    for preparer in PREPARERS:
        preparer(session, item_ids)


def touched(session: Session, item_id: int, location_id: int) -> None:
    if WATCHERS:
        session.info.setdefault(_KEY, set()).add((item_id, location_id))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # SQLAlchemy also fires this when a savepoint is released (post_move uses one per move): only the
    # real commit counts.
    if session.in_nested_transaction():
        return
    # A watcher may itself change stock levels (it should not, but a reservation would): judge that too,
    # a bounded number of times.
    for _ in range(3):
        changed = session.info.pop(_KEY, None)
        if not changed:
            return
        for watcher in WATCHERS:
            watcher(session, changed)
