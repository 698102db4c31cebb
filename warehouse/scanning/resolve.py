"""What a scan is: a badge, a bin, an item, a GS1 message, a pallet (SSCC) or a GS1 Digital Link.

Order: an exact badge code, an exact location code, an exact alias or SKU, then GS1 (GTIN,
element string, SSCC, Digital Link). Parsing and check-digit arithmetic are biip's; on top of it
this module decides which reading applies from the symbology identifier and the shape of the data,
turns every failure into a ``ScanError`` with a stable reason, and adds the checks biip leaves to
its caller:

- biip records a wrong check digit inside (00), (01), (02) or (41x) as ``gtin_error`` and friends
  instead of raising, and a Digital Link keeps the last of two different values of one AI;
- biip lets a variable-length field run into the next one when its GS is missing;
- an 8-digit number may be an EAN-8 or a UPC-E: the symbology or the catalog decides, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.rcn import Rcn
from biip.upc import Upc
from sqlalchemy import Integer, String, and_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from warehouse.accounts.models import User
from warehouse.catalog.models import BarcodeKind, Item, ItemBarcode, Lot, PackSize
from warehouse.db import Prepared
from warehouse.locations.models import Location, Warehouse
from warehouse.scanning.normalize import GS, NormalizedScan, ScanError, normalize

__all__ = ["BadgeMatch", "ItemMatch", "LocationMatch", "LotMatch", "Resolution", "ScanError", "ScanKind",
           "resolve"]

# Dates are always checked, and GS (from the scanner or a normalised stand-in) is the only separator.
BIIP_CONFIG = ParseConfig(gs1_element_strings_verify_date=True, separator_chars=(GS,))

# AIs whose data is a date (YYMMDD, some followed by a time): the ones biip turns into dates.
DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007",
                      "7011", "8008"})
# The AIs that may open the path of a GS1 Digital Link URI (primary keys, GS1 Digital Link: URI
# Syntax 1.2+, section 4). A URL with none of them is some other web address, not a GS1 code.
DIGITAL_LINK_PRIMARY_KEYS = frozenset({"00", "01", "253", "255", "401", "402", "414", "415", "417", "8003",
                                       "8004", "8006", "8010", "8013", "8017", "8018"})
# An unmarked scan (no symbology identifier, no GS) is read as an element string only when it opens
# with one of these fixed-length identification keys, all its digits present: every GS1 trade-item
# or logistic label starts so in practice, while "10ABC" or "0123-X" could be somebody's own code.
ELEMENT_STRING_OPENERS = (("00", 18), ("01", 14), ("02", 14))
# The printed (human-readable) form, "(01)09506000134352(10)ABC", typed in or read by OCR.
HRI_OPENING = re.compile(r"\(\d{2,4}\)")
# The data lengths of symbologies that carry one GTIN: ]E0 EAN-13, UPC-A or UPC-E; ]E3 the same with
# an add-on, which we do not read; ]E4 EAN-8; ]I1 ITF-14.
GTIN_LENGTHS_BY_SYMBOLOGY = {"]E0": (8, 12, 13), "]E3": (8, 12, 13), "]E4": (8,), "]I1": (14,)}
# Every code column we compare scans with (badge, location, SKU, alias) holds at most 64 characters.
MAX_CODE_LENGTH = 64


class ScanKind:
    BADGE = "badge"
    LOCATION = "location"
    ITEM = "item"
    GTIN = "gtin"  # a well-formed GTIN that is not in the catalog
    GS1 = "gs1"  # a GS1 element string (GS1-128, GS1 DataMatrix, ...)
    SSCC = "sscc"  # a logistic unit: a bare SSCC or an element string of (00) alone
    DIGITAL_LINK = "digital_link"
    UNKNOWN = "unknown_code"  # well formed, but nothing we know


@dataclass(frozen=True)
class ItemMatch:
    item_id: int
    sku: str
    name: str
    pack_level: str
    pack_quantity: int | None  # base units in one scanned pack; None if the pack level has no size


@dataclass(frozen=True)
class LotMatch:
    lot_id: int
    code: str
    expiry: date | None


@dataclass(frozen=True)
class LocationMatch:
    location_id: int
    code: str
    warehouse: str | None
    type: str


@dataclass(frozen=True)
class BadgeMatch:
    user_id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class Resolution:
    raw: str
    normalized: str
    symbology: str | None
    kind: str
    matched: bool
    elements: dict[str, str] = field(default_factory=dict)  # AI -> value, as scanned
    dates: dict[str, date] = field(default_factory=dict)  # AI -> date, for every date AI
    item: ItemMatch | None = None
    lot: LotMatch | None = None
    expiry: date | None = None
    quantity: int | None = None  # base units: count (30)/(37) times the pack size, or the pack size
    net_weight_kg: Decimal | None = None  # (310n)
    serial: str | None = None
    sscc: str | None = None
    po: str | None = None
    location: LocationMatch | None = None
    badge: BadgeMatch | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the API answers it and the scan log keeps it (no database ids, no secrets)."""
        return {
            "raw": self.raw,
            "normalized": self.normalized,
            "symbology": self.symbology,
            "kind": self.kind,
            "matched": self.matched,
            "elements": dict(self.elements),
            "dates": {ai: value.isoformat() for ai, value in self.dates.items()},
            "item": None if self.item is None else {
                "sku": self.item.sku, "name": self.item.name, "pack_level": self.item.pack_level,
                "pack_quantity": self.item.pack_quantity},
            "lot": None if self.lot is None else {
                "code": self.lot.code, "expiry": self.lot.expiry.isoformat() if self.lot.expiry else None},
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "quantity": self.quantity,
            "net_weight_kg": None if self.net_weight_kg is None else str(self.net_weight_kg),
            "serial": self.serial,
            "sscc": self.sscc,
            "po": self.po,
            "location": None if self.location is None else {
                "code": self.location.code, "warehouse": self.location.warehouse, "type": self.location.type},
            "badge": None if self.badge is None else {
                "username": self.badge.username, "display_name": self.badge.display_name},
        }


