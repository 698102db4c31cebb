// Small helpers every panel shares: building elements without innerHTML (text from the server is
// never parsed as markup), formatting numbers and times in the user's language, and names for ids.
import { language, t } from "../common/i18n.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Formats follow the browser's regional variant of the screen language (en-GB writes 24-hour
// times and day/month dates, en-US does not); the words stay in the user's chosen language.
export function formatLocale() {
  const lang = language();
  return (navigator.languages || []).find((tag) => tag.slice(0, 2) === lang) || lang;
}

export function number(value) {
  return value === undefined || value === null ? "–" : new Intl.NumberFormat(formatLocale()).format(value);
}

export function signed(value) {
  return new Intl.NumberFormat(formatLocale(), { signDisplay: "exceptZero" }).format(value);
}

export function clock(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(formatLocale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .format(new Date(iso));
}

export function dateTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(formatLocale(), { dateStyle: "short", timeStyle: "medium" }).format(new Date(iso));
}

// Today's times as a clock, older ones with their date: most of what a shift looks at is today's.
export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toDateString() === new Date().toDateString() ? clock(iso) : dateTime(iso);
}

// "3 min ago": the floor panel says how fresh someone's last activity is.
export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(formatLocale(), { numeric: "auto", style: "short" });
  if (Math.abs(seconds) < 60) return format.format(seconds, "second");
  if (Math.abs(seconds) < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

// Names for the user ids that events and reports carry (GET /reports/people, loaded once).
const people = new Map();

export function rememberPeople(list) {
  for (const person of list) people.set(person.id, person);
}

export function personName(id) {
  if (id === null || id === undefined) return t("common.system");
  return people.get(id)?.display_name || t("common.user_id", { id });
}

export function workflowName(workflow) {
  return label("workflow", workflow);
}

// After a live change, mark a cell for a moment so the eye finds what moved. Restarting the CSS
// animation needs a reflow between removing and adding the class.
export function flash(node, direction = "") {
  node.classList.remove("flash", "up", "down");
  void node.offsetWidth;
  node.classList.add("flash");
  if (direction) node.classList.add(direction);
}

// Text for a code the server sends (reason codes, workflows, kinds): the dictionary's words when it
// has them, else the code made readable, so a code added on the server later still shows sensibly.
export function label(group, code) {
  if (code === null || code === undefined || code === "") return "";
  const key = `${group}.${code}`;
  const text = t(key);
  return text === key ? String(code).replaceAll("_", " ") : text;
}

// An Idempotency-Key. crypto.randomUUID exists only in secure contexts (HTTPS or localhost); a
// dashboard on a plain-HTTP warehouse LAN still needs keys, so build one from getRandomValues.
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// At most one call of ``fn`` per ``ms`` however often it is asked for. A throttle, not a debounce:
// events on a busy floor never pause, and the panel must still move.
export function throttle(fn, ms) {
  let pending = null;
  return () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      fn();
    }, ms);
  };
}
