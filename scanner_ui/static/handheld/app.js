// The handheld app: signs in, keeps who is signed in, routes between the screens (sign-in, task
// list, a task's line-by-line workflow), and owns what every screen shares: the scan field, the
// camera, the outbox of offline confirmations, the status line and the language.

import { ApiError, api, rememberCsrf, whoAmI } from "../common/api.js";
import { LANGUAGES, language, pickLanguage, t, translatePage, useLanguage } from "../common/i18n.js";
import { Camera } from "./camera.js";
import { h, replace } from "./dom.js";
import { connectLive } from "./live.js";
import { bad, good } from "./feedback.js";
import { Outbox } from "./queue.js";
import { ScanInput, keepFocus } from "./scan-input.js";
import { showSignIn } from "./signin.js";
import { showTaskList } from "./tasklist.js";
import { showTask } from "./work.js";

const RETRY_EVERY_MS = 15_000;
const $ = (id) => document.getElementById(id);

// A name for this device in the scan log and on confirmations; set once per browser.
function deviceName() {
  let name = localStorage.getItem("handheld.device");
  if (!name) {
    name = "handheld-" + Math.random().toString(16).slice(2, 8);
    localStorage.setItem("handheld.device", name);
  }
  return name;
}

class App {
  constructor() {
    this.me = null;
    this.device = deviceName();
    this.screen = null; // the current screen's controller: { onScan(raw), leave() }
    this.outbox = new Outbox();
    // Tasks as last loaded, so a task opened without network still shows (kept for this tab only).
    this.tasks = new Map(JSON.parse(sessionStorage.getItem("handheld.tasks") || "[]"));
    this.items = new Map();
    this.scanInput = new ScanInput($("scan"), (raw) => this.dispatchScan(raw));
    this.refocus = keepFocus($("scan"));
    this.camera = new Camera($("camera-video"), (raw) => { this.closeCamera(); this.scanInput.emit(raw); });
    this.camera.onOffline = () => this.cameraMessage(t("camera.offline"));
  }

  // ---------------------------------------------------------------- start and sign-in

  async start() {
    await useLanguage("handheld", pickLanguage(localStorage.getItem("handheld.lang")));
    this.wire();
    let me = null;
    try {
      me = await whoAmI();
    } catch (error) {
      // No network at start-up: nothing is known about the session; the sign-in screen says so.
      if (!(error instanceof ApiError && error.offline)) throw error;
      this.status(t("offline.start"), "error");
    }
    if (me) await this.signedIn(me);
    else this.route();
  }

  async resume() {
    const me = await whoAmI().catch(() => null);
    if (me && !this.me) await this.signedIn(me);
  }

  async signedIn(me) {
    this.me = me;
    rememberCsrf(me.csrf_token);
    if (me.locale && me.locale !== language()) await this.setLanguage(me.locale, { save: false });
    this.outbox.forUser(me.user_id);
    $("who").textContent = me.display_name || me.username;
    $("signout-button").hidden = false;
    this.outbox.flush();
    this.live ??= connectLive({ "task.updated": (event) => this.screen && this.screen.taskUpdated && this.screen.taskUpdated(event) });
    if (!location.hash || location.hash === "#/signin") location.hash = "#/tasks";
    else this.route();
  }

  async signOut() {
    try {
      await api("POST", "/auth/logout");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error; // already signed out or offline: forget it here anyway
    }
    this.forget();
  }

  forget() {
    this.me = null;
    if (this.live) this.live.disconnect();
    this.live = null;
    rememberCsrf(null);
    this.tasks.clear();
    sessionStorage.removeItem("handheld.tasks");
    this.outbox.forUser(null);
    $("who").textContent = "";
    $("signout-button").hidden = true;
    this.go("#/signin");
  }

  // ---------------------------------------------------------------- routing

  route() {
    if (this.screen && this.screen.leave) this.screen.leave();
    this.screen = null;
    this.closeCamera();
    const main = $("screen");
    if (!this.me) {
      this.showScanBar(false);
      this.screen = showSignIn(this, main);
      return;
    }
    const match = /^#\/task\/(\d+)\/(work|verify)$/.exec(location.hash);
    this.showScanBar(true);
    if (match) this.screen = showTask(this, main, { taskId: Number(match[1]), mode: match[2] });
    else this.screen = showTaskList(this, main);
  }

