"""The supervisor dashboard in a real browser: sign in with password + TOTP, then watch stock,
the feed, the review queue and the floor change live while operators work through the API; decide
a discrepancy from the drawer; lose the network and get exactly what was missed on return."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pyotp
import pytest

from tests.e2e.conftest import DemoServer, screenshot
from warehouse.demo import DEMO_ADMIN_TOKEN

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1400, "height": 900}


def call(server: DemoServer, method: str, path: str, body: Any = None, token: str = DEMO_ADMIN_TOKEN) -> Any:
    """The API from outside the browser, as another person on another device would use it."""
    request = urllib.request.Request(server.url + "/api/v1" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def token_for(server: DemoServer, username: str) -> str:
    return call(server, "POST", "/tokens", {"user": username, "name": "e2e handheld"})["token"]


def adjust(server: DemoServer, sku: str, location: str, quantity: int, reason: str) -> int:
    return call(server, "POST", "/stock/adjustments",
                {"sku": sku, "location": location, "quantity": quantity, "reason": reason})["seq"]


def sign_in_as_supervisor(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/signin\?next=/dashboard"))
    page.get_by_role("tab", name="Password").click()
    page.fill("#password-form [name=username]", "sam")
    page.fill("#password-form [name=password]", "supervisor-demo")
    page.click("#password-form button[type=submit]")
    secret = page.locator("#enrol-secret")
    expect(secret).not_to_be_empty()
    page.fill("#enrol-form [name=code]", pyotp.TOTP(secret.inner_text().strip()).now())
    page.click("#enrol-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def stock_cell(page: Any, location: str, sku: str, lot: str = "", column: str = "on_hand") -> Any:
    return page.locator(f'#stock-table tr[data-key="{location}|{sku}|{lot}"] td[data-col={column}]')


def test_dashboard_follows_the_floor_live_and_decides_discrepancies(new_context: Any, demo_server: DemoServer) -> None:
    from playwright.sync_api import expect

    context = new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in_as_supervisor(page)

    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "live")
    expect(page.locator("#header, .who")).to_contain_text("Sam Supervisor")
    expect(stock_cell(page, "AMS-P-02", "SKU-1003")).to_have_text("96")
    expect(stock_cell(page, "BER-P-02", "SKU-1003")).to_have_text("144")

    # Narrow to Amsterdam: the client subscribes to AMS only; Berlin rows leave the table.
    page.select_option("#warehouse-filter", "AMS")
    expect(stock_cell(page, "BER-P-02", "SKU-1003")).to_have_count(0)
    expect(connection).to_have_attribute("data-state", "live")

    # A supervisor elsewhere writes off two torn pairs: the row and the feed change without reload.
    seq = adjust(demo_server, "SKU-1003", "AMS-P-02", -2, "torn packaging")
    expect(stock_cell(page, "AMS-P-02", "SKU-1003")).to_have_text("94")
    expect(stock_cell(page, "AMS-P-02", "SKU-1003", column="available")).to_have_text("94")
    entry = page.locator(f"#feed-list li[data-seq='{seq}']")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("torn packaging")
    expect(entry).to_contain_text("Alex Admin")
    # A Berlin change is not this view's business.
    berlin = adjust(demo_server, "SKU-1003", "BER-P-02", -1, "berlin only")
    later = adjust(demo_server, "SKU-1003", "AMS-P-02", -1, "after berlin")
    expect(stock_cell(page, "AMS-P-02", "SKU-1003")).to_have_text("93")
    expect(page.locator(f"#feed-list li[data-seq='{berlin}']")).to_have_count(0)
    expect(page.locator(f"#feed-list li[data-seq='{later}']")).to_have_count(1)

    # Two operators receive a line on their handhelds (four eyes): stock lands on the dock live,
    # the feed names the task, and the floor shows who is on it.
    olga, omar = token_for(demo_server, "olga"), token_for(demo_server, "omar")
    receipt = call(demo_server, "POST", "/receipts", {"reference": "ASN-E2E", "warehouse": "AMS", "lines": [
        {"sku": "SKU-1006", "quantity": 5}, {"sku": "SKU-1007", "quantity": 2}]})
    line = f"/tasks/{receipt['id']}/lines/1/confirm"
    call(demo_server, "POST", line, {"quantity": 5, "location": "AMS-DOCK-1", "item": "SKU-1006"}, token=olga)
    call(demo_server, "POST", line, {"quantity": 5, "location": "AMS-DOCK-1", "item": "SKU-1006"}, token=omar)
    expect(stock_cell(page, "AMS-DOCK-1", "SKU-1006")).to_have_text("5")
    expect(page.locator("#feed-list li").first).to_contain_text(f"task #{receipt['id']}")
    floor_task = f"li.task[data-task='{receipt['id']}']"
    expect(page.locator("#floor-list " + floor_task)).to_contain_text("ASN-E2E")
    expect(page.locator("#floor-list .person", has=page.locator(floor_task))).to_contain_text("Omar Operator")
    expect(page.locator("#chart-lines")).to_have_attribute("data-series", re.compile("receiving"))

    # A blind count where both counters find 470 of the 480 the system expects: a discrepancy
    # opens, reaches the queue live, and is approved from the drawer; the stock follows.
    count = call(demo_server, "POST", "/count-tasks", {"warehouse": "AMS", "locations": ["AMS-A-01-02"]})
    for token in (olga, omar):
        call(demo_server, "POST", f"/tasks/{count['id']}/lines/1/confirm",
             {"quantity": 470, "location": "AMS-A-01-02", "item": "SKU-1003"}, token=token)
    card = page.locator("#queue-list li").filter(has_text="AMS-A-01-02")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("SKU-1003")
    card.get_by_role("button").click()
    drawer = page.locator("#drawer")
    expect(drawer).to_be_visible()
    expect(drawer.locator(".facts")).to_contain_text("480")
    expect(drawer.locator(".facts")).to_contain_text("470")
    expect(drawer).to_contain_text("Olga Operator")
    expect(drawer).to_contain_text("Omar Operator")
    screenshot(page, "dashboard-discrepancy-drawer")
    drawer.locator("#reason-code").select_option("count_correction")
    drawer.locator("#reason").fill("Ten pairs found torn and binned")
    drawer.get_by_role("button", name="Approve").click()
    expect(drawer).to_be_hidden()
    expect(card).to_have_count(0)
    expect(stock_cell(page, "AMS-A-01-02", "SKU-1003")).to_have_text("470")
    expect(page.locator("#banner")).to_contain_text("approved")

    # The network drops; meanwhile someone writes off stock; on return the dashboard catches up
    # from the change feed and applies that change exactly once.
    context.set_offline(True)
    expect(connection).to_have_attribute("data-state", "reconnecting")
    missed = adjust(demo_server, "SKU-1003", "AMS-P-02", -5, "missed while offline")
    context.set_offline(False)
    expect(connection).to_have_attribute("data-state", "live")
    expect(stock_cell(page, "AMS-P-02", "SKU-1003")).to_have_text("88")
    expect(page.locator(f"#feed-list li[data-seq='{missed}']")).to_have_count(1)
    # And live again afterwards, still counting that change once.
    after = adjust(demo_server, "SKU-1003", "AMS-P-02", 1, "found one")
    expect(page.locator(f"#feed-list li[data-seq='{after}']")).to_have_count(1)
    expect(stock_cell(page, "AMS-P-02", "SKU-1003")).to_have_text("89")
    assert call(demo_server, "GET", "/stock?location=AMS-P-02&sku=SKU-1003")[0]["on_hand"] == 89

    screenshot(page, "dashboard")
    # Every text went through the dictionaries: no raw "panel.key" left anywhere on the page.
    assert not re.search(r"\b(app|header|live|stock|queue|feed|floor|charts|drawer|common)\.[a-z_]+\b",
                         page.locator("body").inner_text())
    assert errors == []


def test_the_drawer_shows_why_the_server_refuses_a_decision(new_context: Any, demo_server: DemoServer) -> None:
    from playwright.sync_api import expect

    page = new_context(viewport=DESKTOP).new_page()
    sign_in_as_supervisor(page)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    # Sam counts the bin himself with Omar: four eyes means Sam may not approve what he counted.
    sam, omar = token_for(demo_server, "sam"), token_for(demo_server, "omar")
    count = call(demo_server, "POST", "/count-tasks", {"warehouse": "BER", "locations": ["BER-P-01"]})
    for token in (sam, omar):
        call(demo_server, "POST", f"/tasks/{count['id']}/lines/1/confirm",
             {"quantity": 17, "location": "BER-P-01", "item": "SKU-1006"}, token=token)
    card = page.locator("#queue-list li").filter(has_text="BER-P-01")
    card.get_by_role("button").click()
    drawer = page.locator("#drawer")
    expect(drawer.locator(".warning")).to_contain_text("another supervisor must decide")
    drawer.locator("#reason").fill("looks right to me")
    drawer.get_by_role("button", name="Approve").click()
    expect(drawer.locator("#drawer-error")).to_contain_text("Four eyes")
    expect(drawer).to_be_visible()
    expect(card).to_have_count(1)

    # Someone else (the admin) rejects it meanwhile: it leaves the queue and the drawer says so.
    discrepancy = call(demo_server, "GET", "/discrepancies?status=open&warehouse=BER")[0]["id"]
    call(demo_server, "POST", f"/discrepancies/{discrepancy}/reject", {"reason": "recount next week"})
    expect(card).to_have_count(0)
    expect(drawer.locator("#drawer-error")).to_contain_text("Already decided: rejected")
    expect(drawer.get_by_role("button", name="Approve")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(stock_cell(page, "BER-P-01", "SKU-1006")).to_have_text("18")


def test_dashboard_speaks_the_supervisors_language(new_context: Any, demo_server: DemoServer) -> None:
    from playwright.sync_api import expect

    call(demo_server, "PATCH", "/users/sam", {"locale": "de"})
    page = new_context(viewport=DESKTOP).new_page()
    sign_in_as_supervisor(page)
    expect(page.locator("#stock-title")).to_have_text("Bestände")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#connection-text")).to_have_text("Live")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#charts-title")).to_have_text("Durchsatz heute")
    screenshot(page, "dashboard-de")


def test_operators_are_told_the_dashboard_is_not_for_them(new_context: Any, demo_server: DemoServer) -> None:
    from playwright.sync_api import expect

    page = new_context(viewport=DESKTOP).new_page()
    page.goto("/signin?next=/dashboard")
    page.fill("#badge-form [name=badge]", "OP-1001")
    page.fill("#badge-form [name=pin]", "1234")
    with page.expect_response(re.compile(r"/dashboard$")) as answer:
        page.click("#badge-form button[type=submit]")
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    expect(page.get_by_role("link", name="Open the handheld app")).to_have_attribute("href", "/")
    expect(page.locator("#stock-table")).to_have_count(0)
