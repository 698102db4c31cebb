from __future__ import annotations

from tests.conftest import Api


def test_adjustment_then_stock_then_changes(api: Api, site: dict) -> None:
    created = api.ok("POST", "/api/v1/stock/adjustments",
                     {"sku": "PLAIN", "location": "W1-A1", "quantity": 10, "reason": "found"}, status=201)
    assert created["seq"] >= 1
    rows = api.ok("GET", "/api/v1/stock?sku=PLAIN")
    assert rows == [{**rows[0], "sku": "PLAIN", "location": "W1-A1", "warehouse": "W1", "lot": None,
                     "on_hand": 10, "reserved": 0, "available": 10}]
    feed = api.ok("GET", f"/api/v1/stock/changes?after={created['seq'] - 1}")
    assert [(c["seq"], c["location"], c["quantity"]) for c in feed["changes"]] == [(created["seq"], "W1-A1", 10)]
