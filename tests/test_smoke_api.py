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


def test_every_response_carries_the_security_headers(api: Api, site: dict) -> None:
    """A browser on the floor must not sniff, frame or cache what the service sends: API answers
    (problems included) and pages alike, without a view's own policy being overwritten."""
    answers = {"api": api.get("/api/v1/items", as_="op1"), "problem": api.get("/api/v1/items/NOPE", as_="op1"),
               "page": api.get("/", as_=None)}
    assert (answers["api"].status_code, answers["problem"].status_code) == (200, 404)
    for name, answer in answers.items():
        headers = answer.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["Referrer-Policy"] == "same-origin", name
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], name
        assert headers["Permissions-Policy"].startswith("camera=(self)"), name
        assert len(headers.getlist("Content-Security-Policy")) == 1, name
    assert answers["api"].headers["Cache-Control"] == "no-store"
    assert answers["problem"].headers["Cache-Control"] == "no-store"
    assert "no-store" not in answers["page"].headers.get("Cache-Control", "")