def resolve(session: Session, raw: str) -> Resolution:
    """What ``raw`` (as the reader sent it) identifies. Raises ``ScanError`` for a scan that is not
    well formed; a well-formed code that matches nothing resolves with ``matched`` false."""
    scan = normalize(raw)
    try:
        return _exact_match(session, raw, scan) or _gs1(session, raw, scan)
    except ScanError as error:
        error.normalized = scan.payload
        raise


# ------------------------------------------------------------------ our own codes, matched exactly

def _own_code_matches() -> Any:
    """Every record of ours a code can name exactly, in one statement (scans are the floor's hot path):
    (kind, id, three texts, pack quantity), prepared once (see ``db.Prepared``)."""
    code = bindparam("code")
    text, number = cast(null(), String), cast(null(), Integer)
    # A deactivated user's badge identifies nobody on the floor any more.
    badges = select(literal("badge").label("kind"), User.id, User.username, User.display_name, text, number).where(
        User.badge_code == code, User.active.is_(True))
    # Virtual locations have no printed label, and a retired bin must not be scanned back into use.
    bins = (select(literal("location"), Location.id, Location.code, Warehouse.code, Location.type, number)
            .outerjoin(Warehouse, Location.warehouse_id == Warehouse.id)
            .where(Location.code == code, Location.is_virtual.is_(False), Location.active.is_(True)))
    aliases = (select(literal("alias"), Item.id, Item.sku, Item.name, ItemBarcode.pack_level, PackSize.quantity)
               .join(ItemBarcode, ItemBarcode.item_id == Item.id)
               .outerjoin(PackSize, and_(PackSize.item_id == Item.id, PackSize.level == ItemBarcode.pack_level))
               .where(ItemBarcode.code == code, ItemBarcode.kind == BarcodeKind.ALIAS.value))
    skus = (select(literal("sku"), Item.id, Item.sku, Item.name, literal("each"), PackSize.quantity)
            .outerjoin(PackSize, and_(PackSize.item_id == Item.id, PackSize.level == "each"))
            .where(Item.sku == code))
    return union_all(badges, bins, aliases, skus)


OWN_CODE_MATCHES = Prepared(_own_code_matches())


