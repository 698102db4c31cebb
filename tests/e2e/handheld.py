"""What the handheld tests share: signing in, scanning like a keyboard-wedge scanner, and reading
the ledger back over HTTP the way any client would."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Page, expect

from warehouse.demo import DEMO_ADMIN_TOKEN, _gtin13

GS = "\x1d"  # ASCII 29, the GS1 field separator a scanner sends for FNC1
OLGA = ("OP-1001", "1234")
OMAR = ("OP-1002", "5678")  # his locale is "de"

# The demo catalog's GTIN-13s by SKU (warehouse/demo.py: body 8712345000NN + check digit).
GTIN = {f"SKU-100{n}": _gtin13(f"87123450000{n}") for n in range(1, 9)}


def gs1_label(gtin13: str, *, lot: str, expiry_yymmdd: str) -> str:
    """A GS1-128 label as a wedge scanner types it: AIM ]C1, (01) GTIN-14, (10) lot, GS, (17) expiry.
    The lot is variable length, so a GS must end it before the next element."""
    return f"]C101{gtin13.zfill(14)}10{lot}{GS}17{expiry_yymmdd}"


def sign_in(context: Any, badge_pin: tuple[str, str], *, language: str = "en") -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto("/")
    badge = page.get_by_test_id("badge")
    expect(badge).to_be_focused()
    # A badge scan is a wedge scan too: the code and Enter, then the PIN on the keypad.
    page.keyboard.type(badge_pin[0])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("pin")).to_be_focused()
    page.keyboard.type(badge_pin[1])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("task-list")).to_be_visible()
    expect(page.get_by_test_id("language")).to_have_text(language.upper())
    return page


def scan(page: Page, raw: str, *, how: str = "type", terminator: str = "Enter") -> None:
    """Scan into the focused scan field: per-key typing (most wedge scanners), or the whole text in one
    insert (Android DataWedge in IME mode, a paste), then the scanner's suffix key."""
    expect(page.get_by_test_id("scan")).to_be_focused()
    if how == "type":
        page.keyboard.type(raw)
    else:
        page.keyboard.insert_text(raw)
    page.keyboard.press(terminator)


def prompt(page: Page) -> Any:
    return page.get_by_test_id("prompt")


def status(page: Page) -> Any:
    return page.get_by_test_id("status")


def key_in(page: Page, quantity: int) -> None:
    """Enter a quantity on the on-screen keypad (clearing what was there)."""
    expect(page.get_by_test_id("key-C")).to_be_visible()
    page.get_by_test_id("key-C").click()
    for digit in str(quantity):
        page.get_by_test_id(f"key-{digit}").click()
    expect(page.get_by_test_id("quantity")).to_have_value(str(quantity))


def open_task(page: Page, reference: str, *, verify: bool = False) -> None:
    group = page.get_by_test_id("group-verify") if verify else page.get_by_test_id("task-list")
    group.get_by_role("button", name=reference).first.click()
    expect(page.get_by_test_id("task-screen")).to_be_visible()


class Ledger:
    """The service's own API, as the admin token sees it."""

    def __init__(self, url: str) -> None:
        self.url = url + "/api/v1"
        self.headers = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}

    def get(self, path: str) -> Any:
        response = requests.get(self.url + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def on_hand(self, sku: str, location: str, lot: str | None = None) -> int:
        rows = self.get(f"/stock?sku={sku}&location={location}")
        return sum(row["on_hand"] for row in rows if lot is None or row.get("lot") == lot)

    def task(self, reference: str) -> dict[str, Any]:
        (task,) = [task for task in self.get("/tasks?per_page=500") if task["reference"] == reference]
        return task


def operator_session(url: str, badge_pin: tuple[str, str]) -> tuple[requests.Session, dict[str, str]]:
    """Another operator working on their own device, through the same API."""
    session = requests.Session()
    answer = session.post(f"{url}/api/v1/auth/login/badge", json={"badge": badge_pin[0], "pin": badge_pin[1]},
                          timeout=10)
    assert answer.status_code == 200, answer.text
    return session, {"X-CSRF-Token": answer.json()["csrf_token"]}
