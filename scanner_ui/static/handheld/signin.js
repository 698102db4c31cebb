// Sign-in: scan the badge (the wedge types it and presses Enter), then the PIN on the keypad.

import { ApiError, api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { h, replace } from "./dom.js";
import { bad, good } from "./feedback.js";

// A badge printed as Code 128 arrives with the scanner's AIM identifier (]C0) when that is switched
// on; badges are plain codes, so it is dropped here.
const AIM_PREFIX = /^\][A-Za-z][0-9A-Za-z]/;

// Built here rather than in the page's HTML: the badge field appears only once it is wired, so a
// badge scanned while the scripts load cannot trigger a native form submission (which would put the
// PIN in a URL). No <form> for the same reason; Enter is handled on the fields.
export function showSignIn(app, main) {
  const badge = h("input#badge.field", { name: "badge", autocomplete: "off", autocapitalize: "characters",
                                         spellcheck: "false", "data-testid": "badge" });
  const pin = h("input#pin.field", { name: "pin", type: "password", inputmode: "numeric", autocomplete: "off",
                                     "data-testid": "pin" });
  const submit = h("button.big.primary", { type: "button", text: t("signin.submit") });

  async function signIn() {
    const code = badge.value.trim().replace(AIM_PREFIX, "");
    if (!code) { badge.focus(); return; }
    if (!pin.value) { pin.focus(); return; }
    submit.disabled = true;
    try {
      const answer = await api("POST", "/auth/login/badge", { badge: code, pin: pin.value, device: app.device });
      app.status("");
      badge.value = pin.value = "";
      await app.signedIn({ ...answer.user, user_id: answer.user.id, csrf_token: answer.csrf_token });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      bad();
      app.status(error.offline ? t("offline.signin") : error.message, "error");
      pin.value = "";
      pin.focus();
    } finally {
      submit.disabled = false;
    }
  }

  badge.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== "Tab") return;
    event.preventDefault();
    if (badge.value.trim()) { good(); pin.focus(); }
  });
  pin.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); signIn(); }
  });
  submit.addEventListener("click", signIn);

  replace(main, h("section#signin.screen", {},
    h("h1", { text: t("signin.title") }),
    h("div.form", {},
      h("label", { for: "badge", text: t("signin.badge") }), badge,
      h("label", { for: "pin", text: t("signin.pin") }), pin,
      submit)));
  badge.focus();
  return {};
}