def _exact_match(session: Session, raw: str, scan: NormalizedScan) -> Resolution | None:
    code = scan.payload
    if GS in code or len(code) > MAX_CODE_LENGTH:
        return None  # no badge, bin, SKU or alias can hold it
    base = {"raw": raw, "normalized": code, "symbology": scan.symbology, "matched": True}
    found: dict[str, tuple[Any, ...]] = {}
    for kind, *row in OWN_CODE_MATCHES.rows(session, {"code": code}):
        found.setdefault(kind, tuple(row))

    if "badge" in found:
        user_id, username, display_name, _, _ = found["badge"]
        return Resolution(**base, kind=ScanKind.BADGE, badge=BadgeMatch(user_id, username, display_name))
    if "location" in found:
        location_id, location_code, warehouse, location_type, _ = found["location"]
        return Resolution(**base, kind=ScanKind.LOCATION,
                          location=LocationMatch(location_id, location_code, warehouse, location_type))
    by_alias, by_sku = found.get("alias"), found.get("sku")
    if by_alias is not None and by_sku is not None and by_alias[0] != by_sku[0]:
        raise ScanError(ScanError.AMBIGUOUS, f"{code!r} is the SKU of {by_sku[1]} and an alias of "
                                             f"{by_alias[1]}; fix the catalog so that it means one item.")
    row = by_alias or by_sku
    if row is None:
        return None
    item_id, sku, name, level, quantity = row
    match = ItemMatch(item_id, sku, name, level, quantity)
    return Resolution(**base, kind=ScanKind.ITEM, item=match, quantity=match.pack_quantity)


# The pack size of the barcode's level comes in the same statement.
ITEM_FOR_GTIN = Prepared(select(Item.id, Item.sku, Item.name, ItemBarcode.pack_level, PackSize.quantity)
                         .join(ItemBarcode, ItemBarcode.item_id == Item.id)
                         .outerjoin(PackSize, and_(PackSize.item_id == Item.id,
                                                   PackSize.level == ItemBarcode.pack_level))
                         .where(ItemBarcode.code == bindparam("gtin"), ItemBarcode.kind == BarcodeKind.GTIN.value)
                         .limit(1))


_LOT_OF_ITEM = Prepared(select(Lot.id, Lot.code, Lot.expiry).where(Lot.item_id == bindparam("item_id"),
                                                                Lot.code == bindparam("code")))


def _item_for_gtin(session: Session, gtin14: str) -> ItemMatch | None:
    row = ITEM_FOR_GTIN.first(session, {"gtin": gtin14})
    return None if row is None else ItemMatch(*row)


# ------------------------------------------------------------------ GS1

def _gs1(session: Session, raw: str, scan: NormalizedScan) -> Resolution:
    payload = scan.payload
    if payload.lower().startswith(("http://", "https://")):
        return _digital_link(session, raw, scan)
    if HRI_OPENING.match(payload):
        return _interpret(session, raw, scan, _hri_elements(payload), kind=ScanKind.GS1)
    if scan.gs1 or scan.leading_fnc1 or GS in payload:
        return _interpret(session, raw, scan, _message_elements(payload), kind=ScanKind.GS1)
    digits = payload.isascii() and payload.isdigit()
    if scan.carries_gtin:
        lengths = GTIN_LENGTHS_BY_SYMBOLOGY.get(scan.symbology or "", (8, 12, 13))
        if not digits or len(payload) not in lengths:
            raise ScanError(ScanError.MALFORMED, f"{scan.symbology} data {payload!r} is not a GTIN of "
                                                 f"{'/'.join(map(str, lengths))} digits (add-on symbols are not read).")
        return _bare_gtin(session, raw, scan, vouched=True)
    if digits and len(payload) in (8, 12, 13, 14):
        return _bare_gtin(session, raw, scan, vouched=not scan.outside_gs1)
    if digits and len(payload) == 18:
        return _bare_sscc(raw, scan, vouched=not scan.outside_gs1)
    if scan.symbology is None and _opens_with_identification_key(payload):
        return _interpret(session, raw, scan, _message_elements(payload), kind=ScanKind.GS1)
    return _unknown(raw, scan)


def _opens_with_identification_key(payload: str) -> bool:
    for ai, length in ELEMENT_STRING_OPENERS:
        data = payload[len(ai):len(ai) + length]
        if payload.startswith(ai) and len(data) == length and data.isascii() and data.isdigit():
            return True
    return False


