// The live feed of moves, newest first. One entry per ledger move: a transfer arrives as two
// per-location changes with the same seq (one out, one in) and is shown as "from -> to".
// Changes are keyed by seq + location + lot, so one delivered live and again by catch-up (or by
// the history loaded at start) shows once.
import { t } from "../common/i18n.js";
import { clock, el, label, number, personName, signed } from "./format.js";
import { itemName } from "./stock.js";

const CAP = 200;

const list = document.getElementById("feed-list");
const empty = document.getElementById("feed-empty");
const pauseButton = document.getElementById("feed-pause");
const entries = new Map();   // seq -> entry
const seen = new Set();      // seq|location|lot
let paused = false;
let held = 0;

export function reset() {
  entries.clear();
  seen.clear();
  list.replaceChildren();
  held = 0;
  updateEmpty();
}

// `change` is a live event ({delta, item_name, ...}) or a catch-up change ({quantity, from_location, ...});
// `history` marks moves from before the page opened, which are listed without the arrival highlight.
export function add(change, { history = false } = {}) {
  const key = `${change.seq}|${change.location}|${change.lot ?? ""}`;
  if (seen.has(key)) return;
  const oldest = entries.size >= CAP ? Math.min(...entries.keys()) : -Infinity;
  if (change.seq < oldest) return;   // older than all we keep: not news
  seen.add(key);
  const delta = change.delta ?? change.quantity;
  let entry = entries.get(change.seq);
  if (!entry) {
    entry = { seq: change.seq, sku: change.sku, lot: change.lot, reason: change.reason,
              reason_code: change.reason_code, task_id: change.task_id, user_id: change.user_id, at: change.at,
              item_name: change.item_name, parts: [], from: change.from_location, to: change.to_location };
    entries.set(change.seq, entry);
  }
  entry.parts.push({ location: change.location, delta });
  entry.history = history;
  draw(entry);
  while (entries.size > CAP) drop(Math.min(...entries.keys()));
  updateEmpty();
}

function drop(seq) {
  const entry = entries.get(seq);
  entries.delete(seq);
  entry.li?.remove();
  for (const part of entry.parts) seen.delete(`${seq}|${part.location}|${entry.lot ?? ""}`);
}

function movement(entry) {
  const out = entry.parts.find((p) => p.delta < 0);
  const into = entry.parts.find((p) => p.delta > 0);
  const quantity = Math.max(...entry.parts.map((p) => Math.abs(p.delta)));
  if (out && into) {
    return [el("span", { class: "qty" }, "×" + number(quantity)), " ", out.location, " → ", into.location];
  }
  const part = out || into;
  // One side is virtual (supplier, loss, customer...): say where it went or came from when known.
  const other = part.delta > 0 ? entry.from : entry.to;
  return [el("span", { class: `qty ${part.delta > 0 ? "in" : "out"}` }, signed(part.delta)), " ", part.location,
          other ? el("span", { class: "muted" }, ` (${part.delta > 0 ? "←" : "→"} ${other})`) : ""];
}

function draw(entry) {
  const name = entry.item_name || itemName(entry.sku);
  const li = el("li", { dataset: { seq: entry.seq }, class: "feed-entry" },
    el("time", { datetime: entry.at }, clock(entry.at)),
    el("div", { class: "what" },
      el("strong", {}, entry.sku), name ? el("span", { class: "muted" }, " " + name) : "",
      entry.lot ? el("span", { class: "lot" }, " " + t("feed.lot", { lot: entry.lot })) : ""),
    el("div", { class: "where" }, movement(entry)),
    el("div", { class: "why" },
      el("span", { class: "code" }, label("reason_code", entry.reason_code)),
      entry.reason ? " · " + entry.reason : "",
      entry.task_id ? " · " + t("feed.task", { id: entry.task_id }) : "",
      " · ", personName(entry.user_id)));
  if (entry.li) {
    entry.li.replaceWith(li);
    entry.li = li;
    return;
  }
  entry.li = li;
  if (!entry.history) li.classList.add("new");
  if (paused) {
    li.hidden = true;
    held += 1;
    pauseButton.textContent = t("feed.resume_count", { count: held });
  }
  // Newest (highest seq) first; catch-up may deliver an older move after newer live ones.
  const next = [...list.children].find((node) => Number(node.dataset.seq) < entry.seq);
  list.insertBefore(li, next || null);
}

function updateEmpty() {
  empty.hidden = entries.size > 0;
}

export function setup() {
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      for (const node of list.querySelectorAll("li[hidden]")) node.hidden = false;
      held = 0;
    }
    pauseButton.textContent = t(paused ? "feed.resume" : "feed.pause");
  });
  updateEmpty();
}
