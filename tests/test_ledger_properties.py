"""Random sequences of adjustments and bin-to-bin transfers against an in-memory model.

After every step the database must agree with the model, and every ledger invariant must hold;
a refused step must change nothing at all. Each Hypothesis example runs inside a savepoint of
the test connection that is rolled back afterwards, so every example starts from the same
clean database (the migrated template with the cast, no stock).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import user_id
from warehouse.catalog.models import Item, Lot
from warehouse.catalog.services import create_item, item_by_sku, lot_for
from warehouse.db import Database
from warehouse.errors import InsufficientStock, InvalidInput
from warehouse.locations.models import Location
from warehouse.locations.services import create_location, create_warehouse, location_by_code
from warehouse.stock.checks import check_ledger
from warehouse.stock.ledger import post_move
from warehouse.stock.models import LedgerHead, Move, StockLevel
from warehouse.stock.services import adjust

BINS = ("P-A", "P-B", "P-C")
PLAIN, LOTTED = "H-PLAIN", "H-LOT"
LOTS = ("L1", "L2")

Bucket = tuple[str, str, str | None]  # (bin, sku, lot)

step = st.tuples(
    # Found stock is drawn more often than the rest, so that write-offs and transfers find some.
    st.sampled_from(["found", "found", "write-off", "write-off", "transfer", "transfer", "transfer"]),
    st.sampled_from([PLAIN, PLAIN, LOTTED]),
    st.sampled_from(BINS),          # the bin adjusted, or the source of a transfer
    st.sampled_from([1, 1, 2, 2, 0]),  # the destination of a transfer, as an offset from the source
                                       # (0: the source itself, which is refused)
    st.integers(min_value=1, max_value=30),  # units found
    st.integers(min_value=1, max_value=8),   # units written off or transferred
    st.sampled_from(LOTS),
)


class Model:
    """What the ledger should hold: on_hand per physical bucket, and which lots exist."""

    def __init__(self) -> None:
        self.on_hand: dict[Bucket, int] = defaultdict(int)
        self.lots: set[str] = set()

    def predict(self, kind: str, sku: str, source: str, destination: str, quantity: int,
                lot: str | None) -> type[Exception] | None:
        """The exception the step must raise, or None if it must succeed."""
        if kind == "found":
            return None
        if kind == "transfer" and source == destination:
            return InvalidInput
        if lot is not None and lot not in self.lots:
            return InvalidInput
        return InsufficientStock if self.on_hand[(source, sku, lot)] < quantity else None

    def apply(self, kind: str, sku: str, source: str, destination: str, quantity: int, lot: str | None) -> None:
        if lot is not None:
            self.lots.add(lot)
        if kind == "found":
            self.on_hand[(source, sku, lot)] += quantity
        elif kind == "write-off":
            self.on_hand[(source, sku, lot)] -= quantity
        else:
            self.on_hand[(source, sku, lot)] -= quantity
            self.on_hand[(destination, sku, lot)] += quantity

    def physical(self) -> dict[Bucket, int]:
        return {bucket: n for bucket, n in self.on_hand.items() if n != 0}


def build(db: Database, actor: int) -> None:
    with db.transaction() as session:
        create_warehouse(session, actor_id=actor, code="HW", name="Hypothesis", latitude=0, longitude=0)
        for code in BINS:
            create_location(session, actor_id=actor, code=code, warehouse="HW", type="storage")
        create_item(session, actor_id=actor, sku=PLAIN, name="Plain")
        create_item(session, actor_id=actor, sku=LOTTED, name="Lotted", tracking="lot")


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a step may change: every projection row, the moves, the head, the lots."""
    return {
        "levels": sorted(tuple(row) for row in session.execute(select(
            StockLevel.location_id, StockLevel.item_id, StockLevel.lot_key, StockLevel.is_virtual,
            StockLevel.on_hand, StockLevel.reserved, StockLevel.last_seq))),
        "moves": session.scalar(select(func.count()).select_from(Move)),
        "head": session.scalar(select(LedgerHead.last_seq)),
        "lots": sorted(tuple(row) for row in session.execute(select(Lot.item_id, Lot.code))),
    }


def check_against_model(session: Session, model: Model, where: str) -> None:
    report = check_ledger(session)
    assert report.ok, (where, report.breaches)

    rows = session.execute(
        select(Location.code, Location.is_virtual, Item.sku, Lot.code, StockLevel.on_hand, StockLevel.reserved)
        .select_from(StockLevel)
        .join(Location, StockLevel.location_id == Location.id)
        .join(Item, StockLevel.item_id == Item.id)
        .outerjoin(Lot, StockLevel.lot_id == Lot.id)).all()
    projection: dict[Bucket, int] = {}
    per_item: dict[str, int] = defaultdict(int)
    for code, is_virtual, sku, lot, on_hand, reserved in rows:
        per_item[sku] += on_hand
        if is_virtual:
            continue
        assert on_hand >= 0, (where, code, sku, lot, on_hand)
        assert 0 <= reserved <= on_hand, (where, code, sku, lot, on_hand, reserved)
        if on_hand:
            projection[(code, sku, lot)] = on_hand
    assert projection == model.physical(), where
    assert all(total == 0 for total in per_item.values()), (where, dict(per_item))


def run_step(db: Database, actor: int, kind: str, sku: str, source: str, destination: str, quantity: int,
             lot: str | None) -> Exception | None:
    try:
        with db.transaction() as session:
            if kind in ("found", "write-off"):
                adjust(session, actor_id=actor, sku=sku, location=source,
                       quantity=quantity if kind == "found" else -quantity, reason="property", lot=lot)
            else:
                item = item_by_sku(session, sku)
                post_move(session, item=item, lot=lot_for(session, item, lot),
                          source=location_by_code(session, source),
                          destination=location_by_code(session, destination),
                          quantity=quantity, reason="property", reason_code="transfer", actor_id=actor)
    except (InsufficientStock, InvalidInput) as refused:
        return refused
    return None


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_random_moves_keep_the_projection_equal_to_the_model_and_every_invariant(
        db: Database, steps: list[tuple[str, str, str, int, int, int, str]]) -> None:
    actor = user_id(db, "super1")
    example = db.bind.begin_nested()  # type: ignore[union-attr]
    try:
        build(db, actor)
        model = Model()
        with db.reading() as session:
            check_against_model(session, model, "before any step")
        for number, (kind, sku, source, offset, added, taken, lot_code) in enumerate(steps):
            quantity = added if kind == "found" else taken
            lot = lot_code if sku == LOTTED else None
            destination = BINS[(BINS.index(source) + offset) % len(BINS)]
            where = f"step {number}: {kind} {quantity} {sku} {lot} {source}->{destination}"
            with db.reading() as session:
                before = snapshot(session)
            expected = model.predict(kind, sku, source, destination, quantity, lot)
            event(f"{kind}: {'posted' if expected is None else expected.__name__}")
            refused = run_step(db, actor, kind, sku, source, destination, quantity, lot)
            with db.reading() as session:
                after = snapshot(session)
                if expected is None:
                    assert refused is None, (where, refused)
                    model.apply(kind, sku, source, destination, quantity, lot)
                    assert (after["moves"], after["head"]) == (before["moves"] + 1, before["head"] + 1), where
                else:
                    assert type(refused) is expected, (where, refused)
                    assert after == before, f"{where}: a refused step changed the database"
                check_against_model(session, model, where)
    finally:
        example.rollback()
