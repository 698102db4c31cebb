"""The stock ledger at service level: what post_move accepts and refuses, the append-only moves,
the contiguous sequence, serial and lot rules, and the invariant check (also through the CLI).

Every test runs on SQLite and PostgreSQL inside the rolled-back outer transaction of ``db``;
the CLI tests use a real database of their own (``fresh_database``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from tests.conftest import FreshDatabase, table_counts, user_id
from warehouse.catalog.models import Item, Lot, SerialNumber
from warehouse.catalog.services import create_item, item_by_sku, lot_for
from warehouse.db import Database
from warehouse.errors import InsufficientStock, InvalidInput
from warehouse.locations.models import Location, LocationType
from warehouse.locations.services import create_location, create_warehouse, location_by_code, virtual_location
from warehouse.stock.checks import check_ledger
from warehouse.stock.ledger import MAX_QUANTITY, post_move
from warehouse.stock.models import LedgerHead, Move, MoveSerial, StockLevel
from warehouse.stock.services import adjust

# The console script installed next to this interpreter (.venv/bin/warehouse).
WAREHOUSE_BIN = Path(sys.executable).with_name("warehouse")


# ------------------------------------------------------------------ helpers

@dataclass(frozen=True)
class Floor:
    actor: int


def build_floor(session: Session, actor: int) -> None:
    """One warehouse, three bins, and a plain, a lot+expiry, a second lot and a serial item."""
    create_warehouse(session, actor_id=actor, code="W1", name="North", latitude=52.37, longitude=4.89)
    for code in ("W1-A1", "W1-A2", "W1-A3"):
        create_location(session, actor_id=actor, code=code, warehouse="W1", type="storage")
    create_item(session, actor_id=actor, sku="PLAIN", name="Plain widget")
    create_item(session, actor_id=actor, sku="LOTTED", name="Lotted syrup", tracking="lot", expiry_tracked=True)
    create_item(session, actor_id=actor, sku="LOTTED2", name="Lotted glue", tracking="lot")
    create_item(session, actor_id=actor, sku="SERIAL", name="Serial scanner", tracking="serial")


@pytest.fixture
def floor(db: Database) -> Floor:
    actor = user_id(db, "super1")
    with db.transaction() as session:
        build_floor(session, actor)
    return Floor(actor)


def loc(session: Session, code: str) -> Location:
    return location_by_code(session, code)


def item(session: Session, sku: str) -> Item:
    return item_by_sku(session, sku)


def on_hand(db: Database, location: str, sku: str, lot: str | None = None) -> int:
    """on_hand of one bucket as the projection holds it (0 when there is no row)."""
    with db.reading() as session:
        statement = (select(StockLevel.on_hand).join(Location, StockLevel.location_id == Location.id)
                     .join(Item, StockLevel.item_id == Item.id)
                     .where(Location.code == location, Item.sku == sku))
        if lot is None:
            statement = statement.where(StockLevel.lot_key == 0)
        else:
            statement = statement.join(Lot, StockLevel.lot_id == Lot.id).where(Lot.code == lot)
        return int(session.scalar(statement) or 0)


def moves(db: Database) -> list[tuple[int, int]]:
    """(seq, quantity) of every move in the ledger, in seq order."""
    with db.reading() as session:
        return [(int(seq), int(quantity)) for seq, quantity in
                session.execute(select(Move.seq, Move.quantity).order_by(Move.seq))]


def head(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(select(LedgerHead.last_seq)) or 0)


def serial_places(db: Database, sku: str) -> dict[str, str]:
    with db.reading() as session:
        rows = session.execute(
            select(SerialNumber.serial, Location.code).join(Location, SerialNumber.location_id == Location.id)
            .join(Item, SerialNumber.item_id == Item.id).where(Item.sku == sku))
        return {serial: code for serial, code in rows}


def ledger_breaches(db: Database) -> list[str]:
    with db.reading() as session:
        return check_ledger(session).breaches


def found(db: Database, floor: Floor, sku: str, location: str, quantity: int, **kwargs: Any) -> Move:
    with db.transaction() as session:
        return adjust(session, actor_id=floor.actor, sku=sku, location=location, quantity=quantity,
                      reason="test stock", **kwargs)


def transfer(db: Database, floor: Floor, sku: str, source: str, destination: str, quantity: Any,
             lot: str | None = None, serials: tuple[str, ...] = ()) -> Move:
    with db.transaction() as session:
        the_item = item(session, sku)
        the_lot = session.scalar(select(Lot).where(Lot.item_id == the_item.id, Lot.code == lot)) if lot else None
        return post_move(session, item=the_item, lot=the_lot, source=loc(session, source),
                         destination=loc(session, destination), quantity=quantity, reason="transfer",
                         reason_code="transfer", actor_id=floor.actor, serials=serials)


def raw(db: Database, sql: str, **params: Any) -> None:
    """Run raw SQL on the test connection (inside the rolled-back outer transaction)."""
    db.bind.execute(text(sql), params)  # type: ignore[union-attr]


# ------------------------------------------------------------------ what post_move refuses

@pytest.mark.parametrize("quantity", [0, -1, -7, True, False, 2.0, MAX_QUANTITY + 1])
def test_post_move_refuses_a_quantity_that_is_not_a_positive_whole_number(db: Database, floor: Floor,
                                                                         quantity: Any) -> None:
    found(db, floor, "PLAIN", "W1-A1", 10)
    before = table_counts(db)
    with pytest.raises(InvalidInput) as refused:
        transfer(db, floor, "PLAIN", "W1-A1", "W1-A2", quantity)
    assert "quantity" in (refused.value.errors or {})
    assert table_counts(db) == before
    assert (on_hand(db, "W1-A1", "PLAIN"), on_hand(db, "W1-A2", "PLAIN")) == (10, 0)


def test_post_move_refuses_a_move_to_the_same_location(db: Database, floor: Floor) -> None:
    found(db, floor, "PLAIN", "W1-A1", 10)
    before = table_counts(db)
    with pytest.raises(InvalidInput, match="two different locations"):
        transfer(db, floor, "PLAIN", "W1-A1", "W1-A1", 3)
    assert table_counts(db) == before
    assert on_hand(db, "W1-A1", "PLAIN") == 10


def test_post_move_refuses_a_move_between_two_virtual_locations(db: Database, floor: Floor) -> None:
    before = table_counts(db)
    with pytest.raises(InvalidInput, match="two virtual locations"):
        with db.transaction() as session:
            post_move(session, item=item(session, "PLAIN"),
                      source=virtual_location(session, LocationType.SUPPLIER),
                      destination=virtual_location(session, LocationType.CUSTOMER),
                      quantity=5, reason="nothing", reason_code="other", actor_id=floor.actor)
    assert table_counts(db) == before


def test_adjustment_of_zero_is_refused(db: Database, floor: Floor) -> None:
    before = table_counts(db)
    with pytest.raises(InvalidInput, match="zero"):
        found(db, floor, "PLAIN", "W1-A1", 0)
    assert table_counts(db) == before


# ------------------------------------------------------------------ never below zero

def test_a_physical_bucket_never_goes_negative(db: Database, floor: Floor) -> None:
    found(db, floor, "PLAIN", "W1-A2", 5)
    before = table_counts(db)

    with pytest.raises(InsufficientStock) as refused:
        found(db, floor, "PLAIN", "W1-A2", -6)
    assert refused.value.extra == {"location": "W1-A2", "sku": "PLAIN", "lot": None, "available": 5,
                                   "requested": 6}
    # Both orders of the two sides (the destination's row may be written before the source's).
    with pytest.raises(InsufficientStock):
        transfer(db, floor, "PLAIN", "W1-A2", "W1-A1", 6)
    with pytest.raises(InsufficientStock):
        transfer(db, floor, "PLAIN", "W1-A2", "W1-A3", 6)
    with pytest.raises(InsufficientStock):  # a bin that never held the item
        transfer(db, floor, "PLAIN", "W1-A3", "W1-A1", 1)
    assert table_counts(db) == before, "a refused move wrote something"
    assert ledger_breaches(db) == []

    found(db, floor, "PLAIN", "W1-A2", -5)
    assert on_hand(db, "W1-A2", "PLAIN") == 0
    with pytest.raises(InsufficientStock):
        found(db, floor, "PLAIN", "W1-A2", -1)
    assert on_hand(db, "W1-A2", "PLAIN") == 0
    assert ledger_breaches(db) == []


def test_the_database_itself_refuses_a_negative_physical_level(db: Database, floor: Floor) -> None:
    found(db, floor, "PLAIN", "W1-A1", 3)
    with pytest.raises(IntegrityError):
        with db.bind.begin_nested():  # type: ignore[union-attr]
            raw(db, "UPDATE stock_levels SET on_hand = -1 WHERE on_hand = 3")
    with pytest.raises(IntegrityError):
        with db.bind.begin_nested():  # type: ignore[union-attr]
            raw(db, "UPDATE stock_levels SET reserved = 4 WHERE on_hand = 3")
    assert on_hand(db, "W1-A1", "PLAIN") == 3
    assert ledger_breaches(db) == []


# ------------------------------------------------------------------ the sequence

def test_seq_runs_one_to_n_in_commit_order_and_refusals_burn_no_number(db: Database, floor: Floor) -> None:
    start = head(db)
    committed: list[int] = []
    committed.append(found(db, floor, "PLAIN", "W1-A1", 10).seq)
    committed.append(transfer(db, floor, "PLAIN", "W1-A1", "W1-A2", 4).seq)
    with pytest.raises(InsufficientStock):
        transfer(db, floor, "PLAIN", "W1-A2", "W1-A3", 5)
    committed.append(found(db, floor, "LOTTED", "W1-A3", 6, lot="L-1", expiry=date(2031, 1, 31)).seq)
    with pytest.raises(InvalidInput):
        transfer(db, floor, "PLAIN", "W1-A3", "W1-A3", 1)
    committed.append(found(db, floor, "PLAIN", "W1-A2", -4).seq)
    committed.append(transfer(db, floor, "PLAIN", "W1-A1", "W1-A3", 6).seq)

    assert committed == list(range(start + 1, start + 6)), "seq must follow the order of commits, no gaps"
    assert [seq for seq, _ in moves(db)] == list(range(1, start + 6))
    assert head(db) == start + 5
    assert ledger_breaches(db) == []


# ------------------------------------------------------------------ append-only

def test_moves_cannot_be_updated_or_deleted(db: Database, floor: Floor) -> None:
    first = found(db, floor, "PLAIN", "W1-A1", 10)
    carried = found(db, floor, "SERIAL", "W1-A1", 1, serials=["SN-1"])
    for statement in (f"UPDATE moves SET quantity = 999 WHERE seq = {first.seq}",
                      f"UPDATE moves SET to_location_id = from_location_id WHERE seq = {first.seq}",
                      f"DELETE FROM moves WHERE seq = {first.seq}",
                      f"UPDATE move_serials SET move_seq = {first.seq} WHERE move_seq = {carried.seq}",
                      f"DELETE FROM move_serials WHERE move_seq = {carried.seq}"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.bind.begin_nested():  # type: ignore[union-attr]
                raw(db, statement)
    # The outer transaction survived, and the ledger is as it was.
    assert moves(db) == [(first.seq, 10), (carried.seq, 1)]
    with db.reading() as session:
        assert session.scalar(select(MoveSerial.move_seq)) == carried.seq
    assert ledger_breaches(db) == []


# ------------------------------------------------------------------ check_ledger

def busy_ledger(db: Database, floor: Floor) -> None:
    found(db, floor, "PLAIN", "W1-A1", 10)
    transfer(db, floor, "PLAIN", "W1-A1", "W1-A2", 3)
    found(db, floor, "LOTTED", "W1-A1", 8, lot="L-1", expiry=date(2031, 1, 31))
    found(db, floor, "LOTTED", "W1-A1", -2, lot="L-1", counterpart="scrap")
    found(db, floor, "SERIAL", "W1-A3", 2, serials=["SN-1", "SN-2"], counterpart="supplier")
    transfer(db, floor, "SERIAL", "W1-A3", "W1-A2", 1, serials=("SN-2",))


def test_check_ledger_is_ok_on_a_clean_ledger(db: Database, floor: Floor) -> None:
    with db.reading() as session:
        empty = check_ledger(session)
    assert (empty.ok, empty.moves, empty.last_seq, empty.breaches) == (True, 0, 0, [])
    busy_ledger(db, floor)
    with db.reading() as session:
        report = check_ledger(session)
    assert (report.ok, report.moves, report.last_seq, report.breaches) == (True, 6, 6, [])


def test_check_ledger_reports_a_projection_that_disagrees_with_the_moves(db: Database, floor: Floor) -> None:
    busy_ledger(db, floor)
    with db.reading() as session:
        a1, plain = loc(session, "W1-A1").id, item(session, "PLAIN").id
    raw(db, "UPDATE stock_levels SET on_hand = on_hand + 1 WHERE location_id = :l AND item_id = :i",
        l=a1, i=plain)
    with db.reading() as session:
        report = check_ledger(session)
    assert not report.ok
    assert report.breaches == [f"projection 8 != moves 7 at location {a1} item {plain} lot 0",
                               f"item {plain} sums to 1 over all locations, not 0"]


def test_check_ledger_reports_a_reservation_on_a_virtual_location(db: Database, floor: Floor) -> None:
    busy_ledger(db, floor)
    with db.reading() as session:
        loss = virtual_location(session, LocationType.INVENTORY_LOSS).id
    raw(db, "UPDATE stock_levels SET reserved = 2 WHERE location_id = :l", l=loss)
    breaches = ledger_breaches(db)
    assert breaches and all(b == f"reservation 2 on virtual location {loss}" for b in breaches)


def test_check_ledger_reports_a_ledger_head_that_issued_a_number_never_used(db: Database, floor: Floor) -> None:
    busy_ledger(db, floor)
    raw(db, "UPDATE ledger_head SET last_seq = last_seq + 1")
    assert ledger_breaches(db) == ["ledger head says 7 moves were issued but the ledger holds 6"]


def test_check_ledger_reports_a_move_written_around_post_move(db: Database, floor: Floor) -> None:
    busy_ledger(db, floor)
    with db.transaction() as session:  # a move with a gap in seq and no projection update
        session.add(Move(seq=8, item=item(session, "PLAIN"), from_location=loc(session, "W1-A2"),
                         to_location=loc(session, "W1-A3"), quantity=1, reason="bypass", reason_code="other"))
    with db.reading() as session:
        a2, a3, plain = loc(session, "W1-A2").id, loc(session, "W1-A3").id, item(session, "PLAIN").id
    breaches = ledger_breaches(db)
    assert f"projection 3 != moves 2 at location {a2} item {plain} lot 0" in breaches
    assert f"projection 0 != moves 1 at location {a3} item {plain} lot 0" in breaches
    assert "seq runs 1..8 over 7 moves: a move is missing" in breaches


def test_check_ledger_reports_a_serial_unit_out_of_place(db: Database, floor: Floor) -> None:
    busy_ledger(db, floor)
    with db.reading() as session:
        a1, a2 = loc(session, "W1-A1").id, loc(session, "W1-A2").id
        serial = item(session, "SERIAL").id
    raw(db, "UPDATE serial_numbers SET location_id = :a1 WHERE serial = 'SN-2'", a1=a1)
    assert ledger_breaches(db) == [
        f"serial SN-2 is recorded at location {a1} but its last move took it to {a2}",
        f"0 serials at location {a2} item {serial} but on_hand is 1",
    ]


# ------------------------------------------------------------------ serial-tracked items

def test_serial_units_follow_their_moves(db: Database, floor: Floor) -> None:
    received = found(db, floor, "SERIAL", "W1-A1", 3, serials=["SN-1", "SN-2", "SN-3"], counterpart="supplier")
    with db.reading() as session:
        carried = session.scalars(select(SerialNumber.serial).join(MoveSerial, MoveSerial.serial_id == SerialNumber.id)
                                  .where(MoveSerial.move_seq == received.seq).order_by(SerialNumber.serial))
        assert list(carried) == ["SN-1", "SN-2", "SN-3"]
    assert serial_places(db, "SERIAL") == {"SN-1": "W1-A1", "SN-2": "W1-A1", "SN-3": "W1-A1"}

    transfer(db, floor, "SERIAL", "W1-A1", "W1-A2", 2, serials=("SN-3", "SN-1"))
    assert serial_places(db, "SERIAL") == {"SN-1": "W1-A2", "SN-2": "W1-A1", "SN-3": "W1-A2"}
    assert (on_hand(db, "W1-A1", "SERIAL"), on_hand(db, "W1-A2", "SERIAL")) == (1, 2)

    found(db, floor, "SERIAL", "W1-A1", -1, serials=["SN-2"], counterpart="scrap")
    assert serial_places(db, "SERIAL")["SN-2"] == "V-SCRAP"
    assert on_hand(db, "W1-A1", "SERIAL") == 0
    assert ledger_breaches(db) == []


@pytest.mark.parametrize("case", ["not-there", "count-mismatch", "listed-twice", "already-exists",
                                  "serials-on-plain-item"])
def test_serial_rules_are_enforced_and_a_refusal_writes_nothing(db: Database, floor: Floor, case: str) -> None:
    found(db, floor, "SERIAL", "W1-A1", 2, serials=["SN-1", "SN-2"])
    transfer(db, floor, "SERIAL", "W1-A1", "W1-A2", 1, serials=("SN-2",))
    found(db, floor, "PLAIN", "W1-A1", 5)
    before, places = table_counts(db), serial_places(db, "SERIAL")
    with pytest.raises(InvalidInput) as refused:
        if case == "not-there":  # SN-2 sits in W1-A2, not W1-A1 (which does hold one unit)
            transfer(db, floor, "SERIAL", "W1-A1", "W1-A3", 1, serials=("SN-2",))
        elif case == "count-mismatch":
            transfer(db, floor, "SERIAL", "W1-A1", "W1-A3", 1, serials=())
        elif case == "listed-twice":
            found(db, floor, "SERIAL", "W1-A3", 2, serials=["SN-9", "SN-9"])
        elif case == "already-exists":  # a second unit with the serial of one that is on the shelf
            found(db, floor, "SERIAL", "W1-A3", 1, serials=["SN-1"])
        else:
            transfer(db, floor, "PLAIN", "W1-A1", "W1-A3", 1, serials=("SN-1",))
    assert "serials" in (refused.value.errors or {})
    assert table_counts(db) == before
    assert serial_places(db, "SERIAL") == places
    assert ledger_breaches(db) == []


def test_a_written_off_serial_can_be_found_again(db: Database, floor: Floor) -> None:
    found(db, floor, "SERIAL", "W1-A1", 1, serials=["SN-7"])
    found(db, floor, "SERIAL", "W1-A1", -1, serials=["SN-7"])
    assert serial_places(db, "SERIAL") == {"SN-7": "V-INVENTORY-LOSS"}
    found(db, floor, "SERIAL", "W1-A3", 1, serials=["SN-7"])
    assert serial_places(db, "SERIAL") == {"SN-7": "W1-A3"}
    assert on_hand(db, "W1-A3", "SERIAL") == 1
    assert ledger_breaches(db) == []


# ------------------------------------------------------------------ lots

def test_lots_are_separate_buckets(db: Database, floor: Floor) -> None:
    found(db, floor, "LOTTED", "W1-A1", 10, lot="L-1", expiry=date(2031, 1, 31))
    found(db, floor, "LOTTED", "W1-A1", 5, lot="L-2", expiry=date(2031, 6, 30))
    with pytest.raises(InsufficientStock) as refused:  # 15 in the bin, but only 5 of lot L-2
        found(db, floor, "LOTTED", "W1-A1", -12, lot="L-2")
    assert (refused.value.extra["lot"], refused.value.extra["available"]) == ("L-2", 5)
    transfer(db, floor, "LOTTED", "W1-A1", "W1-A2", 7, lot="L-1")
    found(db, floor, "LOTTED", "W1-A1", -5, lot="L-2")
    assert [on_hand(db, b, "LOTTED", lot) for b, lot in
            [("W1-A1", "L-1"), ("W1-A1", "L-2"), ("W1-A2", "L-1"), ("W1-A2", "L-2")]] == [3, 0, 7, 0]
    assert ledger_breaches(db) == []


@pytest.mark.parametrize("case", ["no-lot", "lot-on-plain-item", "new-lot-without-expiry", "unknown-lot-write-off",
                                  "wrong-expiry", "lot-of-another-item"])
def test_lot_rules_are_enforced_and_a_refusal_writes_nothing(db: Database, floor: Floor, case: str) -> None:
    found(db, floor, "LOTTED", "W1-A1", 10, lot="L-1", expiry=date(2031, 1, 31))
    found(db, floor, "LOTTED2", "W1-A1", 10, lot="G-1")
    found(db, floor, "PLAIN", "W1-A1", 10)
    before = table_counts(db)
    expected_field = {"no-lot": "lot", "lot-on-plain-item": "lot", "new-lot-without-expiry": "expiry",
                      "unknown-lot-write-off": "lot", "wrong-expiry": "expiry", "lot-of-another-item": "lot"}[case]
    with pytest.raises(InvalidInput) as refused:
        if case == "no-lot":
            transfer(db, floor, "LOTTED", "W1-A1", "W1-A2", 1)
        elif case == "lot-on-plain-item":
            found(db, floor, "PLAIN", "W1-A1", 1, lot="L-1")
        elif case == "new-lot-without-expiry":
            found(db, floor, "LOTTED", "W1-A1", 1, lot="L-NEW")
        elif case == "unknown-lot-write-off":
            found(db, floor, "LOTTED", "W1-A1", -1, lot="L-NOPE")
        elif case == "wrong-expiry":
            found(db, floor, "LOTTED", "W1-A1", 1, lot="L-1", expiry=date(2032, 1, 1))
        else:
            with db.transaction() as session:
                lotted, lotted2 = item(session, "LOTTED"), item(session, "LOTTED2")
                post_move(session, item=lotted, lot=lot_for(session, lotted2, "G-1"),
                          source=loc(session, "W1-A1"), destination=loc(session, "W1-A2"), quantity=1,
                          reason="mixup", reason_code="transfer", actor_id=floor.actor)
    assert expected_field in (refused.value.errors or {})
    assert table_counts(db) == before
    assert ledger_breaches(db) == []


# ------------------------------------------------------------------ the CLI

def run_check_ledger(fresh: FreshDatabase, instance: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WAREHOUSE_DATABASE_URL": fresh.url, "WAREHOUSE_INSTANCE_DIR": str(instance)}
    env.pop("WAREHOUSE_REDIS_URL", None)
    return subprocess.run([str(WAREHOUSE_BIN), "check-ledger"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_cli_check_ledger_passes_then_reports_a_tampered_projection(fresh_database: FreshDatabase,
                                                                   tmp_path: Path) -> None:
    database = fresh_database.database()
    try:
        actor = user_id(database, "super1")
        with database.transaction() as session:
            build_floor(session, actor)
        floor = Floor(actor)
        found(database, floor, "PLAIN", "W1-A1", 10)
        transfer(database, floor, "PLAIN", "W1-A1", "W1-A2", 4)
        with database.reading() as session:
            a2, plain = loc(session, "W1-A2").id, item(session, "PLAIN").id
    finally:
        database.dispose()

    clean = run_check_ledger(fresh_database, tmp_path / "instance")
    assert clean.returncode == 0, clean.stderr
    assert "ledger OK: 2 moves, last seq 2, every invariant holds" in clean.stdout.splitlines()

    database = fresh_database.database()
    try:
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE stock_levels SET on_hand = on_hand + 1 "
                                    "WHERE location_id = :l AND item_id = :i"), {"l": a2, "i": plain})
    finally:
        database.dispose()

    broken = run_check_ledger(fresh_database, tmp_path / "instance")
    assert broken.returncode == 1, (broken.stdout, broken.stderr)
    assert "ledger OK" not in broken.stdout
    lines = broken.stderr.splitlines()
    assert "ledger BROKEN: 2 breach(es) over 2 moves" in lines
    assert f"  - projection 5 != moves 4 at location {a2} item {plain} lot 0" in lines
    assert f"  - item {plain} sums to 1 over all locations, not 0" in lines


@pytest.mark.parametrize("source, destination", [("W1-A1", "W1-A2"), ("W1-A2", "W1-A1")],
                         ids=["destination-after-source", "destination-before-source"])
def test_a_refused_move_leaves_nothing_even_if_the_caller_carries_on(db: Database, floor: Floor, source: str,
                                                                     destination: str) -> None:
    # Buckets are locked in location order, so the two directions write in a different order.
    found(db, floor, "PLAIN", source, 3)
    with db.transaction() as session:
        with pytest.raises(InsufficientStock):
            post_move(session, item=item(session, "PLAIN"), source=loc(session, source),
                      destination=loc(session, destination), quantity=5, reason="too many", reason_code="transfer",
                      actor_id=floor.actor)
        # The caller swallows the refusal and commits other work: the ledger must still add up.
        post_move(session, item=item(session, "PLAIN"), source=loc(session, source),
                  destination=loc(session, destination), quantity=2, reason="fits", reason_code="transfer",
                  actor_id=floor.actor)
    assert ledger_breaches(db) == []
    assert (on_hand(db, source, "PLAIN"), on_hand(db, destination, "PLAIN")) == (1, 2)
    assert [seq for seq, _ in moves(db)] == [1, 2] and head(db) == 2