  go(hash) {
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  // ---------------------------------------------------------------- shared pieces

  wire() {
    window.addEventListener("hashchange", () => this.route());
    $("signout-button").addEventListener("click", () => this.signOut());
    $("lang-button").addEventListener("click", () => this.nextLanguage());
    $("camera-button").addEventListener("click", () => this.openCamera());
    $("camera-close").addEventListener("click", () => this.closeCamera());
    $("keyboard-button").addEventListener("click", () => {
      // Wedge scanners type without the on-screen keyboard (inputmode=none keeps it from covering the
      // screen); this button lets someone type a code by hand when a label will not scan.
      const scan = $("scan");
      scan.inputMode = scan.inputMode === "none" ? "text" : "none";
      scan.blur();
      scan.focus();
    });

    this.outbox.addEventListener("change", () => this.showOutbox());
    this.outbox.addEventListener("sent", (event) => this.replayed(event.detail));
    this.outbox.addEventListener("conflict", () => bad());
    this.outbox.addEventListener("signed-out", () => this.status(t("session.expired"), "error"));
    // A camera left running in the background drains the battery and blocks other apps from it.
    document.addEventListener("visibilitychange", () => { if (document.hidden) this.closeCamera(); });
    window.addEventListener("online", () => {
      this.status(t("online.back"), "info");
      // Started without network: now the sign-in can be checked, and the waiting confirmations sent.
      if (!this.me) this.resume();
      this.outbox.flush();
    });
    window.addEventListener("offline", () => this.status(t("offline.now"), "error"));
    setInterval(() => { if (this.me) this.outbox.flush(); }, RETRY_EVERY_MS);
    this.showLanguage();
  }

  showScanBar(visible) {
    $("scanbar").hidden = !visible;
    if (visible) this.refocus();
  }

  dispatchScan(raw) {
    if (this.screen && this.screen.onScan) this.screen.onScan(raw);
  }

  // One line at the top of the screen for what just happened: "error" (red), "ok" (green), "info".
  status(text, kind = "info") {
    const line = $("status");
    line.textContent = text || "";
    line.className = "status " + (text ? kind : "");
  }

  rememberTask(task) {
    this.tasks.set(task.id, task);
    sessionStorage.setItem("handheld.tasks", JSON.stringify([...this.tasks]));
  }

  async item(sku) {
    if (!sku) return null;
    if (!this.items.has(sku)) {
      try {
        this.items.set(sku, await api("GET", `/items/${encodeURIComponent(sku)}`));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return null; // unknown here (offline): the server says what it needs when the line is confirmed
      }
    }
    return this.items.get(sku);
  }

  // ---------------------------------------------------------------- language

  showLanguage() {
    $("lang-button").textContent = language().toUpperCase();
    translatePage();
  }

  async setLanguage(lang, { save = true } = {}) {
    await useLanguage("handheld", lang);
    localStorage.setItem("handheld.lang", lang);
    this.showLanguage();
    if (save && this.me) {
      try {
        this.me = { ...this.me, ...(await api("PATCH", "/auth/me", { locale: lang })) };
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        this.status(t("language.not_saved"), "error"); // still switched on this device
      }
    }
  }

  async nextLanguage() {
    const codes = Object.keys(LANGUAGES);
    await this.setLanguage(codes[(codes.indexOf(language()) + 1) % codes.length]);
    // Redraw the screen in the new language without losing what was scanned on the current line.
    if (this.screen && this.screen.redraw) this.screen.redraw();
    else this.route();
  }

  // ---------------------------------------------------------------- offline outbox

  async showOutbox() {
    if (!this.me) { $("outbox").hidden = true; return; }
    const [waiting, conflicts] = await Promise.all([this.outbox.pending(), this.outbox.conflicts()]);
    const badge = $("outbox");
    badge.hidden = waiting.length === 0;
    badge.textContent = t("outbox.waiting", { count: waiting.length });
    this.showConflicts(conflicts);
  }

  showConflicts(conflicts) {
    const sheet = $("conflicts");
    sheet.hidden = conflicts.length === 0;
    replace($("conflict-list"), conflicts.map((conflict) => h("li.conflict", {},
      h("strong", { text: conflict.label }),
      h("p", { text: conflict.detail }),
      h("button.big", { type: "button", text: t("conflicts.ok"), onclick: () => this.outbox.acknowledge(conflict.id) }),
    )));
  }

  replayed({ entry }) {
    good();
    this.status(t("outbox.sent", { what: entry.label }), "ok");
    if (this.screen && this.screen.refresh) this.screen.refresh();
  }

  // ---------------------------------------------------------------- camera

  async openCamera() {
    $("camera").hidden = false;
    this.cameraMessage(t("camera.starting"));
    try {
      await this.camera.start();
      this.cameraMessage(t("camera.aim"));
    } catch (error) {
      bad();
      this.cameraMessage(t(`camera.${error.reason || "failed"}`));
    }
  }

  cameraMessage(text) {
    $("camera-message").textContent = text;
  }

  closeCamera() {
    this.camera.stop();
    $("camera").hidden = true;
    this.refocus();
  }
}

// The app itself stays on the device, so a reload without network still opens it (see sw.js).
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js").catch((error) => console.warn("no offline copy of the app", error));
}

const app = new App();
window.addEventListener("pagehide", () => app.camera.stop());
app.start();
