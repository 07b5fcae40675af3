// Calling the app's functions: {apiBase}/{name} on the app's own origin.
/**
 * Calling the app's functions over HTTP on the app's own origin.
 * @module api
 */
const FUNCTION_TIMEOUT_MS = 60_000;

/**
 * Call one of the app's functions: GET/POST ... {apiBase}/{name}.
 * @param {string} apiBase where functions are served (`/api`)
 * @param {string} name the function
 * @param {string} method the HTTP method
 * @param {Record<string, unknown>} [query] query parameters (objects are sent as JSON)
 * @param {unknown} [body] the JSON body (not sent with GET)
 * @returns {Promise<any>} the parsed JSON answer (text when it is not JSON; null when empty)
 * @throws {Error} on a non-2xx answer, with `status` and `payload` set
 */
export async function callFunction(apiBase, name, method, query, body) {
  const url = new URL(`${apiBase.replace(/\/$/, "")}/${encodeURIComponent(name)}`, location.href);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  // The gateway times functions out long before this; it only bounds a stuck connection.
  const init = { method, headers: { accept: "application/json" }, signal: AbortSignal.timeout(FUNCTION_TIMEOUT_MS) };
  if (body !== undefined && body !== null && method !== "GET") {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let payload = null;
  try { payload = text ? JSON.parse(text) : null; } catch { payload = text; }
  if (!response.ok) {
    const detail = payload && payload.error ? payload.error.message || payload.error : payload;
    const error = new Error(`${name}: HTTP ${response.status}${detail ? ` — ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
    // Kept for forms, which show a 422's field messages at the fields.
    error.status = response.status;
    error.payload = payload;
    throw error;
  }
  return payload;
}

