"""Offline: with the network cut by Playwright, confirmations wait in IndexedDB with their client
UUID, the screen says how many, and they go out in order when the network is back; what the server
refuses on replay is shown until the operator acknowledges it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.handheld import GTIN, OLGA, OMAR, Ledger, open_task, operator_session, prompt, scan, sign_in, status


def test_confirmations_queue_offline_replay_in_order_and_conflicts_are_shown(new_context: Any,
                                                                              demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    context = new_context()
    page = sign_in(context, OLGA)
    open_task(page, "pick SO-DEMO-1")

    # Line 1: scanned online, confirmed with the network gone.
    scan(page, "AMS-A-01-01")
    scan(page, GTIN["SKU-1002"])
    expect(page.get_by_test_id("quantity")).to_have_value("4")
    context.set_offline(True)
    page.get_by_test_id("confirm").click()
    expect(status(page)).to_have_text("No network: line 1 saved and will be sent.")
    expect(page.get_by_test_id("outbox")).to_have_text("1 waiting to send")
    # The task screen goes on from what it loaded: line 2 is next.
    expect(prompt(page)).to_have_text("Scan bin AMS-A-01-02")
    screenshot(page, "handheld-10-offline-waiting")
    assert ledger.on_hand("SKU-1002", "AMS-PACK-1") == 0, "nothing reached the server"

    context.set_offline(False)
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    expect(status(page)).to_contain_text("Sent: Pick pick SO-DEMO-1 · line 1")
    assert ledger.on_hand("SKU-1002", "AMS-PACK-1") == 4
    assert ledger.on_hand("SKU-1002", "AMS-A-01-01") == 120 - 4

    # Line 2 entirely offline: the scans cannot be looked up, so they are taken as scanned and the
    # server checks them when the confirmation is replayed.
    context.set_offline(True)
    scan(page, "AMS-A-01-02")
    expect(status(page)).to_have_text("Offline: taken as scanned, checked when it is sent.")
    scan(page, GTIN["SKU-1003"])
    expect(page.get_by_test_id("quantity")).to_have_value("6")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("outbox")).to_have_text("1 waiting to send")

    # Meanwhile Omar picks that line on his own device.
    omar, headers = operator_session(demo_server.url, OMAR)
    task = ledger.task("pick SO-DEMO-1")
    answer = omar.post(f"{demo_server.url}/api/v1/tasks/{task['id']}/lines/2/confirm", headers=headers, timeout=10,
                       json={"quantity": 6, "location": "AMS-A-01-02", "item": GTIN["SKU-1003"]})
    assert answer.status_code == 200, answer.text

    # Back online: the replay is refused (the line is done), and Olga is told, not left guessing.
    context.set_offline(False)
    conflicts = page.get_by_test_id("conflicts")
    expect(conflicts).to_be_visible()
    expect(conflicts).to_contain_text("Not accepted by the server")
    expect(conflicts).to_contain_text("line 2")
    expect(conflicts).to_contain_text("Line 2 is done; nothing more to confirm.")
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    screenshot(page, "handheld-11-conflict")
    conflicts.get_by_role("button", name="OK, seen").click()
    expect(conflicts).to_be_hidden()
    # The units were picked once, by Omar.
    assert ledger.on_hand("SKU-1003", "AMS-PACK-1") == 6
    assert page.js_errors == []


def test_the_outbox_survives_a_reload_and_replays_with_the_same_key(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    context = new_context()
    page = sign_in(context, OLGA)
    open_task(page, "putaway AMS")
    scan(page, GTIN["SKU-1007"])
    scan(page, "AMS-P-04")
    context.set_offline(True)
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("outbox")).to_have_text("1 waiting to send")
    key = page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('warehouse-handheld');
        open.onsuccess = () => {
            const get = open.result.transaction('outbox').objectStore('outbox').getAll();
            get.onsuccess = () => resolve(get.result.map((entry) => entry.key));
        };
    })""")
    assert len(key) == 1 and len(key[0]) == 36, key

    # The battery is swapped (the page reloads) before the network is back: the entry is still there.
    unreachable = {"confirm": True}  # the network is back, but the server still cannot be reached

    def gate(route: Any) -> None:
        if unreachable["confirm"]:
            route.abort()
        else:
            route.fallback()

    page.route("**/api/v1/tasks/*/lines/*/confirm", gate)
    context.set_offline(False)
    page.reload()
    expect(page.get_by_test_id("task-screen")).to_be_visible()
    expect(page.get_by_test_id("outbox")).to_have_text("1 waiting to send")
    unreachable["confirm"] = False
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    assert ledger.on_hand("SKU-1007", "AMS-P-04") == 72
    # The server stored the answer under the client's key: sending it again changes nothing.
    session, headers = operator_session(demo_server.url, OLGA)
    task = ledger.task("putaway AMS")
    again = session.post(f"{demo_server.url}/api/v1/tasks/{task['id']}/lines/1/confirm", timeout=10,
                         headers={**headers, "Idempotency-Key": key[0]},
                         json={"quantity": 24, "location": "AMS-P-04", "item": GTIN["SKU-1007"],
                               "device": page.evaluate("localStorage.getItem('handheld.device')")})
    assert again.headers.get("Idempotent-Replayed") == "true", again.text
    assert ledger.on_hand("SKU-1007", "AMS-P-04") == 72


def test_a_reload_without_network_still_opens_the_app_and_it_resumes_when_the_network_returns(
        new_context: Any, demo_server: Any) -> None:
    context = new_context(service_workers="allow")
    page = sign_in(context, OLGA)
    assert page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.active.state)") \
        == "activated"
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    context.set_offline(True)
    page.reload()  # a dead spot in the aisle, and the page reloads
    expect(status(page)).to_have_text("No network: cannot check your sign-in.")
    expect(page.get_by_test_id("task-list")).to_be_hidden()
    screenshot(page, "handheld-13-offline-reload")

    context.set_offline(False)  # back in coverage: the session is checked again and the work goes on
    expect(page.get_by_test_id("task-list")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_text("Olga Operator")
    assert page.js_errors == []
