"""Use cases on the item catalog. Each takes a Session and flushes; the edge commits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from biip import ParseError
from biip.gtin import Gtin
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warehouse.audit.services import record as audit
from warehouse.catalog.models import PACK_LEVELS, BarcodeKind, Item, ItemBarcode, Lot, PackSize, Tracking
from warehouse.errors import Conflict, InvalidInput
from warehouse.queries import one_by_code
from warehouse.stock.models import StockLevel


def normalize_gtin(value: str, *, field: str = "gtins") -> str:
    """A GTIN-8/12/13/14 with a valid check digit, as its 14-digit form."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 12, 13, 14):
        raise InvalidInput.field(field, f"{value!r} is not a GTIN (8, 12, 13 or 14 digits)")
    try:
        return Gtin.parse(text).as_gtin_14()
    except ParseError as exc:
        raise InvalidInput.field(field, f"{value!r}: {exc}") from None


def item_by_sku(session: Session, sku: str, *, field: str | None = None) -> Item:
    """The item with ``sku``: a missing one is a 404 for a URL, or a 422 naming ``field`` for a body."""
    return one_by_code(session, Item.sku, sku, noun="SKU", field=field)


def item_for_floor_line(session: Session, sku: str, *, field: str, work: str) -> Item:
    """The item of a line that floor confirmations will settle. Confirmations carry no serial numbers
    and the ledger moves serial-tracked units only by serial, so such items are refused up front rather
    than accepted on a line that could never be posted."""
    item = item_by_sku(session, sku, field=field)
    if item.tracking == Tracking.SERIAL.value:
        raise InvalidInput.field(field, f"{item.sku} is serial-tracked; {work} serial-tracked items is not "
                                        "supported yet")
    return item


def _barcodes(item: Item, gtins: Iterable[str], aliases: Iterable[str],
              pack_sizes: Iterable[dict[str, Any]]) -> list[ItemBarcode]:
    wanted: list[ItemBarcode] = []
    for gtin in gtins:
        wanted.append(ItemBarcode(code=normalize_gtin(gtin), kind=BarcodeKind.GTIN.value, pack_level="each"))
    for pack in pack_sizes:
        if pack.get("gtin"):
            wanted.append(ItemBarcode(code=normalize_gtin(pack["gtin"], field="pack_sizes"),
                                      kind=BarcodeKind.GTIN.value, pack_level=pack["level"]))
    for alias in aliases:
        wanted.append(ItemBarcode(code=alias, kind=BarcodeKind.ALIAS.value, pack_level="each"))
    codes = [b.code for b in wanted]
    if len(set(codes)) != len(codes):
        raise InvalidInput.field("gtins", "a barcode is listed twice")
    return wanted


def _check_barcodes_free(session: Session, barcodes: list[ItemBarcode], item: Item | None) -> None:
    if not barcodes:
        return
    taken = session.execute(
        select(ItemBarcode.code, Item.sku).join(Item)
        .where(ItemBarcode.code.in_([b.code for b in barcodes]))).all()
    clashes = [f"{code} (on {sku})" for code, sku in taken if item is None or sku != item.sku]
    if clashes:
        raise Conflict(f"Barcode already used by another item: {', '.join(clashes)}.")


def _pack_sizes(pack_sizes: Iterable[dict[str, Any]]) -> list[PackSize]:
    result = [PackSize(level="each", quantity=1)]
    for pack in pack_sizes:
        if pack["level"] == "each":
            if pack["quantity"] != 1:
                raise InvalidInput.field("pack_sizes", "the 'each' level is always 1 unit")
            continue
        result.append(PackSize(level=pack["level"], quantity=pack["quantity"]))
    levels = [p.level for p in result]
    if len(set(levels)) != len(levels):
        raise InvalidInput.field("pack_sizes", "each pack level may appear once")
    ordered = sorted(result, key=lambda p: PACK_LEVELS.index(p.level))
    if [p.quantity for p in ordered] != sorted(p.quantity for p in ordered):
        raise InvalidInput.field("pack_sizes", "larger pack levels must hold at least as many units")
    return result


