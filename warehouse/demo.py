"""Demo data: two warehouses, their bins, a small catalog, stock and one user per role.

Everything goes through the same services as the API, so the demo ledger is a real ledger.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.accounts import services as accounts
from warehouse.catalog import services as catalog
from warehouse.counting import services as counting
from warehouse.db import Database
from warehouse.locations import services as locations
from warehouse.locations.models import Warehouse
from warehouse.picking import services as picking
from warehouse.putaway import services as putaway
from warehouse.receiving import services as receiving
from warehouse.returns import services as returns
from warehouse.stock import services as stock

DEMO_ADMIN_TOKEN = "wh_demo-admin-token-for-local-trials-only"

DEMO_CREDENTIALS = """
================ Demo sign-ins (local trials only) ================
Operators, handheld app at {url}
                        badge OP-1001 PIN 1234   |   badge OP-1002 PIN 5678 (Deutsch)
Supervisor, dashboard at {url}/dashboard
                        sam / supervisor-demo    (first sign-in sets up the authenticator)
Admin:                  admin / admin-demo-pass  (first sign-in sets up the authenticator)
Bin labels to print:    {url}/api/v1/labels/sheets/locations?warehouse=AMS
Admin API token:        """ + DEMO_ADMIN_TOKEN + """
  curl -H 'Authorization: Bearer """ + DEMO_ADMIN_TOKEN + """' {url}/api/v1/stock

Handheld: open {url} in a phone-sized window and sign in with a badge. Waiting in AMS:
  Receive  ASN-DEMO-1 at AMS-DOCK-1: 24 x SKU-1004 (lot VD-2501, expiry 2028-01-31),
           12 x SKU-1006, 48 x SKU-1003. Type the GS1-128 case label
           ]C1010871234500004217280131""" + "10VD-2501" + """ (GTIN, expiry, lot)
           Four eyes: OP-1001 counts, OP-1002 verifies under "To verify".
  Put away 24 x SKU-1007 waiting at AMS-DOCK-1 (or start one from what you receive)
  Pick     SO-DEMO-1: 4 x SKU-1002, 6 x SKU-1003, 6 x SKU-1004 (earliest expiry: lot VD-2312),
           then its pack check at AMS-PACK-1
  Count    AMS-A-02-01 and the empty AMS-P-06 (blind, two counters)
  Return   RMA-DEMO-1 at AMS-RET-1: 2 x SKU-1006 from order SO-DEMO-0 (grade them)
