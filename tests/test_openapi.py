"""The API describes itself: every endpoint is in the OpenAPI document, and the docs page shows it."""

from __future__ import annotations

import re

from flask import Flask
from openapi_spec_validator import validate

from tests.conftest import Api


def _documented(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "docs.openapi_json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_openapi_document_is_valid_and_covers_every_endpoint(api: Api, app: Flask) -> None:
    document = api.ok("GET", "/api/v1/openapi.json", as_="op1")
    validate(document)
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert _documented(app) - described == set(), "endpoints missing from the OpenAPI document"
    adjustments = document["paths"]["/api/v1/stock/adjustments"]["post"]
    body = adjustments["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = document["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"sku", "location", "quantity", "reason"} <= set(fields["required"])
    assert adjustments["x-idempotent"] is True
    assert "Idempotency-Key" in [p["name"] for p in adjustments["parameters"]]
    assert document["paths"]["/api/v1/health"]["get"]["security"] == []
    assert adjustments["responses"]["422"]["$ref"].endswith("Problem422")


def test_docs_page_lists_every_path_from_local_assets_only(api: Api) -> None:
    document = api.ok("GET", "/api/v1/openapi.json")
    page = api.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path in document["paths"]:
        assert path in html
    assert not re.search(r'(src|href)="https?://', html), "docs page must not load anything off-host"
    css = api.get(re.search(r'href="(/static/[^"]+\.css)"', html).group(1))
    css.close()
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_docs_page_sends_anonymous_browsers_to_sign_in(api: Api) -> None:
    response = api.get("/api/docs", as_=None)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/api/docs")
    signin = api.get("/signin", as_=None)
    assert signin.status_code == 200 and "Badge" in signin.get_data(as_text=True)
