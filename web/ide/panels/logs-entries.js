// Log entries as the control plane keeps them (runtime/logs.py): one per invocation
// ({ts, request_id, function, method, status, duration_ms, stdout, stderr, logs: [{level,
// message, fields}], error}), one per finished build ({kind: "build", status, number,
// text}) and sandbox output outside any call ({kind: "sandbox-output", text}). Pure
// functions: how bad an entry is, and whether it matches a filter.

export const LEVELS = ["debug", "info", "warning", "error"];
export const MAX_ENTRIES = 2000; // the newest kept in the page; older ones drop off

const rank = (level) => Math.max(0, LEVELS.indexOf(level));

/** The worst level in an entry: its records', its status's, its error's. */
export function entryLevel(entry) {
  let worst = 1; // info
  if (entry.kind === "build") return entry.status === "failed" ? "error" : "info";
  if (entry.kind === "sandbox-output") return "warning";
  for (const record of entry.logs || []) worst = Math.max(worst, rank(record.level));
  // A 4xx is the caller's mistake (a warning), a 5xx or an error without a status ours.
  if (entry.status >= 500 || (entry.error && !(entry.status >= 400))) worst = 3;
  else if (entry.status >= 400 || entry.stderr) worst = Math.max(worst, 2);
  return LEVELS[worst];
}

/** An atoll.log record as one line: its message, then its fields as key=value. */
export function recordText(record) {
  const fields = record.fields && typeof record.fields === "object" ? Object.entries(record.fields).map(([k, v]) => `${k}=${v}`) : [];
  return [String(record.message ?? ""), ...fields].join(" ");
}

/** Everything searchable in an entry, lower-cased. */
export function entryHaystack(entry) {
  const parts = [entry.function, entry.method, entry.request_id, entry.status, entry.text, entry.stdout, entry.stderr, entry.error, entry.kind];
  for (const record of entry.logs || []) parts.push(recordText(record));
  return parts
    .filter((p) => p !== undefined && p !== null)
    .join("\n")
    .toLowerCase();
}

/** Does the entry pass the filters: at least `level`, containing `text`, of `requestId`? */
export function entryMatches(entry, { level = "debug", text = "", requestId = "" }) {
  if (rank(entryLevel(entry)) < rank(level)) return false;
  if (requestId && entry.request_id !== requestId) return false;
  if (text && !entryHaystack(entry).includes(text.toLowerCase())) return false;
  return true;
}

/** Keep the newest MAX_ENTRIES of `entries` plus `more`. */
export function keepNewest(entries, more, most = MAX_ENTRIES) {
  const all = entries.concat(more);
  return all.length > most ? all.slice(all.length - most) : all;
}

/** `HH:MM:SS.mmm` of an entry's time (seconds since the epoch), in the viewer's zone. */
export function clock(ts) {
  if (typeof ts !== "number") return "";
  const d = new Date(ts * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
