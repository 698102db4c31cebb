// Screen text in the user's language. Each screen has its own dictionaries under
// /ui/static/i18n/<bundle>.<lang>.json; a key missing in a language falls back to English,
// and a key missing everywhere shows as itself so it is noticed, never as a blank.

export const LANGUAGES = { en: "English", de: "Deutsch" };
const FALLBACK = "en";
let strings = {};
let fallback = {};
let current = FALLBACK;

async function load(bundle, lang) {
  const response = await fetch(`/ui/static/i18n/${bundle}.${lang}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`no ${lang} text for ${bundle}`);
  return response.json();
}

export function pickLanguage(preferred) {
  const wanted = [preferred, ...(navigator.languages || [])].filter(Boolean).map((l) => l.slice(0, 2));
  return wanted.find((l) => l in LANGUAGES) || FALLBACK;
}

export async function useLanguage(bundle, lang) {
  current = lang in LANGUAGES ? lang : FALLBACK;
  fallback = await load(bundle, FALLBACK);
  strings = current === FALLBACK ? fallback : await load(bundle, current).catch(() => fallback);
  document.documentElement.lang = current;
  translatePage();
  return current;
}

export function language() {
  return current;
}

// t("pick.scan_bin", {bin: "AMS-P-01"}) -> "Scan bin AMS-P-01"
export function t(key, vars = {}) {
  const text = strings[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// Static markup carries data-i18n="key" (text) or data-i18n-placeholder / data-i18n-label.
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
