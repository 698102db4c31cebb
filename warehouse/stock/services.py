"""Stock use cases that are not part of a verified floor workflow: manual adjustments."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from warehouse.audit.services import record as audit
from warehouse.catalog.services import item_by_sku, lot_for
from warehouse.errors import InvalidInput
from warehouse.locations.models import LocationType
from warehouse.locations.services import location_by_code, virtual_location
from warehouse.stock.ledger import post_move
from warehouse.stock.models import Move

# Where adjusted stock comes from (positive) or goes to (negative).
ADJUSTMENT_COUNTERPARTS = {
    "inventory-loss": LocationType.INVENTORY_LOSS,
    "scrap": LocationType.SCRAP,
    "supplier": LocationType.SUPPLIER,
    "customer": LocationType.CUSTOMER,
}


def adjust(session: Session, *, actor_id: int, sku: str, location: str, quantity: int, reason: str,
           reason_code: str = "adjustment", lot: str | None = None, expiry: date | None = None,
           serials: list[str] | None = None, counterpart: str = "inventory-loss", device: str | None = None,
           idempotency_key: str | None = None) -> Move:
    """Post a supervisor's correction: ``quantity`` > 0 adds stock found, < 0 writes stock off."""
    if quantity == 0:
        raise InvalidInput.field("quantity", "an adjustment of zero changes nothing")
    item = item_by_sku(session, sku, field="sku")
    bin_ = location_by_code(session, location, field="location")
    if bin_.is_virtual:
        raise InvalidInput.field("location", "adjust a physical location; virtual ones balance the ledger")
    if not bin_.active:
        raise InvalidInput.field("location", f"{location} is deactivated")
    outside = virtual_location(session, ADJUSTMENT_COUNTERPARTS[counterpart])
    the_lot = lot_for(session, item, lot, expiry=expiry, create=quantity > 0)
    source, destination = (outside, bin_) if quantity > 0 else (bin_, outside)
    move = post_move(session, item=item, lot=the_lot, source=source, destination=destination,
                     quantity=abs(quantity), reason=reason, reason_code=reason_code, actor_id=actor_id,
                     serials=serials or (), device=device, idempotency_key=idempotency_key)
    audit(session, actor_id=actor_id, action="stock.adjusted", target=f"{location}/{sku}", seq=move.seq,
          quantity=quantity, reason=reason)
    return move
