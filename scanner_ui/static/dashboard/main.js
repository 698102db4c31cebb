// The supervisor dashboard: loads a consistent starting point for the chosen warehouse, then keeps
// every panel current from the /live socket. Panels live in their own modules; this one wires them.
import { api, whoAmI } from "../common/api.js";
import { pickLanguage, t, useLanguage } from "../common/i18n.js";
import * as charts from "./charts.js";
import * as feed from "./feed.js";
import * as floor from "./floor.js";
import { el, rememberPeople } from "./format.js";
import { connectLive } from "./live.js";
import * as queue from "./queue.js";
import * as stock from "./stock.js";

const WAREHOUSE_KEY = "warehouse.dashboard.warehouse";
const HISTORY = 150;   // moves shown from before the page opened

const connection = document.getElementById("connection");
const connectionText = document.getElementById("connection-text");
const banner = document.getElementById("banner");
const picker = document.getElementById("warehouse-filter");

let selection = "";
let live = null;
let loading = 0;

function setConnection(state) {
  connection.dataset.state = state;
  connectionText.textContent = t(`live.${state}`);
  if (state === "refused") showBanner(t("live.refused_help"), true);
}

function showBanner(text, signIn = false) {
  banner.replaceChildren(text);
  if (signIn) banner.append(" ", el("a", { href: "/signin?next=/dashboard" }, t("header.sign_in")));
  banner.hidden = false;
}

let toastTimer = null;
function toast(text) {
  banner.replaceChildren(text);
  banner.classList.add("ok");
  banner.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    banner.hidden = true;
    banner.classList.remove("ok");
  }, 6000);
}

async function allPages(path) {
  const rows = [];
  for (let page = 1; ; page += 1) {
    const separator = path.includes("?") ? "&" : "?";
    const batch = await api("GET", `${path}${separator}per_page=500&page=${page}`);
    rows.push(...batch);
    if (batch.length < 500) return rows;
  }
}

// Load every panel for `code` ("" = all warehouses). The stock snapshot carries the exact ledger
// seq it reflects; live and catch-up changes are applied relative to it, never twice.
async function loadAll(code) {
  const mine = ++loading;
  selection = code;
  stock.beginLoading();
  feed.reset();
  const where = code ? `warehouse=${encodeURIComponent(code)}` : "";
  let snapshot, discrepancies;
  try {
    [snapshot, discrepancies] = await Promise.all([
      api("GET", `/reports/stock-snapshot${where ? "?" + where : ""}`),
      allPages(`/discrepancies?status=open${where ? "&" + where : ""}`),
    ]);
  } catch (error) {
    if (mine === loading) stock.cancelLoading();
    throw error;
  }
  if (mine !== loading) return;   // the supervisor picked another warehouse meanwhile
  stock.load(snapshot);
  queue.load(discrepancies);
  live.start(code, snapshot.seq);
  floor.start(code);
  charts.start(code);
  // Recent history for the feed, up to the snapshot; anything newer comes live or by catch-up.
  const query = new URLSearchParams({ after: Math.max(0, snapshot.seq - HISTORY), limit: HISTORY });
  if (code) query.set("warehouse", code);
  const history = await api("GET", `/stock/changes?${query}`);
  if (mine === loading) for (const change of history.changes) if (change.seq <= snapshot.seq) feed.add(change, { history: true });
}

// The socket may still carry the previous warehouse's events while a new one loads.
const wanted = (warehouse) => !selection || warehouse === selection;

function onStock(event) {
  if (!wanted(event.warehouse)) return;
  stock.applyEvent(event);
  feed.add(event);
  charts.refreshSoon();
  if (event.task_id) floor.refreshSoon();
}

function onChange(change) {
  if (!wanted(change.warehouse)) return;
  stock.applyChange(change);
  feed.add(change);
  charts.refreshSoon();
  // A confirmation that posts stock sends no task.updated of its own: its move names the task.
  if (change.task_id) floor.refreshSoon();
}

function onEvent(name, payload) {
  if (payload && !wanted(payload.warehouse)) return;
  if (name === "discrepancy.opened") queue.opened(payload);
  else if (name === "discrepancy.resolved") queue.resolved(payload);
  if (name.startsWith("task.") || name.startsWith("discrepancy.")) floor.refreshSoon();
  if (name === "task.updated") charts.refreshSoon();
}

async function signOut() {
  try {
    await api("POST", "/auth/logout");
  } finally {
    window.location.assign("/signin?next=/dashboard");
  }
}

async function main() {
  const me = await whoAmI();
  if (!me) {
    window.location.assign("/signin?next=/dashboard");
    return;
  }
  await useLanguage("dashboard", me.locale || pickLanguage());
  document.title = t("app.title");
  document.getElementById("sign-out").addEventListener("click", signOut);

  const [warehouses, people] = await Promise.all([allPages("/warehouses"), api("GET", "/reports/people")]);
  rememberPeople(people);
  for (const warehouse of warehouses.filter((w) => w.active !== false)) {
    picker.append(el("option", { value: warehouse.code }, `${warehouse.code} · ${warehouse.name}`));
  }
  const remembered = localStorage.getItem(WAREHOUSE_KEY) || "";
  picker.value = [...picker.options].some((o) => o.value === remembered) ? remembered : "";

  stock.setup();
  feed.setup();
  charts.setup();
  queue.setup({ userId: me.user_id, decided: toast });
  live = connectLive({ onState: setConnection, onStock, onChange, onEvent });

  picker.addEventListener("change", () => {
    localStorage.setItem(WAREHOUSE_KEY, picker.value);
    loadAll(picker.value).catch(failed);
  });
  await loadAll(picker.value);
}

function failed(error) {
  console.error(error);
  if (error.status === 401) showBanner(t("live.refused_help"), true);
  else showBanner(error.offline ? t("common.offline") : t("common.load_failed", { detail: error.message }));
}

main().catch(failed);
