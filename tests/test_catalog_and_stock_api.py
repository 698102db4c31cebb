"""The contract other systems code against: warehouses, locations, items, adjustments, stock, changes."""

from __future__ import annotations

from tests.conftest import Api
from warehouse.migrate import head_revision


def test_create_warehouse_location_item_with_contract_fields(api: Api) -> None:
    warehouse = api.ok("POST", "/api/v1/warehouses",
                       {"code": "AMS", "name": "Amsterdam", "latitude": 52.37, "longitude": 4.89}, status=201)
    assert warehouse["code"] == "AMS" and warehouse["latitude"] == 52.37
    location = api.ok("POST", "/api/v1/locations", {"code": "AMS-A-01", "warehouse": "AMS", "type": "storage"},
                      status=201)
    assert (location["code"], location["warehouse"], location["type"], location["is_virtual"]) == \
        ("AMS-A-01", "AMS", "storage", False)
    item = api.ok("POST", "/api/v1/items", {"sku": "TEA-1", "name": "Green tea", "gtins": ["5901234123457"]},
                  status=201)
    assert item["gtins"] == ["05901234123457"], "GTINs are kept in their 14-digit form"
    assert api.ok("GET", "/api/v1/items/TEA-1")["name"] == "Green tea"
    assert api.ok("GET", "/api/v1/locations/AMS-A-01")["warehouse"] == "AMS"


def test_item_pack_sizes_and_patch(api: Api) -> None:
    api.ok("POST", "/api/v1/items", {"sku": "BOX", "name": "Box", "gtins": ["96385074"],
                                     "pack_sizes": [{"level": "case", "quantity": 12, "gtin": "10012345678902"}],
                                     "unit_value": "2.50"}, status=201)
    item = api.ok("PATCH", "/api/v1/items/BOX", {"name": "Moving box", "aliases": ["MB-1"]})
    assert item["name"] == "Moving box" and item["aliases"] == ["MB-1"]
    assert item["gtins"] == ["00000096385074"], "a PATCH without gtins keeps them"
    assert {"level": "case", "quantity": 12, "gtin": "10012345678902"} in item["pack_sizes"]
    assert item["unit_value"] == "2.50"


def test_lists_paginate_with_link_and_total(api: Api, site: dict) -> None:
    response = api.get("/api/v1/locations?warehouse=W1&per_page=2")
    assert response.status_code == 200
    assert [row["code"] for row in response.get_json()] and len(response.get_json()) == 2
    assert response.headers["X-Total-Count"] == "4"
    assert 'rel="next"' in response.headers["Link"]
    second = api.get("/api/v1/locations?warehouse=W1&per_page=2&page=2").get_json()
    first_codes = {row["code"] for row in response.get_json()}
    assert first_codes.isdisjoint({row["code"] for row in second})


def test_adjustments_and_stock_by_item_location_warehouse(api: Api, site: dict) -> None:
    def adjust(sku: str, location: str, quantity: int, **extra: object) -> dict:
        return api.ok("POST", "/api/v1/stock/adjustments",
                      {"sku": sku, "location": location, "quantity": quantity, "reason": "test", **extra},
                      status=201)

    first = adjust("PLAIN", "W1-A1", 30)
    adjust("PLAIN", "W2-A1", 5)
    adjust("LOTTED", "W1-A2", 8, lot="L1", expiry="2030-01-31")
    written_off = adjust("PLAIN", "W1-A1", -4)
    assert written_off["seq"] > first["seq"]
    assert (written_off["from_location"], written_off["to_location"]) == ("W1-A1", "V-INVENTORY-LOSS")

    by_item = api.ok("GET", "/api/v1/stock?sku=PLAIN")
    assert {(r["location"], r["warehouse"], r["on_hand"], r["available"]) for r in by_item} == \
        {("W1-A1", "W1", 26, 26), ("W2-A1", "W2", 5, 5)}
    by_location = api.ok("GET", "/api/v1/stock?location=W1-A2")
    assert [(r["sku"], r["lot"], r["expiry"], r["on_hand"], r["reserved"]) for r in by_location] == \
        [("LOTTED", "L1", "2030-01-31", 8, 0)]
    by_warehouse = api.ok("GET", "/api/v1/stock?warehouse=W2")
    assert [(r["sku"], r["location"]) for r in by_warehouse] == [("PLAIN", "W2-A1")]
    totals = api.ok("GET", "/api/v1/stock/totals?sku=PLAIN")
    assert {(r["warehouse"], r["on_hand"], r["available"]) for r in totals} == {("W1", 26, 26), ("W2", 5, 5)}
    assert api.ok("GET", "/api/v1/stock/invariants")["ok"] is True


def test_changes_feed_pages_by_seq_and_never_splits_a_move(api: Api, site: dict, db) -> None:  # type: ignore[no-untyped-def]
    from warehouse.catalog.services import item_by_sku
    from warehouse.locations.services import location_by_code
    from warehouse.stock.ledger import post_move
    from tests.conftest import user_id

    start = api.ok("GET", "/api/v1/stock/changes?after=0&limit=1000")["next_after"]
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A1", "quantity": 10, "reason": "found"}, status=201)
    actor = user_id(db, "admin1")
    with db.transaction() as session:
        post_move(session, item=item_by_sku(session, "PLAIN"), source=location_by_code(session, "W1-A1"),
                  destination=location_by_code(session, "W1-A2"), quantity=4, reason="replenish",
                  reason_code="transfer", actor_id=actor)
    api.ok("POST", "/api/v1/stock/adjustments",
           {"sku": "PLAIN", "location": "W1-A2", "quantity": -1, "reason": "damaged"}, status=201)

    page = api.ok("GET", f"/api/v1/stock/changes?after={start}&limit=2")
    assert [(c["location"], c["quantity"]) for c in page["changes"]] == \
        [("W1-A1", 10), ("W1-A1", -4), ("W1-A2", 4)], "a transfer is two changes with one seq, on one page"
    assert page["changes"][1]["seq"] == page["changes"][2]["seq"] == page["next_after"]
    rest = api.ok("GET", f"/api/v1/stock/changes?after={page['next_after']}&limit=2")
    assert [(c["location"], c["quantity"]) for c in rest["changes"]] == [("W1-A2", -1)]
    assert rest["next_after"] == rest["last_seq"]
    empty = api.ok("GET", f"/api/v1/stock/changes?after={rest['next_after']}")
    assert empty["changes"] == [] and empty["next_after"] == rest["next_after"]


def test_health_is_public_and_names_backend_and_revision(api: Api, backend: str) -> None:
    body = api.ok("GET", "/api/v1/health", as_=None)
    assert body == {**body, "status": "ok", "database": backend, "schema_revision": head_revision()}
