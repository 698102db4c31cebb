"""The handheld scanner app in a real browser at 360x640: signing in, and every floor workflow with the
demo data, driven by keyboard-wedge scans as an operator's scanner types them. What is checked is what
the operator sees and what the ledger holds afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.handheld import (
    GTIN,
    OLGA,
    OMAR,
    Ledger,
    gs1_label,
    key_in,
    open_task,
    operator_session,
    prompt,
    scan,
    sign_in,
    status,
)


def test_sign_in_with_badge_and_pin_then_tasks_by_workflow_and_language(new_context: Any, demo_server: Any) -> None:
    context = new_context()
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "handheld-01-sign-in")

    # A wrong PIN: the server's reason, and nobody is signed in.
    expect(page.get_by_test_id("badge")).to_be_focused()
    page.keyboard.type("OP-1001")
    page.keyboard.press("Enter")
    page.keyboard.type("9999")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Unknown badge or wrong PIN")
    expect(page.get_by_test_id("task-list")).to_have_count(0)
    page.close()

    page = sign_in(context, OLGA)
    tasks = page.get_by_test_id("task-list")
    for group, reference in [("receiving", "ASN-DEMO-1"), ("putaway", "putaway AMS"), ("picking", "pick SO-DEMO-1"),
                             ("counting", "Cycle count"), ("returns", "RMA-DEMO-1")]:
        expect(tasks.get_by_test_id(f"group-{group}")).to_contain_text(reference)
    expect(page.get_by_test_id("who")).to_have_text("Olga Operator")
    # The scan field is there and has the focus, ready for the scanner.
    expect(page.get_by_test_id("scan")).to_be_focused()
    screenshot(page, "handheld-02-tasks")

    # Scanning a bin narrows the list to the tasks there.
    scan(page, "AMS-A-02-01")
    expect(tasks).to_contain_text("Tasks for AMS-A-02-01")
    expect(tasks.get_by_test_id("group-counting")).to_be_visible()
    expect(tasks.get_by_test_id("group-receiving")).to_have_count(0)
    tasks.get_by_role("button", name="Show all tasks").click()
    expect(tasks.get_by_test_id("group-receiving")).to_be_visible()

    # Her language is hers: switched here, kept by the server for her next sign-in anywhere.
    page.get_by_test_id("language").click()
    expect(page.get_by_test_id("language")).to_have_text("DE")
    expect(tasks).to_contain_text("Wareneingang")
    assert Ledger(demo_server.url).get("/users/olga")["locale"] == "de"
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_test_id("badge")).to_be_focused()
    page = sign_in(context, OLGA, language="de")
    expect(page.get_by_test_id("task-list")).to_contain_text("Kommissionieren")
    assert page.js_errors == []


def test_full_receive_with_wedge_scans_verified_by_a_second_operator(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    olga = sign_in(new_context(), OLGA)
    open_task(olga, "ASN-DEMO-1")
    expect(prompt(olga)).to_have_text("Scan bin AMS-DOCK-1")
    expect(olga.get_by_test_id("expected")).to_have_text("Expected: 24")
    screenshot(olga, "handheld-03-receive-scan-bin")

    # The wrong bin is refused with the reason, and the prompt stays.
    scan(olga, "AMS-A-01-01")
    expect(status(olga)).to_have_text("Wrong bin: scanned AMS-A-01-01, go to AMS-DOCK-1.")
    expect(prompt(olga)).to_have_text("Scan bin AMS-DOCK-1")

    # Line 1, typed key by key: the dock, then the GS1-128 case label with ]C1 and a GS after the lot.
    scan(olga, "AMS-DOCK-1")
    expect(prompt(olga)).to_have_text("Scan Vitamin D3 tablets, 90")
    scan(olga, gs1_label(GTIN["SKU-1004"], lot="VD-2501", expiry_yymmdd="280131"))
    expect(olga.get_by_test_id("check-lot")).to_contain_text("VD-2501 · 2028-01-31")
    expect(prompt(olga)).to_have_text("Count and enter the quantity")
    key_in(olga, 24)
    screenshot(olga, "handheld-04-receive-quantity")
    olga.get_by_test_id("confirm").click()
    expect(status(olga)).to_have_text("Line 1 confirmed. Waiting for a second person.")

    # Line 2 as one inserted text (IME-style), ended with Tab instead of Enter.
    expect(prompt(olga)).to_have_text("Scan bin AMS-DOCK-1")
    scan(olga, "AMS-DOCK-1", how="insert", terminator="Tab")
    # Switching the language mid-line keeps what was scanned.
    olga.get_by_test_id("language").click()
    expect(prompt(olga)).to_have_text("LED work light scannen")
    olga.get_by_test_id("language").click()
    expect(prompt(olga)).to_have_text("Scan LED work light")
    scan(olga, GTIN["SKU-1006"], how="insert", terminator="Tab")
    olga.get_by_test_id("plus").click()
    expect(olga.get_by_test_id("quantity")).to_have_value("1")
    key_in(olga, 12)
    olga.get_by_test_id("confirm").click()
    expect(status(olga)).to_have_text("Line 2 confirmed. Waiting for a second person.")

    # Line 3: an EAN-13 with its AIM identifier ]E0, typed.
    scan(olga, "AMS-DOCK-1")
    scan(olga, "]E0" + GTIN["SKU-1003"])
    key_in(olga, 48)
    olga.get_by_test_id("confirm").click()
    expect(prompt(olga)).to_have_text("All lines done.")
    assert ledger.on_hand("SKU-1004", "AMS-DOCK-1") == 0, "nothing lands before the second person agrees"

    # Omar, on his own handheld (German), verifies blind: no expected quantity, no first count.
    omar = sign_in(new_context(), OMAR, language="de")
    verify = omar.get_by_test_id("group-verify")
    expect(verify).to_contain_text("Zu prüfen")
    expect(verify).to_contain_text("Zu prüfende Zeilen: 3")
    open_task(omar, "ASN-DEMO-1", verify=True)
    expect(omar.get_by_test_id("expected")).to_have_count(0)
    expect(omar.get_by_test_id("task-screen")).not_to_contain_text("24")
    expect(prompt(omar)).to_have_text("Platz AMS-DOCK-1 scannen")
    scan(omar, "AMS-DOCK-1", how="insert")
    scan(omar, gs1_label(GTIN["SKU-1004"], lot="VD-2501", expiry_yymmdd="280131"), how="insert")
    expect(omar.get_by_test_id("check-lot")).to_contain_text("VD-2501 · 2028-01-31")
    expect(omar.get_by_test_id("quantity")).to_have_value("")
    key_in(omar, 24)
    screenshot(omar, "handheld-05-verify-de")
    omar.get_by_role("button", name="Bestätigen (Prüfung)").click()
    expect(status(omar)).to_have_text("Zeile 1 erledigt.")
    for sku, quantity in (("SKU-1006", 12), ("SKU-1003", 48)):
        scan(omar, "AMS-DOCK-1")
        scan(omar, GTIN[sku])
        key_in(omar, quantity)
        omar.get_by_test_id("confirm").click()
    expect(prompt(omar)).to_have_text("Aufgabe erledigt. Gut gemacht!")

    assert ledger.on_hand("SKU-1004", "AMS-DOCK-1", lot="VD-2501") == 24
    assert ledger.on_hand("SKU-1006", "AMS-DOCK-1") == 12
    assert ledger.on_hand("SKU-1003", "AMS-DOCK-1") == 48
    assert ledger.task("ASN-DEMO-1")["status"] == "done"
    assert olga.js_errors == [] and omar.js_errors == []


def test_full_pick_with_wedge_scans_then_the_pack_check(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    page = sign_in(new_context(), OLGA)
    open_task(page, "pick SO-DEMO-1")

    # Line 1 inserted in one go: the bin, then the item's EAN-13; the quantity to pick is there already.
    expect(prompt(page)).to_have_text("Scan bin AMS-A-01-01")
    scan(page, "AMS-A-01-01", how="insert")
    scan(page, GTIN["SKU-1002"], how="insert")
    expect(page.get_by_test_id("quantity")).to_have_value("4")
    screenshot(page, "handheld-06-pick")
    page.get_by_test_id("confirm").click()
    expect(status(page)).to_have_text("Line 1 done.")

    # Line 2 typed: a GS1-128 with a count (AI 30): the quantity comes from the label.
    expect(prompt(page)).to_have_text("Scan bin AMS-A-01-02")
    scan(page, "AMS-A-01-02")
    scan(page, f"]C101{GTIN['SKU-1003'].zfill(14)}306")
    expect(page.get_by_test_id("quantity")).to_have_value("6")
    page.get_by_test_id("confirm").click()
    expect(status(page)).to_have_text("Line 2 done.")

    # Line 3, the lot-tracked item reserved first-expiry-first-out: a label of another lot is refused
    # by the server, with its reason; the right lot (]C1, lot, GS, expiry; typed) is taken.
    expect(prompt(page)).to_have_text("Scan bin AMS-P-03")
    expect(page.get_by_test_id("line")).to_contain_text("lot VD-2312")
    scan(page, "AMS-P-03")
    scan(page, gs1_label(GTIN["SKU-1004"], lot="VD-2401", expiry_yymmdd="291231"))
    page.get_by_test_id("confirm").click()
    expect(status(page)).to_have_text("Wrong lot: scanned VD-2401, this line is lot VD-2312.")
    expiry = (date.today() + timedelta(days=60)).strftime("%y%m%d")
    scan(page, gs1_label(GTIN["SKU-1004"], lot="VD-2312", expiry_yymmdd=expiry))
    expect(page.get_by_test_id("check-item")).to_contain_text("SKU-1004")
    page.get_by_test_id("confirm").click()
    expect(prompt(page)).to_have_text("Task finished. Well done!")
    assert ledger.on_hand("SKU-1002", "AMS-PACK-1") == 4
    assert ledger.on_hand("SKU-1003", "AMS-PACK-1") == 6
    assert ledger.on_hand("SKU-1004", "AMS-PACK-1", lot="VD-2312") == 6

    # The finished pick became a pack check at the station.
    page.get_by_test_id("back").click()
    packing = page.get_by_test_id("group-packing")
    expect(packing).to_be_visible()
    packing.get_by_role("button").first.click()
    for _ in range(3):
        expect(prompt(page)).to_have_text("Scan bin AMS-PACK-1")
        scan(page, "AMS-PACK-1")
        sku = page.get_by_test_id("line").locator(".item-code").inner_text().split(" ")[0]
        scan(page, GTIN[sku])
        page.get_by_test_id("confirm").click()
    expect(prompt(page)).to_have_text("Task finished. Well done!")
    assert page.js_errors == []


def test_blind_count_by_two_counters(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    for who, language in ((OLGA, "en"), (OMAR, "de")):
        page = sign_in(new_context(), who, language=language)
        open_task(page, "Cycle count", verify=who is OMAR)
        screen = page.get_by_test_id("task-screen")
        # Counters never see the system quantity (60).
        expect(page.get_by_test_id("expected")).to_have_count(0)
        expect(screen).not_to_contain_text("60")
        scan(page, "AMS-A-02-01")
        scan(page, GTIN["SKU-1006"])
        if who is OLGA:
            expect(prompt(page)).to_have_text("Count and enter the quantity")
            screenshot(page, "handheld-07-count")
        key_in(page, 60)
        page.get_by_test_id("confirm").click()
        # The empty bin: scan it, confirm 0.
        expect(page.get_by_test_id("line")).to_contain_text("AMS-P-06")
        scan(page, "AMS-P-06")
        key_in(page, 0)
        page.get_by_test_id("confirm").click()
        expect(prompt(page)).to_have_text("All lines done." if who is OLGA else "Aufgabe erledigt. Gut gemacht!")
        assert page.js_errors == []
    task = ledger.task("Cycle count AMS-A-02-01, AMS-P-06")
    assert task["status"] == "done"
    assert [line["status"] for line in task["lines"]] == ["done", "done"]
    assert ledger.on_hand("SKU-1006", "AMS-A-02-01") == 60


def test_return_graded_by_two_people_goes_to_quarantine(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    for who, language, grade in ((OLGA, "en", "Damaged"), (OMAR, "de", "Beschädigt")):
        page = sign_in(new_context(), who, language=language)
        open_task(page, "RMA-DEMO-1", verify=who is OMAR)
        scan(page, "AMS-RET-1")
        scan(page, GTIN["SKU-1006"], how="insert")
        key_in(page, 2)
        confirm = page.get_by_test_id("confirm")
        expect(confirm).to_be_disabled()  # a returned unit must be graded first
        page.get_by_role("button", name=grade).click()
        expect(page.get_by_role("button", name=grade)).to_have_attribute("aria-pressed", "true")
        if who is OLGA:
            screenshot(page, "handheld-08-return-grade")
        confirm.click()
        expect(prompt(page)).to_have_text("All lines done." if who is OLGA else "Aufgabe erledigt. Gut gemacht!")
        assert page.js_errors == []
    assert ledger.on_hand("SKU-1006", "AMS-QC-1") == 2
    assert ledger.task("RMA-DEMO-1")["status"] == "done"


def test_putaway_refuses_another_bin_and_moves_the_goods(new_context: Any, demo_server: Any) -> None:
    ledger = Ledger(demo_server.url)
    page = sign_in(new_context(), OLGA)
    open_task(page, "putaway AMS")
    expect(prompt(page)).to_have_text("Scan Packing tape, 6 rolls")
    scan(page, GTIN["SKU-1007"])
    expect(prompt(page)).to_have_text("Scan bin AMS-P-04")
    scan(page, "AMS-A-02-04")
    expect(status(page)).to_have_text("Wrong bin: scanned AMS-A-02-04, go to AMS-P-04.")
    scan(page, "AMS-P-04")
    expect(page.get_by_test_id("quantity")).to_have_value("24")
    screenshot(page, "handheld-09-putaway")
    page.get_by_test_id("confirm").click()
    expect(prompt(page)).to_have_text("Task finished. Well done!")
    assert ledger.on_hand("SKU-1007", "AMS-P-04") == 72
    assert ledger.on_hand("SKU-1007", "AMS-DOCK-1") == 0
    assert page.js_errors == []


def test_a_malformed_scan_shows_the_servers_reason_with_a_buzz_and_red(new_context: Any) -> None:
    context = new_context()
    # Record what the device is asked to do (headless Chromium has no vibration motor).
    context.add_init_script("window.vibrations = []; navigator.vibrate = (p) => { window.vibrations.push(p); return true; };")
    page = sign_in(context, OLGA)
    open_task(page, "pick SO-DEMO-1")
    scan(page, "AMS-A-01-01")
    expect(page.get_by_test_id("check-location")).to_have_class("ok")
    scan(page, "]C1019999")
    expect(status(page)).to_contain_text("does not fit its format")
    expect(status(page)).to_have_class("status error")
    expect(prompt(page)).to_have_text("Scan Drill bit set, 10 pc")
    # A short buzz for the good bin, a long double one for the refused scan.
    assert page.evaluate("window.vibrations")[-2:] == [40, [120, 60, 120]]


def test_wedge_input_keeps_gs_and_aim_and_drops_a_double_scan(new_context: Any) -> None:
    """The scan field's reading rules, checked on the page's own module with a synthetic input."""
    page = new_context().new_page()
    page.goto("/")
    seen = page.evaluate("""async () => {
        const { ScanInput } = await import('/ui/static/handheld/scan-input.js');
        const input = document.createElement('input');
        document.body.append(input);
        const seen = [];
        const reader = new ScanInput(input, (raw) => seen.push(raw));
        const type = (text, key) => {
            input.value = text;
            input.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
        };
        type(']C10108712345000042' + '10VD-2501\\u001d17280131', 'Enter');
        type(']C10108712345000042' + '10VD-2501\\u001d17280131', 'Enter');  // the trigger held too long
        type('AMS-DOCK-1', 'Tab');
        input.value = 'AMS-P-04\\t';  // a scanner that sends its suffix as a character
        input.dispatchEvent(new Event('input'));
        return { seen, left: input.value };
    }""")
    assert seen == {"seen": ["]C1010871234500004210VD-2501\x1d17280131", "AMS-DOCK-1", "AMS-P-04"], "left": ""}


def test_work_to_verify_appears_on_the_task_list_live(new_context: Any, demo_server: Any) -> None:
    olga = sign_in(new_context(), OLGA)
    expect(olga.get_by_test_id("group-receiving")).to_be_visible()
    expect(olga.get_by_test_id("group-verify")).to_have_count(0)
    # Omar counts a receipt line on his device; Olga's list offers it for verification without a refresh.
    omar, headers = operator_session(demo_server.url, OMAR)
    task = Ledger(demo_server.url).task("ASN-DEMO-1")
    answer = omar.post(f"{demo_server.url}/api/v1/tasks/{task['id']}/lines/2/confirm", headers=headers, timeout=10,
                       json={"quantity": 12, "location": "AMS-DOCK-1", "item": GTIN["SKU-1006"]})
    assert answer.status_code == 200 and answer.json()["waiting_for_second_person"], answer.text
    verify = olga.get_by_test_id("group-verify")
    expect(verify).to_contain_text("ASN-DEMO-1")
    expect(verify).to_contain_text("Lines to verify: 1")
    open_task(olga, "ASN-DEMO-1", verify=True)
    expect(olga.get_by_test_id("line")).to_contain_text("SKU-1006")
    assert olga.js_errors == []


def test_goods_nobody_announced_get_a_line_of_their_own(new_context: Any, demo_server: Any) -> None:
    page = sign_in(new_context(), OLGA)
    open_task(page, "ASN-DEMO-1")
    scan(page, "AMS-DOCK-1")
    scan(page, GTIN["SKU-1008"])  # hand sanitiser: not on this receipt
    expect(status(page)).to_have_text("Wrong item: scanned SKU-1008 Hand sanitiser 500 ml, this line is SKU-1004.")
    page.get_by_test_id("add-unexpected").click()
    expect(status(page)).to_have_text("SKU-1008 added as line 4.")
    expect(page.get_by_test_id("line")).to_contain_text("Hand sanitiser 500 ml")
    expect(page.get_by_test_id("check-item")).to_contain_text("SKU-1008")
    # Lot-tracked with expiry: asked for, typed by hand.
    expect(prompt(page)).to_have_text("Scan the label, or enter lot and expiry")
    page.get_by_test_id("lot").fill("HS-1101")
    page.get_by_test_id("expiry").fill("2027-11-30")
    expect(page.get_by_test_id("check-lot")).to_contain_text("HS-1101 · 2027-11-30")
    expect(prompt(page)).to_have_text("Count and enter the quantity")
    key_in(page, 5)
    page.get_by_test_id("confirm").click()
    expect(status(page)).to_have_text("Line 4 confirmed. Waiting for a second person.")
    lines = Ledger(demo_server.url).task("ASN-DEMO-1")["lines"]
    assert [(line["sku"], line["status"]) for line in lines][3] == ("SKU-1008", "awaiting_verification")
    assert page.js_errors == []
