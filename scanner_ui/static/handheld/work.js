// One task, line by line: prompt for the next scan, take the scans, the quantity (and lot, grade),
// and confirm the line. The same screen verifies ("verify" mode): the second person goes through
// the same steps blind, never shown the first person's numbers nor the expected quantity.
//
// Every scan is resolved by the server (/scans/resolve) to know what it is: a bin, an item, a GS1
// label whose lot, expiry and quantity fill the fields. Without network a scan is taken as what the
// current step asks for and the confirmation waits in the outbox; the server checks it on replay.

import { ApiError, api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { h, replace } from "./dom.js";
import { bad, done, good } from "./feedback.js";
import { uuid } from "./queue.js";
import { verifyLines, workLines } from "./tasklist.js";
import {
  GRADES, addsUnexpectedLines, allowsZeroWithoutItem, binOf, prefilledQuantity, showsExpected, stepsFor,
} from "./workflows.js";

const MAX_QUANTITY = 1_000_000_000;

function freshEntry(workflow, mode, line) {
  return {
    location: null, // { raw, code, unchecked }
    item: null, // { raw, sku, name, unchecked }
    lot: "", expiry: "", knownLot: false,
    quantity: prefilledQuantity(workflow, mode, line),
    grade: null,
    zero: false, // "bin is empty" / "nothing arrived": quantity 0, no item
  };
}

export function showTask(app, main, { taskId, mode }) {
  let task = app.tasks.get(taskId) || null;
  let queued = new Set(); // line numbers of this task waiting in the outbox
  let lines = [];
  let index = 0;
  let line = null;
  let entry = null;
  let itemInfo = null; // the catalog record of the line's item (lot tracking, expiry)
  let offer = null; // an action the last scan suggested (add an unexpected item)
  let busy = false;
  let finished = null; // the message once no line is left for this operator
  let left = false;

  const workflow = () => task.workflow;

  // ---------------------------------------------------------------- which lines, which step

  function eligible() {
    const list = mode === "verify" ? verifyLines(task, app.me) : workLines(task);
    return list.filter((l) => !queued.has(l.line_no));
  }

  function steps() {
    return stepsFor(workflow(), line, itemInfo);
  }

  function stepDone(step) {
    switch (step.kind) {
      case "location": return Boolean(entry.location);
      case "item": return Boolean(entry.item) || entry.zero;
      case "lot": {
        if (entry.zero) return true;
        const needsLot = !itemInfo || itemInfo.tracking !== "none";
        const needsExpiry = itemInfo && itemInfo.expiry_tracked && !entry.knownLot;
        return (!needsLot || Boolean(entry.lot)) && (!needsExpiry || Boolean(entry.expiry));
      }
      default: return false; // quantity and grade are answered on the final panel with Confirm
    }
  }

  // The next scan (or lot entry) the line needs; null once only the quantity (and grade) are left.
  function currentStep() {
    return steps().find((step) => ["location", "item", "lot"].includes(step.kind) && !stepDone(step)) || null;
  }

  async function selectLine(next, keep = {}) {
    line = next;
    entry = { ...freshEntry(workflow(), mode, line), ...keep };
    offer = null;
    itemInfo = null;
    render();
    main.scrollTop = 0; // a new line starts at its prompt
    if (["receiving", "returns"].includes(workflow()) && line.sku) {
      const sku = line.sku;
      const info = await app.item(sku);
      if (line && line.sku === sku && !left) { itemInfo = info; render(); }
    }
  }

  function moveTo(position) {
    lines = eligible();
    if (!lines.length) {
      line = null;
      render();
      return Promise.resolve();
    }
    index = (position + lines.length) % lines.length;
    return selectLine(lines[index]);
  }

  // ---------------------------------------------------------------- scans

  // Scans and confirmations are handled one at a time, in the order they happened: a scan made while
  // a confirmation is still on its way belongs to the next line and must neither be lost nor
  // overtake it (nor may an item scan be resolved before the bin scanned just before it).
  let chain = Promise.resolve();
  function inOrder(work) {
    chain = chain.then(work).catch((error) => {
      bad();
      app.status(String(error && error.message ? error.message : error), "error");
    });
    return chain;
  }

  function onScan(raw) {
    return inOrder(() => handleScan(raw));
  }

  async function handleScan(raw) {
    if (!line || left) return;
    let scan = null;
    try {
      scan = await api("POST", "/scans/resolve", { raw, device: app.device, context: workflow() });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) return signedOut();
      if (!error.offline) {
        bad();
        app.status(t("scan.refused", { reason: error.message }), "error");
        return;
      }
    }
    if (!line || left) return;
    if (scan === null) takeUnresolved(raw);
    else takeResolved(raw, scan);
    render();
  }

  // Offline: the scan fills whatever the current step asks for, unchecked; the server checks it
  // when the confirmation is sent.
  function takeUnresolved(raw) {
    const step = currentStep();
    if (step && step.kind === "location") entry.location = { raw, code: raw, unchecked: true };
    else if (step && step.kind === "item") entry.item = { raw, sku: raw, name: "", unchecked: true };
    else { bad(); app.status(t("scan.offline_not_needed"), "error"); return; }
    good();
    app.status(t("scan.offline_unchecked"), "info");
  }

  function takeResolved(raw, scan) {
    offer = null;
    if (scan.kind === "location" && scan.location) return takeBin(raw, scan.location.code);
    if (scan.item) return takeItem(raw, scan);
    bad();
    if (scan.kind === "badge") app.status(t("scan.badge_here"), "error");
    else if (scan.kind === "sscc") app.status(t("scan.sscc_here", { sscc: scan.sscc }), "error");
    else app.status(t("scan.unknown", { code: scan.normalized || raw }), "error");
  }

  function takeBin(raw, code) {
    const expected = binOf(workflow(), line);
    if (code !== expected) {
      // Another line of this task in that bin is where the operator actually is: go there.
      const there = eligible().find((l) => binOf(workflow(), l) === code);
      if (there && workflow() !== "receiving") {
        good();
        app.status(t("scan.switched_line", { line: there.line_no }), "info");
        index = lines.indexOf(there);
        selectLine(there, { location: { raw, code } });
        return;
      }
      bad();
      app.status(t("scan.wrong_bin", { scanned: code, expected }), "error");
      return;
    }
    entry.location = { raw, code };
    good();
    app.status("");
  }

  function takeItem(raw, scan) {
    const sku = scan.item.sku;
    const plain = Object.keys(scan.elements || {}).every((ai) => ai === "01"); // no lot, date or count on it
    if (line.sku && sku === line.sku && entry.item && !entry.item.unchecked && currentStep() === null && plain) {
      // Item already scanned: each further scan of it counts one more unit (or one more case).
      entry.quantity = Math.min(MAX_QUANTITY, (entry.quantity || 0) + (scan.quantity || 1));
      good();
      app.status(t("scan.added", { count: scan.quantity || 1 }), "ok");
      return;
    }
    if (sku !== line.sku) {
      const other = eligible().find((l) => l.sku === sku && (workflow() === "receiving" || !entry.location
        || binOf(workflow(), l) === entry.location.code));
      if (other) {
        // The operator has another line's goods in hand: go to that line and take the scan there
        // (a receipt's or a count's bin scan is the same for both lines, so it is kept).
        index = lines.indexOf(other);
        selectLine(other, workflow() === "receiving" || workflow() === "counting" ? { location: entry.location } : {});
        takeItem(raw, scan);
        app.status(t("scan.switched_line", { line: other.line_no }), "info");
        return;
      }
      bad();
      app.status(t("scan.wrong_item", { scanned: `${sku} ${scan.item.name}`, expected: line.sku || t("line.empty_bin") }), "error");
      if (addsUnexpectedLines(workflow()) && mode === "work") offer = { sku, name: scan.item.name, raw, scan };
      return;
    }
    entry.item = { raw, sku, name: scan.item.name };
    entry.zero = false;
    const elements = scan.elements || {};
    if (elements["10"]) entry.lot = elements["10"];
    if (scan.expiry) entry.expiry = scan.expiry;
    if (scan.lot) {
      entry.knownLot = true;
      if (!entry.expiry && scan.lot.expiry) entry.expiry = scan.lot.expiry;
    }
    // A case label or a GS1 count (AI 30/37) says how many units it stands for; a single unit's
    // barcode does not, and the quantity is counted instead.
    if (scan.quantity && ("30" in elements || "37" in elements || (scan.item.pack_level && scan.item.pack_level !== "each"))) {
      entry.quantity = scan.quantity;
    }
    good();
    app.status("");
  }

  async function addUnexpected() {
    const { sku, raw, scan } = offer;
    offer = null;
    const path = workflow() === "receiving" ? `/receipts/${task.id}/lines` : `/count-tasks/${task.id}/lines`;
    const body = workflow() === "receiving" ? { sku }
      : { sku, location: entry.location ? entry.location.code : line.location, ...(scan.elements && scan.elements["10"] ? { lot: scan.elements["10"] } : {}) };
    try {
      const added = await api("POST", path, body, { idempotencyKey: uuid() });
      task.lines.push(added);
      app.rememberTask(task);
      good();
      lines = eligible();
      index = lines.indexOf(added);
      const where = entry.location;
      await selectLine(added, { location: where });
      takeItem(raw, scan);
      app.status(t("line.added", { sku, line: added.line_no }), "ok");
      render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      bad();
      app.status(error.offline ? t("offline.action") : error.message, "error");
      render();
    }
  }

  // The shift's sign-in ended (or an admin ended it): what was confirmed is in the outbox and goes
  // out once the same person signs in again.
  function signedOut() {
    app.forget();
    app.status(t("session.expired"), "error");
  }

  // ---------------------------------------------------------------- confirming

  function confirmBody() {
    const body = { quantity: entry.quantity ?? 0, device: app.device };
    if (entry.location) body.location = entry.location.raw;
    if (entry.item && !entry.zero) body.item = entry.item.raw;
    if (!entry.zero && entry.lot) body.lot = entry.lot;
    if (!entry.zero && entry.expiry) body.expiry = entry.expiry;
    if (workflow() === "returns" && body.quantity > 0) body.grade = entry.grade;
    return body;
  }

  function label() {
    return `${t("workflow." + workflow())} ${task.reference || task.id} · ${t("line.number", { line: line.line_no })}`
      + ` · ${line.sku || t("line.empty_bin")} · ${entry.quantity ?? 0}`;
  }

  function confirm() {
    if (busy) return chain;
    busy = true; // set now, so a second tap while the first is queued does not confirm twice
    // Until the answer is in, this line's quantity and grade are what is being sent: taps on its
    // keypad must not change them (nor count towards the next line).
    for (const control of main.querySelectorAll(".keypad button, .qty-row button, .grades button, #quantity, #confirm")) {
      control.disabled = true;
    }
    return inOrder(confirmNow);
  }

  async function confirmNow() {
    if (!line || left) { busy = false; return; }
    const body = confirmBody();
    const path = `/tasks/${task.id}/lines/${line.line_no}/confirm`;
    // The key is made once per confirmation: if the answer is lost and it is sent again (now or from
    // the outbox) the server answers the first one instead of confirming twice.
    const key = uuid();
    try {
      if (navigator.onLine === false) throw new ApiError(0, null, true);
      const outcome = await api("POST", path, body, { idempotencyKey: key });
      await confirmed(outcome);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.offline || error.status === 401) await queue(path, body, key);
      else await refused(error);
      if (error.status === 401) signedOut();
    } finally {
      busy = false;
    }
    if (!left) render();
  }

  function confirmed(outcome) {
    const at = task.lines.findIndex((l) => l.line_no === outcome.line.line_no);
    if (at >= 0) task.lines[at] = outcome.line;
    task.status = outcome.task_status;
    app.rememberTask(task);
    if (outcome.discrepancy_id) {
      bad();
      app.status(t("confirm.discrepancy", { line: outcome.line.line_no }), "error");
    } else if (outcome.waiting_for_second_person) {
      done();
      app.status(t("confirm.waiting", { line: outcome.line.line_no }), "ok");
    } else {
      done();
      app.status(t("confirm.done", { line: outcome.line.line_no }), "ok");
    }
    if (outcome.task_status === "done") finished = t("task.finished");
    return moveTo(index);
  }

  async function queue(path, body, key) {
    await app.outbox.add({ path, body, key, label: label(), taskId: task.id, lineNo: line.line_no });
    queued.add(line.line_no);
    good();
    app.status(t("confirm.queued", { line: line.line_no }), "info");
    await moveTo(index);
  }

  // The server's reason is what the operator reads; the step it is about is scanned again.
  async function refused(error) {
    bad();
    app.status(error.message, "error");
    const fields = Object.keys(error.problem.errors || {});
    if (fields.includes("location")) entry.location = null;
    if (fields.includes("item")) entry.item = null;
    if (error.problem.reason === "wrong_location") entry.location = null;
    if (error.problem.reason === "wrong_item") entry.item = null;
    if (fields.includes("lot") || fields.includes("expiry") || error.problem.reason === "wrong_lot") {
      // The lot came from the label that was scanned: scan the right label (or type the lot) again.
      Object.assign(entry, { item: null, lot: "", expiry: "", knownLot: false });
    }
    if (error.status === 409 || error.status === 403) {
      // The line was finished or taken by someone else meanwhile: reload, then go on with the rest.
      await reload();
      await moveTo(index);
    }
  }

  async function reload() {
    try {
      task = await api("GET", `/tasks/${taskId}`);
      app.rememberTask(task);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 404) { finished = error.message; task = task || null; }
      // offline: keep working from what was loaded
    }
    const pending = await app.outbox.pending().catch(() => []);
    queued = new Set(pending.filter((p) => p.taskId === taskId).map((p) => p.lineNo));
  }

  // ---------------------------------------------------------------- drawing

  function setQuantity(value) {
    const number = Number.parseInt(String(value).replace(/\D/g, ""), 10);
    entry.quantity = Number.isFinite(number) ? Math.min(MAX_QUANTITY, Math.max(0, number)) : null;
  }

  function showQuantity() {
    const field = main.querySelector("#quantity");
    if (field) field.value = entry.quantity === null ? "" : String(entry.quantity);
    renderConfirm();
  }

  function quantityPanel() {
    const field = h("input#quantity.qty", {
      type: "text", inputmode: "numeric", autocomplete: "off", "data-testid": "quantity",
      value: entry.quantity === null ? "" : String(entry.quantity), "aria-label": t("quantity.label"),
      placeholder: "0",
    });
    field.addEventListener("input", () => { setQuantity(field.value); renderConfirm(); });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); field.blur(); confirm(); }
    });
    const step = (delta) => () => { setQuantity((entry.quantity || 0) + delta); showQuantity(); };
    return h("div.qty-row", {},
      h("button.step", { type: "button", text: "−", "aria-label": t("quantity.less"), "data-testid": "minus",
                         onclick: step(-1), disabled: entry.zero }),
      entry.zero ? h("output.qty", { text: "0", "data-testid": "quantity" }) : field,
      h("button.step", { type: "button", text: "+", "aria-label": t("quantity.more"), "data-testid": "plus",
                         onclick: step(1), disabled: entry.zero }));
  }

  // An on-screen keypad: gloved fingers miss the phone keyboard's small keys, and it never covers the screen.
  function keypad() {
    const key = (k) => h("button.key", {
      type: "button", text: k, "data-testid": `key-${k === "⌫" ? "back" : k}`,
      onclick: () => {
        const text = entry.quantity === null ? "" : String(entry.quantity);
        setQuantity(k === "⌫" ? text.slice(0, -1) : k === "C" ? "" : text + k);
        showQuantity();
      },
    });
    return h("div.keypad", {}, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "⌫"].map(key));
  }

  function gradePanel() {
    if (workflow() !== "returns" || entry.zero || entry.quantity === 0) return null;
    return h("div.grades", { role: "group", "aria-label": t("grade.title") }, GRADES.map((grade) => h("button.grade", {
      type: "button", "aria-pressed": String(entry.grade === grade), "data-testid": `grade-${grade}`,
      text: t(`grade.${grade}`), onclick: () => { entry.grade = grade; good(); render(); },
    })));
  }

  function lotPanel() {
    const lot = h("input.field", { type: "text", value: entry.lot, autocomplete: "off", "data-testid": "lot",
                                   "aria-label": t("lot.label"), placeholder: t("lot.label") });
    const expiry = h("input.field", { type: "date", value: entry.expiry, "data-testid": "expiry", "aria-label": t("lot.expiry") });
    lot.addEventListener("change", () => { entry.lot = lot.value.trim(); render(); });
    lot.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); lot.blur(); } });
    expiry.addEventListener("change", () => { entry.expiry = expiry.value; render(); });
    return h("div.lot", {},
      h("label", {}, t("lot.label"), lot),
      h("label", {}, t("lot.expiry"), expiry),
      line.lot ? h("p.hint", { text: t("lot.announced", { lot: line.lot }) }) : null);
  }

  function confirmReady() {
    if (entry.quantity === null || busy) return false;
    if (workflow() === "returns" && entry.quantity > 0 && !entry.grade) return false;
    return currentStep() === null;
  }

  function renderConfirm() {
    const button = main.querySelector("#confirm");
    if (button) button.disabled = !confirmReady();
  }

  function prompt(step) {
    if (!step) {
      if (entry.quantity === null) return t("prompt.count");
      if (workflow() === "returns" && entry.quantity > 0 && !entry.grade) return t("prompt.grade");
      // Pickers and put-away operators got the quantity filled in: remind them to check it.
      return t(prefilledQuantity(workflow(), mode, line) !== null ? "prompt.quantity" : "prompt.confirm");
    }
    if (step.kind === "location") return t("prompt.bin", { bin: step.bin });
    if (step.kind === "item") return t("prompt.item", { item: line.item_name || line.sku });
    return t("prompt.lot");
  }

  function checklist() {
    return h("ol.checks", {}, steps().filter((s) => ["location", "item", "lot"].includes(s.kind)).map((step) => {
      const ok = stepDone(step);
      let value = "";
      if (step.kind === "location") value = entry.location ? entry.location.code : step.bin;
      if (step.kind === "item") value = entry.zero ? t("line.none") : entry.item ? entry.item.sku : (line.sku || "");
      if (step.kind === "lot") value = [entry.lot, entry.expiry].filter(Boolean).join(" · ") || "—";
      return h("li", { className: ok ? "ok" : "", "data-testid": `check-${step.kind}` },
        h("span.mark", { text: ok ? "✓" : "•" }), h("span", { text: t(`check.${step.kind}`) }), h("strong", { text: value }));
    }));
  }

  function lineCard() {
    const expected = showsExpected(workflow(), mode) && line.expected_quantity !== null && line.expected_quantity !== undefined;
    const from = line.location && line.to_location ? `${line.location} → ${line.to_location}` : (line.location || line.to_location);
    return h("div.line", { "data-testid": "line" },
      h("div.line-head", {},
        h("span", { text: t("line.of", { line: line.line_no, count: task.lines.length }) }),
        mode === "verify" ? h("span.badge", { text: t("mode.verify") }) : null),
      h("div.item-name", { text: line.sku ? `${line.item_name}` : t("line.empty_bin_title") }),
      h("div.item-code", { text: [line.sku, line.lot ? t("line.lot", { lot: line.lot }) : null].filter(Boolean).join(" · ") }),
      h("div.where", { text: from || "" }),
      expected ? h("div.expected", { "data-testid": "expected", text: t("line.expected", { count: line.expected_quantity }) }) : null,
      line.hint && mode === "work" ? h("div.hint", { text: line.hint }) : null);
  }

  function render() {
    if (left) return;
    if (!task) {
      replace(main, h("section.screen", {}, h("p.empty", { text: t("task.loading") })));
      return;
    }
    const title = h("div.title", {},
      h("button.back", { type: "button", text: "‹ " + t("tasks.title"), "data-testid": "back", onclick: () => app.go("#/tasks") }),
      h("span", { text: `${t("workflow." + workflow())} · ${task.reference || task.id}` }));
    if (!line) {
      replace(main, h("section.screen.work", { "data-testid": "task-screen" }, title,
        h("div.prompt.finished", { "data-testid": "prompt", text: finished || t(mode === "verify" ? "task.nothing_to_verify" : "task.nothing_left") }),
        h("button.big.primary", { type: "button", text: t("tasks.back"), onclick: () => app.go("#/tasks") })));
      return;
    }
    const step = currentStep();
    const zeroButton = step && step.kind === "item" && allowsZeroWithoutItem(workflow(), line);
    replace(main, h("section.screen.work", { "data-testid": "task-screen", dataset: { workflow: workflow(), mode } },
      title,
      h("div.prompt", { "data-testid": "prompt", text: prompt(step) }),
      lineCard(),
      checklist(),
      offer ? h("button.big.secondary", { type: "button", "data-testid": "add-unexpected", onclick: () => inOrder(addUnexpected),
                                          text: t(workflow() === "receiving" ? "line.add_unexpected" : "line.add_found", { sku: offer.sku }) }) : null,
      zeroButton ? h("button.big.secondary", {
        type: "button", "data-testid": "zero",
        text: t(workflow() === "returns" ? "line.nothing_arrived" : "line.bin_empty"),
        onclick: () => { entry.zero = true; entry.item = null; entry.quantity = 0; good(); render(); },
      }) : null,
      step && step.kind === "lot" ? lotPanel() : null,
      step && step.kind === "lot" ? h("button.big.secondary", { type: "button", text: t("lot.next"), onclick: () => render() }) : null,
      // Quantity, grade and Confirm first, the keypad under them: Confirm stays on the first screenful.
      step ? null : quantityPanel(),
      step ? null : gradePanel(),
      step ? null : h("button#confirm.big.primary", { type: "button", "data-testid": "confirm", disabled: !confirmReady(),
                                                    text: t(mode === "verify" ? "confirm.verify" : "confirm.button"), onclick: confirm }),
      step || entry.zero ? null : keypad(),
      h("div.nav", {},
        h("button.secondary", { type: "button", text: "‹ " + t("line.previous"), disabled: lines.length < 2, onclick: () => moveTo(index - 1) }),
        h("button.secondary", { type: "button", text: t("line.next") + " ›", disabled: lines.length < 2, onclick: () => moveTo(index + 1) }))));
  }

  function refresh() {
    return inOrder(refreshNow);
  }

  async function refreshNow() {
    await reload();
    if (left) return;
    const keep = line && eligible().find((l) => l.line_no === line.line_no);
    if (keep) { lines = eligible(); index = lines.indexOf(keep); line = keep; render(); } else moveTo(index);
  }

  // Loading goes first in the queue: scans made while the task loads wait for it, they are not lost.
  render();
  inOrder(async () => {
    await reload();
    if (left) return;
    if (!task) { replace(main, h("p.empty", { text: t("task.unavailable") })); return; }
    await moveTo(0);
  });

  return { onScan, refresh, redraw: render, leave: () => { left = true; } };
}
