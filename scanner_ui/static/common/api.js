// The one way the screens talk to the service: JSON over /api/v1 with the session cookie.
// Cookie sessions must send the CSRF token on every state-changing request; it comes from the
// sign-in reply or from /auth/me and is kept for this tab only.

const CSRF_KEY = "warehouse.csrf";
const JSON_TYPES = ["application/json", "application/problem+json"];

export class ApiError extends Error {
  // A problem+json reply (RFC 9457), or a network failure (status 0, offline = true).
  constructor(status, problem, offline = false) {
    super((problem && (problem.detail || problem.title)) || (offline ? "offline" : `HTTP ${status}`));
    this.status = status;
    this.problem = problem || {};
    this.offline = offline;
  }
}

export function rememberCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

export async function api(method, path, body, { idempotencyKey, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  return send(method, path, headers, body === undefined ? undefined : JSON.stringify(body), signal);
}

// POST a binary body (a camera frame for /scans/decode) with the same CSRF and error handling as api().
export async function apiUpload(path, blob, { signal, contentType } = {}) {
  const headers = { Accept: "application/json", "Content-Type": contentType || blob.type || "application/octet-stream" };
  return send("POST", path, headers, blob, signal);
}

async function send(method, path, headers, body, signal) {
  if (method !== "GET") {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let response;
  try {
    response = await fetch("/api/v1" + path, { method, headers, credentials: "same-origin", signal, body });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, null, true);
  }
  const type = (response.headers.get("Content-Type") || "").split(";")[0];
  const data = JSON_TYPES.includes(type) ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Who is signed in on this browser, or null; also picks up the CSRF token after a reload.
export async function whoAmI() {
  try {
    const me = await api("GET", "/auth/me");
    rememberCsrf(me.csrf_token);
    return me;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}
