// An agent turn in the browser: its streamed events folded into steps, and the one turn
// per app that runs. The turn lives here, outside React, so that looking at another panel
// while it works does not close its stream (a client that leaves stops the turn).
import { useSyncExternalStore } from "react";
import { streamEvents, isAbort } from "../sse.js";
import { api } from "../api.js";

const MAX_STEPS = 600; // a turn has at most 200 model answers; keep the page light anyway
const MAX_TEXT = 40_000; // characters of one text step or tool result kept

export const EMPTY_USAGE = { prompt: 0, completion: 0, cost_usd: 0 };

/** A turn before its first event. */
export function newTurn(prompt) {
  return { prompt, steps: [], dropped: 0, usage: EMPTY_USAGE, running: true, open: false, stopping: false, result: null, error: null };
}

const cut = (text, most = MAX_TEXT) => (typeof text === "string" && text.length > most ? text.slice(0, most) + "\n… (cut)" : String(text ?? ""));

function push(turn, step) {
  const steps = [...turn.steps, step];
  const over = steps.length - MAX_STEPS;
  return over > 0 ? { ...turn, steps: steps.slice(over), dropped: turn.dropped + over } : { ...turn, steps };
}

/** The turn after one event of its stream (pure: the tests and the panel share it). */
export function foldEvent(turn, event) {
  switch (event && event.kind) {
    case "text": {
      const last = turn.steps[turn.steps.length - 1];
      if (last && last.kind === "text") {
        const steps = turn.steps.slice(0, -1);
        steps.push({ ...last, text: cut(last.text + (event.text || "")) });
        return { ...turn, steps };
      }
      return push(turn, { kind: "text", text: cut(event.text || "") });
    }
    case "tool_call":
      return push(turn, { kind: "tool", id: event.id, name: String(event.name || "?"), arguments: cut(event.arguments, 20_000), result: null });
    case "tool_result": {
      const at = turn.steps.findLastIndex((s) => s.kind === "tool" && s.id === event.id && !s.result);
      if (at < 0) return turn;
      const steps = turn.steps.slice();
      steps[at] = { ...steps[at], result: { ok: Boolean(event.ok), text: cut(event.text) } };
      return { ...turn, steps };
    }
    case "checks":
      return push(turn, { kind: "checks", errors: (event.errors || []).slice(0, 50).map((e) => cut(e, 2000)) });
    case "dependencies":
      return push(turn, { kind: "dependencies", added: (event.added || []).slice(0, 50).map(String) });
    case "usage":
      return { ...turn, usage: { prompt: event.prompt || 0, completion: event.completion || 0, cost_usd: event.cost_usd || 0 } };
    case "done":
      return { ...turn, done: event };
    case "result":
      return {
        ...turn,
        result: event,
        usage: { prompt: event.prompt_tokens ?? turn.usage.prompt, completion: event.completion_tokens ?? turn.usage.completion, cost_usd: event.cost_usd ?? turn.usage.cost_usd },
      };
    case "error":
      return { ...turn, error: { code: event.code, message: event.message || "the turn failed", detail: event.detail } };
    default:
      return turn;
  }
}

/** What a tool call is about, in a few words: the file, the pattern, the SQL... */
export function callSubject(name, args) {
  let parsed = null;
  try {
    parsed = JSON.parse(args || "{}");
  } catch {
    return "";
  }
  if (!parsed || typeof parsed !== "object") return "";
  for (const key of ["path", "from", "pattern", "sql", "function", "package", "name"]) {
    if (typeof parsed[key] === "string") {
      const value = parsed[key].replace(/\s+/g, " ");
      return value.length > 80 ? value.slice(0, 80) + "…" : value;
    }
  }
  return "";
}

// -- the running turn of each app ----------------------------------------------------

const running = new Map(); // app -> {turn, controller}
const listeners = new Set();

function publish(app, turn, controller) {
  running.set(app, { turn, controller });
  for (const listener of listeners) listener();
}

function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The app's current (or last) turn in this page, or null; re-renders as it streams. */
export function useTurn(app) {
  return useSyncExternalStore(subscribe, () => (running.get(app) || { turn: null }).turn);
}

/** Forget the app's last turn in this page (the panel then shows nothing or history). */
export function clearTurn(app) {
  const current = running.get(app);
  if (current && current.turn && current.turn.running) return;
  running.delete(app);
  for (const listener of listeners) listener();
}

/** Start a turn; resolves when its stream ends. Events are batched per animation frame. */
export async function startTurn(app, prompt, csrf, onEnd) {
  const controller = new AbortController();
  let turn = newTurn(prompt);
  publish(app, turn, controller);
  let queued = [];
  let frame = 0;
  const flush = () => {
    frame = 0;
    for (const event of queued) turn = foldEvent(turn, event);
    queued = [];
    const current = running.get(app);
    if (current && current.turn && current.turn.stopping) turn = { ...turn, stopping: true };
    if (current && current.turn && current.turn.open) turn = { ...turn, open: true };
    publish(app, turn, controller);
  };
  try {
    await streamEvents(`/apps/${encodeURIComponent(app)}/agent/turns`, {
      method: "POST",
      body: { prompt },
      csrf,
      signal: controller.signal,
      // From here on the server knows the turn: a stop reaches it.
      onOpen: () => {
        turn = { ...turn, open: true };
        publish(app, turn, controller);
      },
      onEvent: (event) => {
        queued.push(event);
        if (!frame) frame = requestAnimationFrame(flush);
      },
    });
  } catch (error) {
    if (!isAbort(error)) queued.push({ kind: "error", code: error.code || "network", message: error.message, detail: error.detail });
  } finally {
    if (frame) cancelAnimationFrame(frame);
    flush();
    if (!turn.result && !turn.error) turn = { ...turn, error: { code: "cut", message: "the stream ended before the turn did; see the history" } };
    turn = { ...turn, running: false, stopping: false };
    publish(app, turn, controller);
    if (onEnd) onEnd(turn);
  }
}

/** Ask the server to stop the app's turn at its next step; the stream then ends by itself. */
export async function stopTurn(app) {
  const current = running.get(app);
  if (!current || !current.turn || !current.turn.running || !current.turn.open) return;
  try {
    await api(`/apps/${encodeURIComponent(app)}/agent/stop`, { method: "POST" });
  } catch (error) {
    if (error.status === 404) current.controller.abort(); // the server has no turn: stop reading
    else throw error;
  }
  // Said only once the server took it: the turn ends at its next step, not before.
  const now = running.get(app);
  if (now && now.turn && now.turn.running) publish(app, { ...now.turn, stopping: true }, now.controller);
}
