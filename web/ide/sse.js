// Server-sent events read with fetch(): EventSource can neither POST (an agent turn) nor
// send the session's CSRF header, and fetch() gives one way for both kinds of stream.
import { ApiError } from "./api.js";

// A stream that sends one line bigger than this is not one of ours: stop rather than
// let the buffer grow without end.
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

/** Parse one SSE event block: its joined `data:` lines as JSON, or null (comments, keep-alives). */
export function parseEvent(block) {
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
  }
  if (!data.length) return null;
  try {
    return JSON.parse(data.join("\n"));
  } catch {
    return null;
  }
}

/**
 * Open a stream at /api/v1{path} and call onEvent(event) for each `data:` event until it
 * ends or `signal` aborts. An error answer (before the stream starts) throws ApiError, like
 * api() does; onOpen() is called once the stream is accepted. Resolves when the server
 * closes the stream.
 */
export async function streamEvents(path, { method = "GET", body, csrf, signal, onEvent, onOpen }) {
  const headers = { accept: "text/event-stream" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || "";
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) window.dispatchEvent(new CustomEvent("atoll:signed-out"));
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(response.status, error.code || "http_" + response.status, error.message || `HTTP ${response.status}`, error.detail);
  }
  if (onOpen) onOpen(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) onEvent(event);
      }
      if (buffer.length > MAX_EVENT_CHARS) throw new Error("the server sent an event too large to show");
    }
  } finally {
    reader.releaseLock();
  }
}

/** True for the error fetch() throws when its signal aborted it (the user left or stopped). */
export const isAbort = (error) => error && (error.name === "AbortError" || (error.cause && error.cause.name === "AbortError"));