def _minor_units(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def create_item(session: Session, *, actor_id: int | None, sku: str, name: str, gtins: list[str] = (),  # type: ignore[assignment]
                aliases: list[str] = (), pack_sizes: list[dict[str, Any]] = (),  # type: ignore[assignment]
                tracking: str = Tracking.NONE.value, expiry_tracked: bool = False,
                unit_value: Decimal = Decimal(0), uom: str = "each", description: str | None = None) -> Item:
    if session.scalar(select(Item.id).where(Item.sku == sku)) is not None:
        raise Conflict(f"An item with SKU {sku!r} already exists.")
    item = Item(sku=sku, name=name, tracking=tracking, expiry_tracked=expiry_tracked,
                unit_value_minor=_minor_units(unit_value), uom=uom, description=description)
    item.pack_sizes = _pack_sizes(pack_sizes)
    barcodes = _barcodes(item, gtins, aliases, pack_sizes)
    _check_barcodes_free(session, barcodes, None)
    item.barcodes = barcodes
    session.add(item)
    session.flush()
    audit(session, actor_id=actor_id, action="item.created", target=sku)
    return item


def update_item(session: Session, *, actor_id: int | None, sku: str, **changes: Any) -> Item:
    item = item_by_sku(session, sku)
    if "tracking" in changes and changes["tracking"] != item.tracking:
        holds_stock = session.scalar(select(StockLevel.id).where(
            StockLevel.item_id == item.id, StockLevel.on_hand != 0, StockLevel.is_virtual.is_(False)).limit(1))
        if holds_stock is not None:
            raise Conflict(f"{sku} is in stock; its tracking mode can only change when it holds no stock.")
        item.tracking = changes["tracking"]
    for name in ("name", "description", "uom", "expiry_tracked", "active"):
        if name in changes:
            setattr(item, name, changes[name])
    if "unit_value" in changes:
        item.unit_value_minor = _minor_units(changes["unit_value"])
    if "pack_sizes" in changes:
        item.pack_sizes = _pack_sizes(changes["pack_sizes"])
    if {"gtins", "aliases", "pack_sizes"} & set(changes):
        gtins = changes.get("gtins", item.gtins)
        aliases = changes.get("aliases", item.aliases)
        packs = changes.get("pack_sizes", [
            {"level": b.pack_level, "gtin": b.code} for b in item.barcodes
            if b.kind == BarcodeKind.GTIN.value and b.pack_level != "each"])
        barcodes = _barcodes(item, gtins, aliases, packs)
        _check_barcodes_free(session, barcodes, item)
        item.barcodes = []
        session.flush()
        item.barcodes = barcodes
    session.flush()
    audit(session, actor_id=actor_id, action="item.updated", target=sku, changed=sorted(changes))
    return item


def lot_for(session: Session, item: Item, code: str | None, *, expiry: date | None = None,
            create: bool = False) -> Lot | None:
    """The item's lot ``code``; with ``create`` a new lot is made (receipts and found stock)."""
    if code is None:
        if expiry is not None:
            raise InvalidInput.field("expiry", "an expiry date belongs to a lot: give the lot too")
        return None
    if item.tracking == Tracking.NONE.value:
        raise InvalidInput.field("lot", f"{item.sku} is not lot-tracked")
    lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == code))
    if lot is None:
        if not create:
            raise InvalidInput.field("lot", f"{item.sku} has no lot {code!r}")
        if item.expiry_tracked and expiry is None:
            raise InvalidInput.field("expiry", f"{item.sku} tracks expiry: give the new lot's expiry date")
        lot = Lot(item_id=item.id, code=code, expiry=expiry)
        try:
            with session.begin_nested():
                session.add(lot)
        except IntegrityError:  # created by a concurrent receipt of the same lot: use theirs
            lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == code))
            assert lot is not None
            if expiry is not None and lot.expiry != expiry:
                raise InvalidInput.field("expiry", f"lot {code} expires on {lot.expiry}, not {expiry}") from None
    elif expiry is not None and lot.expiry != expiry:
        raise InvalidInput.field("expiry", f"lot {code} expires on {lot.expiry}, not {expiry}")
    return lot
