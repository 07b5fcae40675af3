// The IDE's one way to the control plane: /api/v1 with the session cookie, and the
// session's CSRF token on every call that changes something.

let csrf = "";

/** An error the API answered: its HTTP status, code and message. */
export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail || {};
  }
}

export function setCsrf(token) {
  csrf = token || "";
}

const SAFE = new Set(["GET", "HEAD"]);

/** Call the API: JSON in and out; throws ApiError; a 401 tells the page to sign in. */
export async function api(path, { method = "GET", body, raw, signal, headers = {} } = {}) {
  const init = { method, headers: { accept: "application/json", ...headers }, signal, credentials: "same-origin" };
  if (!SAFE.has(method)) init.headers["X-CSRF-Token"] = csrf;
  if (raw !== undefined) {
    init.body = raw;
  } else if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 401) window.dispatchEvent(new CustomEvent("atoll:signed-out"));
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = text;
  }
  if (!response.ok) {
    const error = payload && payload.error ? payload.error : {};
    throw new ApiError(response.status, error.code || "http_" + response.status, error.message || `HTTP ${response.status}`, error.detail);
  }
  return payload;
}

/** The signed-in session (its tenant and CSRF token), or null when signed out. */
export async function currentSession() {
  try {
    const session = await api("/session");
    setCsrf(session.csrf_token);
    return session;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}
