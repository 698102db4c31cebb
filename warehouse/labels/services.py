"""Look up what a label shows, render it, and send it to a printer. Nothing here writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from hardware import labels, printers
from warehouse.catalog.services import item_by_sku
from warehouse.config import current_setting
from warehouse.errors import InvalidInput, NotFound, ServiceUnavailable
from warehouse.locations.models import Location, Zone
from warehouse.locations.services import location_by_code, warehouse_by_code


# A printer on the warehouse network answers within milliseconds; one that takes longer is off or gone,
# and the operator at the bench is waiting for the answer.
PRINT_TIMEOUT_SECONDS = 5.0


class PrinterNotConfigured(ServiceUnavailable):
    slug, title = "printer-not-configured", "No label printer configured"


class PrinterUnreachable(ServiceUnavailable):
    slug, title = "printer-unreachable", "Label printer unreachable"


def _physical(location: Location) -> Location:
    if location.is_virtual:
        raise NotFound(f"{location.code} is a virtual location; only physical locations have labels.")
    return location


def _location_label(location: Location) -> labels.Label:
    try:
        return labels.location_label(location.code, name=location.name,
                                     warehouse=location.warehouse.code if location.warehouse else None,
                                     zone=location.zone.code if location.zone else None)
    except labels.LabelError as exc:
        raise InvalidInput.field("code", str(exc)) from None


def location_label(session: Session, code: str, *, field: str | None = None) -> labels.Label:
    return _location_label(_physical(location_by_code(session, code, field=field)))


def item_label(session: Session, sku: str, *, field: str | None = None) -> labels.Label:
    item = item_by_sku(session, sku, field=field)
    gtins = item.gtins
    try:
        return labels.item_label(item.sku, item.name, gtin=gtins[0] if gtins else None)
    except labels.LabelError as exc:
        raise InvalidInput.field(field or "sku", str(exc)) from None


def sscc_label(sscc: str, *, field: str = "sscc") -> labels.Label:
    try:
        return labels.sscc_label(sscc)
    except labels.LabelError as exc:
        raise InvalidInput.field(field, str(exc)) from None


def label_for(session: Session, kind: str, code: str, *, field: str = "code") -> labels.Label:
    if kind == "location":
        return location_label(session, code, field=field)
    if kind == "item":
        return item_label(session, code, field=field)
    return sscc_label(code, field=field)


def location_sheet(session: Session, *, warehouse: str, zone: str | None = None) -> str:
    """The HTML sheet of a warehouse's active physical bins in walking order."""
    site = warehouse_by_code(session, warehouse, field="warehouse")
    statement = (select(Location).options(joinedload(Location.warehouse), joinedload(Location.zone))
                 .where(Location.warehouse_id == site.id, Location.active.is_(True), Location.is_virtual.is_(False))
                 .order_by(Location.walk_sequence, Location.code))
    title = f"Bin labels: {site.code}"
    if zone is not None:
        found = session.scalar(select(Zone).where(Zone.warehouse_id == site.id, Zone.code == zone))
        if found is None:
            raise InvalidInput.field("zone", f"unknown zone {zone!r} in {site.code}")
        statement = statement.where(Location.zone_id == found.id)
        title += f" zone {zone}"
    return labels.sheet_html([_location_label(location) for location in session.scalars(statement)], title=title)


def configured_printers() -> list[printers.PrinterAddress]:
    setting = current_setting("LABEL_PRINTER") or ""
    return [printers.parse_address(part) for part in setting.split(",") if part.strip()]


def choose_printer(requested: str | None) -> printers.PrinterAddress:
    """The configured printer asked for (or the first). Only configured printers can be chosen, so a
    request cannot make the server open connections to arbitrary hosts and ports."""
    configured = configured_printers()
    if not configured:
        raise PrinterNotConfigured("No label printer is configured: set WAREHOUSE_LABEL_PRINTER to the "
                                   "printer's host:port (raw TCP, usually port 9100).")
    if requested is None:
        return configured[0]
    try:
        wanted = printers.parse_address(requested)
    except ValueError as exc:
        raise InvalidInput.field("printer", str(exc)) from None
    if wanted not in configured:
        choices = ", ".join(str(p) for p in configured)
        raise InvalidInput.field("printer", f"{wanted} is not a configured label printer (configured: {choices})")
    return wanted


def print_label(label: labels.Label, *, copies: int, printer: printers.PrinterAddress) -> int:
    """Send the label's ZPL; the number of bytes sent."""
    try:
        return printers.send_raw(printer, labels.render_zpl(label, copies=copies), timeout=PRINT_TIMEOUT_SECONDS)
    except printers.PrinterError as exc:
        raise PrinterUnreachable(str(exc), headers={"Retry-After": "5"}) from None

