"use strict";
// Sign-in against the JSON API; on success go to the page that sent us here.
(function () {
  const next = document.body.dataset.next || "/";
  const message = document.getElementById("message");
  const forms = {
    badge: document.getElementById("badge-form"),
    password: document.getElementById("password-form"),
    enrol: document.getElementById("enrol-form"),
  };

  function show(formId) {
    for (const form of Object.values(forms)) form.hidden = form.id !== formId;
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.panel === formId));
    }
    message.textContent = "";
    const first = document.querySelector("#" + formId + " input:not([type=hidden])");
    if (first) first.focus();
  }

  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => show(tab.dataset.panel));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  }

  function values(form) {
    const data = {};
    for (const [key, value] of new FormData(form).entries()) if (value !== "") data[key] = value;
    return data;
  }

  async function submit(form, url) {
    message.textContent = "";
    const { ok, data } = await post(url, values(form));
    if (!ok) {
      message.textContent = data.detail || "Sign-in failed.";
      return;
    }
    if (data.status === "totp_enrolment_required") {
      forms.enrol.querySelector("[name=enrolment_token]").value = data.enrolment.enrolment_token;
      document.getElementById("enrol-secret").textContent = data.enrolment.secret;
      document.getElementById("enrol-uri").href = data.enrolment.otpauth_uri;
      show("enrol-form");
      return;
    }
    window.location.assign(next);
  }

  forms.badge.addEventListener("submit", (e) => { e.preventDefault(); submit(forms.badge, "/api/v1/auth/login/badge"); });
  forms.password.addEventListener("submit", (e) => { e.preventDefault(); submit(forms.password, "/api/v1/auth/login/password"); });
  forms.enrol.addEventListener("submit", (e) => { e.preventDefault(); submit(forms.enrol, "/api/v1/auth/totp/enrol"); });
})();