def _unknown(raw: str, scan: NormalizedScan) -> Resolution:
    return Resolution(raw=raw, normalized=scan.payload, symbology=scan.symbology, kind=ScanKind.UNKNOWN,
                      matched=False)


def _check_digit_error(what: str, digits: str) -> ScanError | None:
    expected = gs1_standard_check_digit(digits[:-1])
    if int(digits[-1]) == expected:
        return None
    return ScanError(ScanError.BAD_CHECK_DIGIT, f"{what} {digits} ends in check digit {digits[-1]}, "
                                                f"but its digits give {expected}.")


def _upc_e_as_gtin14(digits: str) -> str | None:
    """The GTIN of an 8-digit UPC-E (number system 0 or 1, valid check digit), else None."""
    if digits[0] not in "01":
        return None
    try:
        return Upc.parse(digits, config=BIIP_CONFIG).as_gtin_14()
    except ParseError:
        return None


def _bare_gtin(session: Session, raw: str, scan: NormalizedScan, *, vouched: bool) -> Resolution:
    """A GTIN-8/12/13/14 or UPC-E. ``vouched``: the reader did not say this is some non-GS1 symbology,
    so a wrong check digit is a damaged or mistyped GTIN (an error), not just another number."""
    digits = scan.payload
    if len(digits) == 8:
        gtin14 = _eight_digits(session, digits, scan, vouched=vouched)
    else:
        error = _check_digit_error("GTIN", digits)
        gtin14 = None if error else Gtin.parse(digits, config=BIIP_CONFIG).as_gtin_14()
        if error and vouched:
            raise error
    if gtin14 is None:
        return _unknown(raw, scan)
    item = _item_for_gtin(session, gtin14)
    return Resolution(raw=raw, normalized=digits, symbology=scan.symbology,
                      kind=ScanKind.ITEM if item else ScanKind.GTIN, matched=item is not None,
                      elements={"01": gtin14}, item=item, quantity=item.pack_quantity if item else None)


def _eight_digits(session: Session, digits: str, scan: NormalizedScan, *, vouched: bool) -> str | None:
    """The GTIN-14 an 8-digit scan stands for: an EAN-8 (GTIN-8) or a UPC-E (expanded to GTIN-12).
    ]E4 says EAN-8 and ]E0 says EAN-13/UPC (so UPC-E); without either, both readings are tried."""
    ean8_possible = scan.symbology not in ("]E0", "]E3")
    upc_e_possible = scan.symbology != "]E4" and digits[0] in "01"  # UPC-E number systems are 0 and 1
    if not ean8_possible and not upc_e_possible:
        raise ScanError(ScanError.MALFORMED, f"{digits} under {scan.symbology} would be a UPC-E, but a UPC-E "
                                             "starts with number system 0 or 1.")
    as_ean8 = None
    if ean8_possible and not _check_digit_error("GTIN-8", digits):
        as_ean8 = Gtin.parse(digits, config=BIIP_CONFIG)
    candidates = {}
    if as_ean8 is not None:
        candidates["EAN-8"] = as_ean8.as_gtin_14()
    if upc_e_possible and (as_upc_e := _upc_e_as_gtin14(digits)) is not None:
        candidates["UPC-E"] = as_upc_e
    if not candidates:
        if not vouched:
            return None
        readings = " or ".join(name for name, possible in
                               (("an EAN-8", ean8_possible), ("a UPC-E", upc_e_possible)) if possible)
        raise ScanError(ScanError.BAD_CHECK_DIGIT, f"{digits} is not {readings}: its check digit {digits[-1]} "
                                                   "does not match its other digits.")
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    # Both readings are valid: whichever the catalog knows is what was printed.
    known = [gtin14 for gtin14 in candidates.values() if _item_for_gtin(session, gtin14) is not None]
    if len(known) == 1:
        return known[0]
    if not known and isinstance(as_ean8, Rcn):
        # The EAN-8 reading is a restricted circulation number, meaningful only inside the company
        # that issued it (and the catalog does not have it); a UPC-E is a global trade item number.
        return candidates["UPC-E"]
    raise ScanError(ScanError.AMBIGUOUS, f"{digits} reads as EAN-8 {candidates['EAN-8']} and as UPC-E "
                                         f"{candidates['UPC-E']}{' and the catalog has both' if known else ''}; "
                                         "turn on symbology identifiers on the scanner or enter the full GTIN.")


