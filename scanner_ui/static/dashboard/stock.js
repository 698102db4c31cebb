// Stock levels per location, item and lot, kept current by live events and catch-up changes.
//
// Every row remembers the ledger seq its numbers reflect (the snapshot's seq, then each change's).
// A `stock.changed` event carries absolute numbers and replaces them when its seq is newer; a
// catch-up change carries only a delta and is added when its seq is newer. Either way a change
// seen twice (live and again through catch-up) is applied once. A row missing from the snapshot
// was zero at the snapshot's seq, so that seq is its starting point.
import { t } from "../common/i18n.js";
import { el, flash, number } from "./format.js";

const MAX_SHOWN = 400;   // more rows than anyone reads; the filter narrows the rest
const NUMBERS = ["on_hand", "reserved", "available"];

const rows = new Map();
const names = new Map();           // sku -> item name, for the feed and rows made by catch-up
let baseline = 0;
let pending = null;                // changes that arrive while a snapshot loads, replayed after it
let sort = { key: "location", descending: false };
let filter = { sku: "", location: "" };
let renderQueued = false;

const table = document.getElementById("stock-table");
const body = table.querySelector("tbody");
const count = document.getElementById("stock-count");

const keyOf = (location, sku, lot) => `${location}|${sku}|${lot ?? ""}`;

export function itemName(sku) {
  return names.get(sku) || "";
}

export function beginLoading() {
  pending = [];
}

// The snapshot could not be loaded: stop holding changes back (the next load starts over anyway).
export function cancelLoading() {
  pending = null;
}

export function load(snapshot) {
  rows.clear();
  baseline = snapshot.seq;
  for (const row of snapshot.rows) {
    names.set(row.sku, row.item_name);
    rows.set(keyOf(row.location, row.sku, row.lot), { ...row, seq: snapshot.seq });
  }
  const queued = pending || [];
  pending = null;
  for (const [kind, change] of queued) (kind === "event" ? applyEvent : applyChange)(change);
  render();
  if (snapshot.truncated) count.textContent += " · " + t("stock.truncated");
}

function rowFor(change) {
  const key = keyOf(change.location, change.sku, change.lot);
  let row = rows.get(key);
  if (!row) {
    row = { sku: change.sku, item_name: change.item_name || itemName(change.sku), warehouse: change.warehouse,
            location: change.location, lot: change.lot, on_hand: 0, reserved: 0, available: 0,
            seq: baseline, fresh: true };
    rows.set(key, row);
  }
  return row;
}

// A live `stock.changed` event: absolute numbers after the change.
export function applyEvent(event) {
  if (pending) return void pending.push(["event", event]);
  if (event.item_name) names.set(event.sku, event.item_name);
  const row = rowFor(event);
  if (event.seq <= row.seq) return;
  const before = { ...row };
  Object.assign(row, { on_hand: event.on_hand, reserved: event.reserved, available: event.available, seq: event.seq });
  if (event.item_name) row.item_name = event.item_name;
  show(row, before);
}

// A change from the catch-up feed: only the signed quantity at this location.
export function applyChange(change) {
  if (pending) return void pending.push(["change", change]);
  const row = rowFor(change);
  if (change.seq <= row.seq) return;
  const before = { ...row };
  row.on_hand += change.quantity;
  row.available += change.quantity;
  row.seq = change.seq;
  show(row, before);
}

function show(row, before) {
  if (!row.tr) {
    if (matches(row)) queueRender();
    return;
  }
  for (const name of NUMBERS) {
    if (row[name] === before[name]) continue;
    const cell = row.tr.querySelector(`[data-col=${name}]`);
    cell.textContent = number(row[name]);
    flash(cell, row[name] > before[name] ? "up" : "down");
  }
  row.tr.classList.toggle("empty-row", row.on_hand === 0 && row.reserved === 0);
  row.tr.dataset.seq = row.seq;
}

function matches(row) {
  const sku = filter.sku.toLowerCase();
  const location = filter.location.toLowerCase();
  return (!sku || row.sku.toLowerCase().includes(sku) || (row.item_name || "").toLowerCase().includes(sku))
    && (!location || row.location.toLowerCase().includes(location));
}

const collator = new Intl.Collator(undefined, { numeric: true });

// Bins sort naturally (A-2 before A-10); ties fall back to location, SKU and lot, so a row that
// appears live lands where a reload would put it.
function compare(a, b) {
  const x = a[sort.key] ?? "";
  const y = b[sort.key] ?? "";
  const result = typeof x === "number" && typeof y === "number" ? x - y : collator.compare(String(x), String(y));
  return (sort.descending ? -result : result) || collator.compare(a.location, b.location)
    || collator.compare(a.sku, b.sku) || collator.compare(a.lot || "", b.lot || "");
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

export function render() {
  const shown = [...rows.values()].filter(matches).sort(compare);
  for (const row of rows.values()) row.tr = null;
  const fragment = document.createDocumentFragment();
  for (const row of shown.slice(0, MAX_SHOWN)) {
    row.tr = el("tr", { dataset: { key: keyOf(row.location, row.sku, row.lot), seq: row.seq },
                        class: row.on_hand === 0 && row.reserved === 0 ? "empty-row" : undefined },
      el("td", { "data-col": "location" }, row.location),
      el("td", { "data-col": "sku" }, row.sku),
      el("td", { "data-col": "item", class: "item" }, row.item_name || ""),
      el("td", { "data-col": "lot" }, row.lot || ""),
      ...NUMBERS.map((name) => el("td", { "data-col": name, class: "num" }, number(row[name]))));
    if (row.fresh) {
      row.fresh = false;
      row.tr.classList.add("flash", "up");
    }
    fragment.append(row.tr);
  }
  body.replaceChildren(fragment);
  count.textContent = shown.length > MAX_SHOWN
    ? t("stock.count_limited", { shown: number(MAX_SHOWN), total: number(shown.length) })
    : t("stock.count", { total: number(shown.length) });
}

export function setup() {
  const form = document.getElementById("stock-filter");
  form.addEventListener("input", () => {
    filter = { sku: form.sku.value.trim(), location: form.location.value.trim() };
    render();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  for (const button of table.querySelectorAll("[data-sort]")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      sort = { key, descending: sort.key === key ? !sort.descending : false };
      for (const th of table.querySelectorAll("th")) th.removeAttribute("aria-sort");
      button.closest("th").setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
      render();
    });
  }
  // "/" jumps to the filter, as in most tools that have one search box.
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, select, dialog[open]");
    if (event.key === "/" && !typing) {
      event.preventDefault();
      form.sku.focus();
    }
  });
}
