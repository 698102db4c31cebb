// The page people without a supervisor's permissions get at /dashboard: in their language, with
// the way to the screen that is theirs.
import { api, whoAmI } from "../common/api.js";
import { pickLanguage, useLanguage } from "../common/i18n.js";

const me = await whoAmI().catch(() => null);
await useLanguage("dashboard", me?.locale || document.body.dataset.locale || pickLanguage());
document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api("POST", "/auth/logout");
  } finally {
    window.location.assign("/signin?next=/dashboard");
  }
});