Scans are typed: a bin is its code (AMS-A-01-01), an item its GTIN (8712345000035) or SKU.
===================================================================
"""

WAREHOUSES = [
    ("AMS", "Amsterdam DC", "Westpoort 12, 1047 Amsterdam, NL", 52.3889, 4.8373),
    ("BER", "Berlin DC", "Am Borsigturm 40, 13507 Berlin, DE", 52.5873, 13.2841),
]

# (suffix, type, zone, walk sequence, capacity)
LAYOUT = [
    ("DOCK-1", "receiving", "RCV", 0, None),
    *[(f"A-{aisle:02d}-{bay:02d}", "storage", "A", 100 + aisle * 10 + bay, 500)
      for aisle in (1, 2) for bay in (1, 2, 3, 4)],
    *[(f"P-{slot:02d}", "pick-face", "P", 200 + slot, 120) for slot in range(1, 7)],
    ("PACK-1", "packing", "PCK", 300, None),
    ("SHIP-1", "shipping", "SHP", 400, None),
    ("RET-1", "returns", "RET", 500, None),
    ("QC-1", "quarantine", "Q", 600, None),
]


def _gtin13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


# (sku, name, gtin body, tracking, expiry, unit value, case size)
ITEMS = [
    ("SKU-1001", "Cordless drill 18V", "871234500001", "serial", False, "89.00", 4),
    ("SKU-1002", "Drill bit set, 10 pc", "871234500002", "none", False, "14.50", 24),
    ("SKU-1003", "Safety gloves, size L", "871234500003", "none", False, "4.20", 48),
    ("SKU-1004", "Vitamin D3 tablets, 90", "871234500004", "lot", True, "7.95", 36),
    ("SKU-1005", "Infant milk powder 800 g", "871234500005", "lot", True, "21.30", 6),
    ("SKU-1006", "LED work light", "871234500006", "none", False, "24.99", 12),
    ("SKU-1007", "Packing tape, 6 rolls", "871234500007", "none", False, "9.60", 24),
    ("SKU-1008", "Hand sanitiser 500 ml", "871234500008", "lot", True, "3.75", 20),
]


def seed(db: Database) -> bool:
    """Load the demo into an empty database; returns False (and changes nothing) otherwise."""
    with db.transaction() as session:
        if session.scalar(select(Warehouse.id).limit(1)) is not None:
            return False
        _seed(session)
    return True


def _seed(session: Session) -> None:
    admin = accounts.create_user(session, username="admin", role="admin", actor_id=None,
                                 display_name="Alex Admin", password="admin-demo-pass")
    supervisor = accounts.create_user(session, username="sam", role="supervisor", actor_id=admin.id,
                         display_name="Sam Supervisor", password="supervisor-demo")
    accounts.create_user(session, username="olga", role="operator", actor_id=admin.id,
                         display_name="Olga Operator", badge="OP-1001", pin="1234")
    accounts.create_user(session, username="omar", role="operator", actor_id=admin.id,
                         display_name="Omar Operator", badge="OP-1002", pin="5678", locale="de")
    accounts.create_user(session, username="shop", role="integration", actor_id=admin.id,
                         display_name="Web shop (order system)")
    accounts.create_token(session, username="admin", name="demo", actor_id=admin.id, plaintext=DEMO_ADMIN_TOKEN)

    for code, name, address, latitude, longitude in WAREHOUSES:
        locations.create_warehouse(session, actor_id=admin.id, code=code, name=name, address=address,
                                   latitude=latitude, longitude=longitude)
        for zone in sorted({row[2] for row in LAYOUT}):
            locations.create_zone(session, actor_id=admin.id, warehouse=code, code=zone)
        for suffix, kind, zone, walk, capacity in LAYOUT:
            locations.create_location(session, actor_id=admin.id, code=f"{code}-{suffix}", warehouse=code,
                                      type=kind, zone=zone, walk_sequence=walk, capacity=capacity)

    for sku, name, body, tracking, expiry, value, case in ITEMS:
        catalog.create_item(session, actor_id=admin.id, sku=sku, name=name, gtins=[_gtin13(body)],
                            aliases=[sku.replace("SKU-", "ALT")], tracking=tracking, expiry_tracked=expiry,
                            unit_value=Decimal(value), pack_sizes=[{"level": "case", "quantity": case}])

    today = date.today()
    stock_plan = [
        ("AMS", "SKU-1002", "A-01-01", 120, None, None), ("AMS", "SKU-1002", "P-01", 24, None, None),
        ("AMS", "SKU-1003", "A-01-02", 480, None, None), ("AMS", "SKU-1003", "P-02", 96, None, None),
        ("AMS", "SKU-1004", "A-01-03", 144, "VD-2401", today + timedelta(days=200)),
        ("AMS", "SKU-1004", "P-03", 36, "VD-2312", today + timedelta(days=60)),
        ("AMS", "SKU-1006", "A-02-01", 60, None, None), ("AMS", "SKU-1007", "P-04", 48, None, None),
        ("AMS", "SKU-1008", "P-05", 40, "HS-0907", today + timedelta(days=400)),
        ("BER", "SKU-1002", "A-01-01", 48, None, None), ("BER", "SKU-1003", "P-02", 144, None, None),
        ("BER", "SKU-1005", "A-01-04", 30, "MP-2405", today + timedelta(days=300)),
        ("BER", "SKU-1005", "P-03", 12, "MP-2402", today + timedelta(days=90)),
        ("BER", "SKU-1006", "P-01", 18, None, None), ("BER", "SKU-1007", "A-02-02", 240, None, None),
    ]
    for warehouse, sku, suffix, quantity, lot, expiry in stock_plan:
        stock.adjust(session, actor_id=admin.id, sku=sku, location=f"{warehouse}-{suffix}", quantity=quantity,
                     reason="Opening stock (demo)", reason_code="initial_stock", lot=lot, expiry=expiry,
                     counterpart="supplier")
    stock.adjust(session, actor_id=admin.id, sku="SKU-1001", location="AMS-A-02-02", quantity=3,
                 reason="Opening stock (demo)", reason_code="initial_stock", counterpart="supplier",
                 serials=["DRL-000101", "DRL-000102", "DRL-000103"])

    _seed_tasks(session, actor_id=supervisor.id, admin_id=admin.id)


def _seed_tasks(session: Session, *, actor_id: int, admin_id: int) -> None:
    """One task of every floor workflow in AMS, so each handheld screen can be tried at once.

    Created the way a supervisor would (through the workflow services, as the API does), so the tasks
    hold real reservations and suggestions. The README's receiving example announces ASN-1001; this
    one is ASN-DEMO-1 so both can be tried.
    """
    receiving.create_receipt(session, actor_id=actor_id, reference="ASN-DEMO-1", warehouse="AMS",
                             dock="AMS-DOCK-1", supplier="Vitapharm B.V.", lines=[
                                 {"sku": "SKU-1004", "quantity": 24, "lot": "VD-2501", "expiry": "2028-01-31"},
                                 {"sku": "SKU-1006", "quantity": 12},
                                 {"sku": "SKU-1003", "quantity": 48}])
    # Goods unloaded yesterday and still on the dock: what a putaway task is for.
    stock.adjust(session, actor_id=admin_id, sku="SKU-1007", location="AMS-DOCK-1", quantity=24,
                 reason="Delivered, waiting for putaway (demo)", reason_code="initial_stock", counterpart="supplier")
    putaway.create_putaway(session, actor_id=actor_id, warehouse="AMS", source="AMS-DOCK-1")
    picking.create_pick_task(session, actor_id=actor_id, warehouse="AMS", packing="AMS-PACK-1", orders=[
        {"order": "SO-DEMO-1", "lines": [{"sku": "SKU-1002", "quantity": 4}, {"sku": "SKU-1003", "quantity": 6},
                                         {"sku": "SKU-1004", "quantity": 6}]}])
    counting.create_count(session, actor_id=actor_id, warehouse="AMS", locations=["AMS-A-02-01", "AMS-P-06"],
                          reference="Cycle count AMS-A-02-01, AMS-P-06")
    returns.create_return(session, actor_id=actor_id, rma="RMA-DEMO-1", warehouse="AMS", order="SO-DEMO-0",
                          customer="J. de Vries", location="AMS-RET-1",
                          lines=[{"sku": "SKU-1006", "quantity": 2, "reason": "arrived scratched"}])