def _bare_sscc(raw: str, scan: NormalizedScan, *, vouched: bool) -> Resolution:
    digits = scan.payload
    error = _check_digit_error("SSCC", digits)
    if error:
        if vouched:
            raise error
        return _unknown(raw, scan)
    return Resolution(raw=raw, normalized=digits, symbology=scan.symbology, kind=ScanKind.SSCC, matched=False,
                      elements={"00": digits}, sscc=digits)


# ------------------------------------------------------------------ element strings

def _known_ai(code: str) -> GS1ApplicationIdentifier | None:
    try:
        ai = GS1ApplicationIdentifier.extract(code)
    except ParseError:
        return None
    return ai if ai.ai == code else None


def _element_failure(text: str) -> ScanError:
    """Why the element string at the start of ``text`` (AI and data) does not parse."""
    try:
        ai = GS1ApplicationIdentifier.extract(text)
    except ParseError:
        return ScanError(ScanError.UNKNOWN_AI, f"No GS1 Application Identifier starts {text[:4]!r}.")
    data = text[len(ai.ai):].split(GS, 1)[0]
    if ai.ai in DATE_AIS and data[:6].isascii() and data[:6].isdigit() and len(data) >= 6:
        return ScanError(ScanError.BAD_DATE, f"{ai} {ai.data_title} {data[:6]} is not a date (YYMMDD; the day "
                                             "may be 00 for the end of the month).")
    return ScanError(ScanError.MALFORMED, f"{ai} {ai.data_title} {data!r} does not fit its format {ai.format}.")


def _checked(element: GS1ElementString) -> GS1ElementString:
    """biip parses a GTIN, SSCC or GLN inside an element string but only notes a wrong check digit."""
    for error in (element.gtin_error, element.sscc_error, element.gln_error):
        if error:
            raise ScanError(ScanError.BAD_CHECK_DIGIT, f"{element.ai} {error}")
    return element


def _parsed(text: str, *, whole: bool) -> GS1ElementString:
    """One element string via biip, with its embedded keys' check digits enforced."""
    try:
        element = (GS1ElementString.parse if whole else GS1ElementString.extract)(text, config=BIIP_CONFIG)
    except ParseError:
        raise _element_failure(text) from None
    return _checked(element)


def _message_elements(payload: str) -> list[GS1ElementString]:
    """The element strings of a GS1 message as scanned (AI and data, GS after variable-length data).

    biip's ``GS1Message.parse`` does the same walk; it is done here, with biip's ``extract`` for
    each element, to know which element failed and why, and to refuse a variable-length field that
    is followed by more data without a GS (it overran its maximum length or lost its separator,
    and what follows would be misread as further elements)."""
    elements = []
    rest = payload
    while rest:
        element = _parsed(rest, whole=False)
        elements.append(element)
        rest = rest[len(element):]
        if rest and not rest.startswith(GS) and ".." in element.ai.format:
            raise ScanError(ScanError.MALFORMED, f"{element.ai} {element.ai.data_title} {element.value!r} is "
                                                 f"followed by {rest[:6]!r} without a GS separator; the field "
                                                 f"is at most {element.ai.format.split('..')[-1]} characters.")
        rest = rest.lstrip(GS)
    return elements


def _hri_elements(payload: str) -> list[GS1ElementString]:
    """Element strings typed or scanned in their printed form, ``(01)09506000134352(10)ABC``."""
    try:
        return [_checked(element) for element in
                GS1Message.parse_hri(payload, config=BIIP_CONFIG).element_strings]
    except ParseError as error:
        biip_reason = str(error)
    # biip says what failed in words; find the element ourselves to give the reason code.
    pairs = _hri_pairs(payload)
    if not pairs:
        raise ScanError(ScanError.MALFORMED, f"Not GS1 element strings in (AI)data form: {biip_reason}")
    for code, data in pairs:
        ai = _known_ai(code)
        if ai is None:
            raise ScanError(ScanError.UNKNOWN_AI, f"({code}) is not a GS1 Application Identifier.")
        _parsed(code + data, whole=True)
    raise ScanError(ScanError.MALFORMED, f"Not GS1 element strings in (AI)data form: {biip_reason}")


