// The discrepancy review queue and its detail drawer. The queue lists open discrepancies; one
// leaves it when `discrepancy.resolved` arrives, whoever decided (this screen, another supervisor,
// or a recount request). Deciding is the server's business: it refuses approvers who counted the
// line, and the drawer shows its answer as it is.
import { api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { ago, dateTime, el, label, number, personName, signed, uuid, when, workflowName } from "./format.js";

// The reason codes the approve endpoint accepts (warehouse/tasks/schemas.py REASON_CODES).
const REASON_CODES = ["count_correction", "damaged", "lost", "found", "supplier_short", "supplier_over",
                      "mispick", "theft", "data_entry", "other"];

const list = document.getElementById("queue-list");
const empty = document.getElementById("queue-empty");
const badge = document.getElementById("queue-count");
const drawer = document.getElementById("drawer");
const drawerTitle = document.getElementById("drawer-title");
const drawerBody = document.getElementById("drawer-body");
const drawerError = document.getElementById("drawer-error");
const form = document.getElementById("decision");

const open = new Map();        // id -> discrepancy (list shape)
let current = null;            // the discrepancy shown in the drawer
let deciding = false;
let myUserId = null;
let onDecided = () => {};

export function setup({ userId, decided }) {
  myUserId = userId;
  onDecided = decided;
  const select = form.querySelector("#reason-code");
  select.replaceChildren(...REASON_CODES.map((code) => el("option", { value: code }, label("reason_code", code))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide(event.submitter?.value || "approve");
  });
  drawer.querySelector("[data-close]").addEventListener("click", () => drawer.close());
  drawer.addEventListener("close", () => {
    current = null;
    list.querySelector("[aria-current]")?.removeAttribute("aria-current");
  });
}

export function load(discrepancies) {
  open.clear();
  for (const item of discrepancies) open.set(item.id, item);
  render();
}

export async function opened(payload) {
  try {
    const item = await api("GET", `/discrepancies/${payload.id}`);
    if (item.status === "open") {
      open.set(item.id, item);
      render(item.id);
    }
  } catch (error) {
    console.warn("could not load discrepancy", payload.id, error);
  }
}

export function resolved(payload) {
  if (!open.delete(payload.id)) return;
  render();
  if (current && current.id === payload.id && !deciding) {
    // Someone else decided while this drawer was open: say so and stop offering actions.
    showError(t("drawer.resolved_elsewhere", { status: label("status", payload.status) }));
    setFormEnabled(false);
  }
}

function render(newId) {
  const items = [...open.values()].sort((a, b) => a.id - b.id);
  list.replaceChildren(...items.map((item) => {
    const variance = item.expected_quantity === null || item.counted_quantity === null
      ? null : item.counted_quantity - item.expected_quantity;
    const button = el("button", { type: "button", class: "card", onclick: () => show(item.id),
                                  "aria-current": current?.id === item.id ? "true" : undefined },
      el("span", { class: "card-top" },
        el("strong", {}, `#${item.id} ${item.sku || ""}`),
        el("span", { class: "muted" }, item.location || ""),
        variance === null ? "" : el("span", { class: `variance ${variance < 0 ? "out" : "in"}` }, signed(variance))),
      el("span", { class: "card-sub" },
        `${workflowName(item.workflow)} · ${label("kind", item.kind)} · `,
        t("queue.expected_counted", { expected: number(item.expected_quantity), counted: number(item.counted_quantity) }),
        " · ", el("time", { datetime: item.opened_at, title: dateTime(item.opened_at) }, ago(item.opened_at))));
    const li = el("li", { dataset: { id: item.id } }, button);
    if (item.id === newId) li.classList.add("new");
    return li;
  }));
  empty.hidden = items.length > 0;
  badge.textContent = items.length ? number(items.length) : "";
  badge.hidden = !items.length;
}

function fact(name, value, className) {
  return [el("dt", {}, t(name)), el("dd", { class: className }, value ?? "–")];
}

// Scans are shown as they arrived; control characters (GS in GS1 labels) made visible.
function visible(raw) {
  return String(raw).replace(/[\x00-\x1f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)));
}

