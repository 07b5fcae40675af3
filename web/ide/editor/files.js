// The workspace as the editor sees it: the file list, a file's text and SHA-256, and writes
// that are revisions on top of a base (a stale base is a conflict, never an overwrite).
import { api, ApiError } from "../api.js";

export const EDIT_LIMIT = 512 * 1024; // bigger text opens read-only (the browser stays quick)
export const OPEN_LIMIT = 4 * 1024 * 1024; // bigger files are not loaded at all
const BINARY = /\.(png|jpe?g|gif|webp|avif|ico|bmp|woff2?|ttf|otf|eot|zip|gz|tgz|br|pdf|mp[34]|webm|ogg|wav|wasm|sqlite|db|bin)$/i;

/** A workspace path as URL path segments (tenant input: every segment encoded). */
export const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");

const appUrl = (app) => `/apps/${encodeURIComponent(app)}`;

export const fileUrl = (app, path) => `/api/v1${appUrl(app)}/files/${encodePath(path)}`;

/** The head revision and its files [{path, sha256, size}]. */
export function listFiles(app) {
  return api(`${appUrl(app)}/files`);
}

/** Whether a file is text the editor can show (by name first, then by its bytes). */
export function looksBinary(path, bytes) {
  if (BINARY.test(path)) return true;
  if (!bytes) return false;
  if (bytes.subarray(0, 8000).includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

/** A file at the head: {text | null (binary), sha, revision, size}. */
export async function readFile(app, path, revision) {
  const query = revision ? `?revision=${encodeURIComponent(revision)}` : "";
  const response = await fetch(fileUrl(app, path) + query, { credentials: "same-origin" });
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `HTTP ${response.status}`, error.detail);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const binary = looksBinary(path, bytes);
  return {
    text: binary ? null : new TextDecoder().decode(bytes),
    sha: response.headers.get("x-atoll-sha256"),
    revision: response.headers.get("x-atoll-revision"),
    size: bytes.length,
  };
}

/** Write one file as a new revision on `base`; ApiError 409 (stale_revision) if it moved. */
export function writeFile(app, path, body, base, message) {
  const query = new URLSearchParams({ base: base || "" });
  if (message) query.set("message", message);
  return api(`${appUrl(app)}/files/${encodePath(path)}?${query}`, { method: "PUT", raw: body, headers: { "content-type": "application/octet-stream" } });
}

export function deleteFile(app, path, base) {
  return api(`${appUrl(app)}/files/${encodePath(path)}?base=${encodeURIComponent(base || "")}`, { method: "DELETE" });
}

/** Rename (or move) files as one revision: each old path deleted, its content added anew. */
export function renameFiles(app, moves, base) {
  const changes = moves.flatMap(({ from, to, sha }) => [
    { path: from, delete: true },
    { path: to, sha256: sha },
  ]);
  return api(`${appUrl(app)}/revisions`, { method: "POST", body: { base, changes, message: moves.map((m) => `rename ${m.from} to ${m.to}`).join("; ") } });
}

/** A SHA-256 in hex, as the server names blobs. */
export async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The dev environment: its URL and its latest build (state, revision, errors). */
export function devEnv(app) {
  return api(`${appUrl(app)}/envs/dev`);
}

/** The page checks of a page file's text (not saved), as [{line, column, severity, message}]. */
export async function checkPage(app, path, text, signal) {
  const result = await api(`${appUrl(app)}/pages/check?path=${encodeURIComponent(path)}`, { method: "POST", raw: text, signal, headers: { "content-type": "application/json" } });
  return result.issues.map((i) => ({ ...i, message: i.path && i.path !== "$" ? `${i.message} (${i.path})` : i.message }));
}

/** A check that a file name is one the workspace takes (the server has the last word). */
export function badPath(path) {
  if (!path || path.length > 1024) return "Give the file a name.";
  if (path.startsWith("/") || path.endsWith("/")) return "A path neither starts nor ends with /.";
  if (path.split("/").some((p) => p === "" || p === "." || p === "..")) return "No empty, . or .. parts.";
  return null;
}
