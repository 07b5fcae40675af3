// One page: its state, its data sources, and the actions its events run.
import { createElement as h, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { resolve, setPath } from "./expr.js";
import { callFunction } from "./api.js";
import { icon } from "./icons.js";
import { RenderNode } from "./nodes.js";

const QUERY_RELOAD_DELAY_MS = 250;

const queryOf = () => Object.fromEntries(new URLSearchParams(location.search));

/** Renders a page and owns its state and data. */
export function PageView({ page, boot, navigate, route, dataEpoch = 0 }) {
  const query = useMemo(queryOf, [page]);
  const [state, setState] = useState(() => resolve(page.state || {}, { query }));
  const [data, setData] = useState(() => {
    const initial = {};
    for (const [name, source] of Object.entries(page.data || {})) {
      initial[name] = source.function ? { status: "loading" } : { status: "ready", value: source.value };
    }
    return initial;
  });
  const [messages, setMessages] = useState([]);
  const stateRef = useRef(state);
  stateRef.current = state;
  // dataRef is the source of truth, so an action right after a refresh reads the new data
  // even before React has re-rendered.
  const dataRef = useRef(data);
  const generation = useRef({});
  const putData = useCallback((name, value) => {
    dataRef.current = { ...dataRef.current, [name]: value };
    setData(dataRef.current);
  }, []);

  const scopeNow = useCallback(() => {
    const values = {};
    for (const [k, v] of Object.entries(dataRef.current)) values[k] = v.value;
    return { data: values, state: stateRef.current, query };
  }, [query]);

  const refresh = useCallback(async (names) => {
    const sources = Object.entries(page.data || {}).filter(([n, s]) => s.function && (!names || names.includes(n)));
    await Promise.all(sources.map(async ([name, source]) => {
      const mine = (generation.current[name] = (generation.current[name] || 0) + 1);
      const before = dataRef.current[name];
      putData(name, { ...before, status: before && "value" in before ? "ready" : "loading", refreshing: true });
      let result;
      try {
        const q = resolve(source.query || {}, { state: stateRef.current, query });
        result = { status: "ready", value: await callFunction(boot.apiBase, source.function, source.method || "GET", q) };
      } catch (err) {
        result = { status: "error", error: String(err && err.message ? err.message : err) };
      }
      // Only the latest load of a source counts; an older, slower answer is dropped.
      if (generation.current[name] === mine) putData(name, result);
    }));
  }, [page, boot.apiBase, query, putData]);

  // dataEpoch: a new build of the app's functions is live in dev (main.js), load again.
  useEffect(() => { refresh(null); }, [refresh, dataEpoch]);
  useQueryReloads(page, state, query, refresh);

  const message = useCallback((text, level = "info") => {
    const id = Math.random().toString(36).slice(2);
    setMessages((m) => [...m, { id, text: String(text), level }]);
    setTimeout(() => setMessages((m) => m.filter((x) => x.id !== id)), 4000);
  }, []);

  const setStatePath = useCallback((path, value) => {
    stateRef.current = setPath(stateRef.current, path, value);
    setState(stateRef.current);
  }, []);

  const run = useCallback(async (actions, scope, hooks) => {
    for (const action of actions) {
      const live = { ...scope, ...scopeNow(), ...aliases(scope) };
      try {
        if (action.action === "setState") setStatePath(action.path, resolve(action.value ?? null, live));
        else if (action.action === "refresh") await refresh(action.data ? [].concat(action.data) : null);
        else if (action.action === "navigate") navigate(String(resolve(action.to, live)));
        else if (action.action === "message") message(resolve(action.text, live), action.level);
        else if (action.action === "call") {
          let result;
          try {
            result = await callFunction(boot.apiBase, action.function, action.method || "POST",
              resolve(action.query || {}, live), resolve(action.body ?? null, live));
          } catch (err) {
            const handled = hooks && hooks.onCallError ? hooks.onCallError(err) : false;
            if (action.onError && action.onError.length) await run(action.onError, { ...scope, error: { message: String(err.message || err), status: err.status ?? null } }, hooks);
            else if (!handled) message(String(err.message || err), "error");
            return false;
          }
          if (action.onSuccess && !(await run(action.onSuccess, { ...scope, result }, hooks))) return false;
        } else message(`unknown action ${JSON.stringify(action.action)}`, "error");
      } catch (err) {
        message(`${action.action} failed: ${err.message || err}`, "error");
        return false;
      }
    }
    return true;
  }, [scopeNow, setStatePath, refresh, navigate, message, boot.apiBase]);

  const values = {};
  for (const [k, v] of Object.entries(data)) values[k] = v.value;
  const scope = { data: values, state, query };
  const version = useVersion(state, data);
  const ctx = { state, data, version, route, setState: setStatePath, run, refresh, navigate, components: boot.components || {} };
  return h("div", { className: "atoll-page" },
    h(RenderNode, { node: page.root, scope, ctx }),
    h("div", { className: "atoll-messages", role: "status", "aria-live": "polite" },
      messages.map((m) => h("div", { key: m.id, className: `atoll-message atoll-${m.level}` },
        icon({ success: "check-circle", error: "x-circle" }[m.level] ?? "info"), h("span", null, m.text)))));
}

// Reload a data source when its query (bound to page state) changes, e.g. a search box.
function useQueryReloads(page, state, query, refresh) {
  const keys = useMemo(() => {
    const out = {};
    for (const [name, source] of Object.entries(page.data || {})) {
      if (!source.function || !source.query) continue;
      try { out[name] = JSON.stringify(resolve(source.query, { state, query })); } catch { out[name] = null; }
    }
    return out;
  }, [page, state, query]);
  const last = useRef(keys);
  const pending = useRef(new Set());
  useEffect(() => {
    for (const name of Object.keys(keys)) if (keys[name] !== last.current[name]) pending.current.add(name);
    last.current = keys;
    if (!pending.current.size) return undefined;
    const timer = setTimeout(() => {
      const names = [...pending.current];
      pending.current.clear();
      refresh(names);
    }, QUERY_RELOAD_DELAY_MS);
    return () => clearTimeout(timer);
  }, [keys, refresh]);
}

// A number that changes whenever page state or data does (error boundaries retry on it).
function useVersion(state, data) {
  const ref = useRef({ state, data, n: 0 });
  if (ref.current.state !== state || ref.current.data !== data) ref.current = { state, data, n: ref.current.n + 1 };
  return ref.current.n;
}

// Names other than data/state/query (repeat aliases like `todo`, `event`, `form`, `result`)
// keep the values they had when the event fired; data and state are read fresh per action.
function aliases(scope) {
  const out = {};
  for (const k of Object.keys(scope || {})) if (!["data", "state", "query"].includes(k)) out[k] = scope[k];
  return out;
}