function renderDetail(item) {
  const variance = item.expected_quantity === null || item.counted_quantity === null
    ? null : item.counted_quantity - item.expected_quantity;
  drawerTitle.textContent = t("drawer.title", { id: item.id, sku: item.sku || "" });
  const counted = new Set(item.confirmations.map((c) => c.user_id));
  const facts = el("dl", { class: "facts" },
    fact("drawer.workflow", `${workflowName(item.workflow)} · ${t("feed.task", { id: item.task_id })}` +
                            (item.reference ? ` (${item.reference})` : "") + ` · ${t("drawer.line", { line: item.line_no })}`),
    fact("drawer.location", item.location),
    fact("drawer.item", item.sku),
    item.lot ? fact("drawer.lot", item.lot) : [],
    fact("drawer.kind", label("kind", item.kind)),
    fact("drawer.expected", number(item.expected_quantity), "big"),
    fact("drawer.counted", number(item.counted_quantity), "big"),
    fact("drawer.variance", variance === null ? "–" : signed(variance), variance < 0 ? "big out" : "big in"),
    fact("drawer.opened", dateTime(item.opened_at)));
  const warnings = [];
  if (item.stock_moved_since_start) warnings.push(el("p", { class: "warning" }, t("drawer.moved_since_start")));
  if (counted.has(myUserId)) warnings.push(el("p", { class: "warning" }, t("drawer.you_counted")));

  const confirmations = el("table", { class: "grid compact" },
    el("caption", {}, t("drawer.confirmations")),
    el("thead", {}, el("tr", {}, ...["round", "who", "quantity", "lot", "scanned_location", "scanned_item",
                                     "device", "time"].map((c) => el("th", { scope: "col" }, t(`drawer.col_${c}`))))),
    el("tbody", {}, ...item.confirmations.map((c) => el("tr", {},
      el("td", {}, `${c.round}·${label("stage", c.stage)}`),
      el("td", {}, personName(c.user_id)),
      el("td", { class: "num" }, number(c.quantity)),
      el("td", {}, [c.lot_code, c.expiry].filter(Boolean).join(" · ")),
      el("td", {}, el("code", {}, visible(c.scanned_location || ""))),
      el("td", {}, el("code", {}, visible(c.scanned_item || ""))),
      el("td", {}, c.device || ""),
      el("td", { title: dateTime(c.created_at) }, when(c.created_at))))));
  const scans = el("table", { class: "grid compact" },
    el("caption", {}, t("drawer.scans", { count: item.scans.length })),
    el("thead", {}, el("tr", {}, ...["time", "who", "raw", "kind", "error"].map(
      (c) => el("th", { scope: "col" }, t(`drawer.col_${c}`))))),
    el("tbody", {}, ...item.scans.map((s) => el("tr", { class: s.error_reason ? "refused" : undefined },
      el("td", { title: dateTime(s.at) }, when(s.at)),
      el("td", {}, personName(s.user_id)),
      el("td", {}, el("code", {}, visible(s.raw))),
      el("td", {}, s.kind || ""),
      el("td", {}, s.error_reason ? label("scan_error", s.error_reason) : "")))));
  drawerBody.replaceChildren(facts, ...warnings, confirmations, item.scans.length ? scans : el("p", { class: "muted" }, t("drawer.no_scans")));
}

async function show(id) {
  current = { id };
  hideError();
  setFormEnabled(true);
  form.reset();
  for (const li of list.children) {
    li.firstChild.toggleAttribute("aria-current", Number(li.dataset.id) === id);
  }
  drawerTitle.textContent = t("drawer.title", { id, sku: "" });
  drawerBody.replaceChildren(el("p", { class: "muted" }, t("common.loading")));
  if (!drawer.open) drawer.showModal();
  try {
    const item = await api("GET", `/discrepancies/${id}`);
    if (current?.id !== id) return;
    current = item;
    renderDetail(item);
    if (item.status !== "open") {
      showError(t("drawer.resolved_elsewhere", { status: label("status", item.status) }));
      setFormEnabled(false);
    }
    form.querySelector("#reason").focus();
  } catch (error) {
    showError(problemText(error));
  }
}

function problemText(error) {
  if (error.offline) return t("common.offline");
  const reason = error.problem?.reason;
  const known = reason ? label("refusal", reason) : "";
  const detail = error.problem?.detail || error.message;
  return known && known !== reason.replaceAll("_", " ") ? `${known} (${detail})` : detail;
}

async function decide(action) {
  if (!current?.id || deciding) return;
  const reason = form.reason.value.trim();
  if (!reason) {
    showError(t("drawer.reason_required"));
    form.reason.focus();
    return;
  }
  const body = action === "approve" ? { reason_code: form.reason_code.value, reason } : { reason };
  deciding = true;
  setFormEnabled(false);
  hideError();
  try {
    // A fresh key per click: a network retry of this click replays, a new click is a new decision.
    const decided = await api("POST", `/discrepancies/${current.id}/${action}`, body,
                              { idempotencyKey: uuid() });
    open.delete(decided.id);
    render();
    drawer.close();
    onDecided(t(`drawer.done_${action}`, { id: decided.id }));
  } catch (error) {
    showError(problemText(error));
    setFormEnabled(true);
  } finally {
    deciding = false;
  }
}

function setFormEnabled(enabled) {
  for (const control of form.elements) control.disabled = !enabled;
}

function showError(text) {
  drawerError.textContent = text;
  drawerError.hidden = false;
}

function hideError() {
  drawerError.hidden = true;
  drawerError.textContent = "";
}