def _hri_pairs(payload: str) -> list[tuple[str, str]]:
    """(AI, data) pairs of the printed form, split as biip's ``parse_hri`` splits them."""
    return re.findall(r"\((\d+)\)([^(]+)", "".join(payload.split()))


# ------------------------------------------------------------------ GS1 Digital Link

def _digital_link(session: Session, raw: str, scan: NormalizedScan) -> Resolution:
    url = scan.payload
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. a broken IPv6 host
        raise ScanError(ScanError.MALFORMED, f"Not a valid web address: {error}.") from None
    segments = [unquote(segment) for segment in parts.path.split("/")]
    if not DIGITAL_LINK_PRIMARY_KEYS.intersection(segments):
        return _unknown(raw, scan)  # a web address, but not a GS1 Digital Link
    for key, values in parse_qs(parts.query).items():
        if _known_ai(key) and len(set(values)) > 1:
            raise ScanError(ScanError.MALFORMED, f"The Digital Link gives ({key}) twice with different values.")
    try:
        elements = list(GS1DigitalLinkURI.parse(url, config=BIIP_CONFIG).element_strings)
    except ParseError as error:
        raise _digital_link_failure(segments, parts.query, str(error)) from None
    for element in elements:
        _checked(element)
    return _interpret(session, raw, scan, elements, kind=ScanKind.DIGITAL_LINK)


def _digital_link_failure(segments: list[str], query: str, biip_reason: str) -> ScanError:
    """The reason code for a Digital Link biip refused: the first AI and value that do not parse,
    else the structure (order of qualifiers, odd segments), in biip's words."""
    start = next(index for index, segment in enumerate(segments) if segment in DIGITAL_LINK_PRIMARY_KEYS)
    path = segments[start:]
    pairs = list(zip(path[0::2], path[1::2]))
    pairs += [(key, values[-1]) for key, values in parse_qs(query).items() if _known_ai(key)]
    for code, data in pairs:
        ai = _known_ai(code)
        if ai is None:
            return ScanError(ScanError.UNKNOWN_AI, f"The Digital Link path has /{code}/, which is not a GS1 "
                                                   "Application Identifier.")
        try:
            _parsed(code + data, whole=True)
        except ScanError as error:
            return error
    return ScanError(ScanError.MALFORMED, f"Not a valid GS1 Digital Link: {biip_reason}")


# ------------------------------------------------------------------ what the elements mean here

def _interpret(session: Session, raw: str, scan: NormalizedScan, elements: Iterable[GS1ElementString],
               *, kind: str) -> Resolution:
    values: dict[str, str] = {}
    by_ai: dict[str, GS1ElementString] = {}
    for element in elements:
        code = element.ai.ai
        if code in values and values[code] != element.value:
            raise ScanError(ScanError.MALFORMED, f"{element.ai} appears twice with different values "
                                                 f"({values[code]!r} and {element.value!r}).")
        values[code] = element.value
        by_ai[code] = element

    count = None
    for code in ("30", "37"):
        if code in values:
            if not values[code] or int(values[code]) == 0:
                raise ScanError(ScanError.MALFORMED, f"({code}) COUNT must be a number from 1 to 99999999.")
            count = int(values[code])

    gtin = values.get("01") or values.get("02")  # (02): the trade items contained in a logistic unit
    item = _item_for_gtin(session, gtin) if gtin else None
    lot = None
    if item is not None and "10" in values:
        found = _LOT_OF_ITEM.first(session, {"item_id": item.item_id, "code": values["10"]})
        lot = None if found is None else LotMatch(*found)
    if item is not None and item.pack_quantity is not None:
        quantity = (count or 1) * item.pack_quantity
    else:
        quantity = count

    weight = next((element.decimal for code, element in by_ai.items() if code.startswith("310")), None)
    if kind == ScanKind.GS1 and set(values) == {"00"}:
        kind = ScanKind.SSCC
    return Resolution(
        raw=raw, normalized=scan.payload, symbology=scan.symbology, kind=kind, matched=item is not None,
        elements=values, dates={code: e.date for code, e in by_ai.items() if e.date is not None},
        item=item, lot=lot, expiry=by_ai["17"].date if "17" in by_ai else None, quantity=quantity,
        net_weight_kg=weight, serial=values.get("21"), sscc=values.get("00"), po=values.get("400"))
