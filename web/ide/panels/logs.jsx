// The Logs panel: an environment's function logs, live (server-sent events, reconnecting
// when the stream drops), filtered by level and text, a request id one click from all its
// lines. The page keeps the newest 2,000 entries; pausing holds new ones back unseen.
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api.js";
import { isAbort, streamEvents } from "../sse.js";
import { ErrorNote, useLoad } from "../ui.jsx";
import { EnvTabs } from "./data.jsx";
import { clock, entryLevel, entryMatches, keepNewest, LEVELS, recordText } from "./logs-entries.js";

const BACKLOG = 500; // entries asked for when the stream (re)opens
const SHOWN_RECORDS = 20; // an invocation's log records shown before "more"
const SHOWN_OUTPUT = 4000; // characters of stdout/stderr shown before "more"

let nextId = 1;

/** Follow the environment's log: the entries, the stream's state, pause and clear. */
function useFollow(app, env) {
  const [entries, setEntries] = useState([]);
  const [status, setStatus] = useState({ state: "connecting", error: null });
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState([]);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    const controller = new AbortController();
    let lastTs = -Infinity; // a reconnect's backlog repeats what we have: skip it
    let queue = [];
    let frame = 0;
    let retry = 1000;
    let timer = 0;
    setEntries([]);
    setHeld([]);
    const flush = () => {
      frame = 0;
      const batch = queue;
      queue = [];
      if (pausedRef.current) setHeld((h) => keepNewest(h, batch));
      else setEntries((e) => keepNewest(e, batch));
    };
    const connect = async () => {
      setStatus({ state: "connecting", error: null });
      try {
        await streamEvents(`/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/logs?follow=true&limit=${BACKLOG}`, {
          signal: controller.signal,
          onOpen: () => setStatus({ state: "live", error: null }),
          onEvent: (entry) => {
            if (!entry || typeof entry !== "object") return;
            if (typeof entry.ts === "number") {
              if (entry.ts <= lastTs) return;
              lastTs = entry.ts;
            }
            retry = 1000;
            queue.push({ ...entry, _id: nextId++ });
            if (!frame) frame = requestAnimationFrame(flush);
          },
        });
        // The server ended the stream (a restart): open it again.
        setStatus({ state: "reconnecting", error: null });
      } catch (error) {
        if (isAbort(error)) return;
        setStatus({ state: "reconnecting", error });
        if (error.status === 404 || error.status === 400 || error.status === 401) return; // no use trying again
      }
      if (controller.signal.aborted) return;
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30_000);
    };
    connect();
    return () => {
      controller.abort();
      clearTimeout(timer);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [app, env]);

  function setPause(value) {
    setPaused(value);
    if (!value) {
      setEntries((e) => keepNewest(e, held));
      setHeld([]);
    }
  }
  return { entries, status, paused, held, setPause, clear: () => (setEntries([]), setHeld([])) };
}

function Output({ label, text, bad }) {
  const [all, setAll] = useState(false);
  const long = text.length > SHOWN_OUTPUT;
  return (
    <div className={`log-output ${bad ? "bad" : ""}`}>
      <span className="log-output-label">{label}</span>
      <pre>{long && !all ? text.slice(0, SHOWN_OUTPUT) + "…" : text}</pre>
      {long && !all ? (
        <button type="button" className="link-btn small" onClick={() => setAll(true)}>
          Show all {text.length} characters
        </button>
      ) : null}
    </div>
  );
}

function Entry({ entry, onRequest }) {
  const [allRecords, setAllRecords] = useState(false);
  const level = entryLevel(entry);
  const records = entry.logs || [];
  const shown = allRecords ? records : records.slice(0, SHOWN_RECORDS);
  let head;
  if (entry.kind === "build") {
    head = (
      <>
        <span className={`log-status ${entry.status === "failed" ? "s5" : "s2"}`}>build</span>
        <span className="log-text">{String(entry.text ?? "")}</span>
      </>
    );
  } else if (entry.kind === "sandbox-output") {
    head = (
      <>
        <span className="log-status">output</span>
        <span className="log-text">{String(entry.text ?? "")}</span>
      </>
    );
  } else {
    const status = Number(entry.status) || 0;
    head = (
      <>
        <span className={`log-status s${Math.floor(status / 100)}`}>{status || "—"}</span>
        <span className="log-call">
          {entry.method ? `${entry.method} ` : ""}
          <strong>{String(entry.function ?? entry.kind ?? "?")}</strong>
        </span>
        {typeof entry.duration_ms === "number" ? <span className="log-ms">{entry.duration_ms < 10 ? entry.duration_ms.toFixed(1) : Math.round(entry.duration_ms)} ms</span> : null}
        {entry.request_id ? (
          <button type="button" className="request-id" title="Show only this request" onClick={() => onRequest(entry.request_id)}>
            {entry.request_id}
          </button>
        ) : null}
      </>
    );
  }
  return (
    <li className={`log-entry level-${level}`} data-request-id={entry.request_id || undefined} data-level={level}>
      <div className="log-head">
        <time className="log-time" dateTime={typeof entry.ts === "number" ? new Date(entry.ts * 1000).toISOString() : undefined}>
          {clock(entry.ts)}
        </time>
        <span className={`log-level ${level}`}>{level}</span>
        {head}
      </div>
      {shown.length ? (
        <ul className="log-records">
          {shown.map((record, i) => (
            <li key={i} className={`level-${record.level}`}>
              <span className={`log-level ${record.level}`}>{record.level}</span>
              <span className="log-text">{recordText(record)}</span>
            </li>
          ))}
          {records.length > shown.length ? (
            <li>
              <button type="button" className="link-btn small" onClick={() => setAllRecords(true)}>
                {records.length - shown.length} more lines
              </button>
            </li>
          ) : null}
        </ul>
      ) : null}
      {entry.error ? <Output label="error" text={String(entry.error)} bad /> : null}
      {entry.stdout ? <Output label="stdout" text={String(entry.stdout)} /> : null}
      {entry.stderr ? <Output label="stderr" text={String(entry.stderr)} bad /> : null}
      {entry.truncated ? <div className="muted small">(output cut by the platform)</div> : null}
    </li>
  );
}

const STATE_TEXT = { connecting: "Connecting", live: "Live", reconnecting: "Reconnecting", paused: "Paused" };

export default function LogsPanel({ app, rest }) {
  const env = rest[0] || "dev";
  const envs = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs`), [app]);
  const { entries, status, paused, held, setPause, clear } = useFollow(app, env);
  const [level, setLevel] = useState("debug");
  const [text, setText] = useState("");
  const [requestId, setRequestId] = useState("");
  const filterBox = useRef(null);
  const list = useRef(null);
  const stick = useRef(true);

  const shown = useMemo(() => entries.filter((e) => entryMatches(e, { level, text: text.trim(), requestId })), [entries, level, text, requestId]);

  useEffect(() => {
    const onKey = (event) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement && document.activeElement.tagName);
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        filterBox.current && filterBox.current.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  useEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  const state = paused ? "paused" : status.state;
  return (
    <section className="panel-body logs-panel" aria-labelledby="logs-title">
      <div className="panel-head">
        <h2 id="logs-title">Logs</h2>
        <EnvTabs app={app} panel="logs" env={env} envs={envs.data} />
        <span className="grow" />
        <span className={`live-state ${state}`} role="status" aria-live="polite">
          <span className="live-dot" aria-hidden="true" />
          {STATE_TEXT[state] || state}
        </span>
      </div>
      <div className="log-toolbar">
        <input
          ref={filterBox}
          type="search"
          aria-label="Filter logs"
          placeholder="Filter: text, function, request id   ( / )"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && (setText(""), e.currentTarget.blur())}
        />
        <select aria-label="Level" value={level} onChange={(e) => setLevel(e.target.value)}>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l === "debug" ? "All levels" : `${l} and worse`}
            </option>
          ))}
        </select>
        {requestId ? (
          <span className="chip">
            request <code>{requestId}</code>
            <button type="button" aria-label="Show every request" onClick={() => setRequestId("")}>
              ×
            </button>
          </span>
        ) : null}
        <span className="grow" />
        <button type="button" className="btn small" onClick={() => setPause(!paused)} aria-pressed={paused}>
          {paused ? `Resume${held.length ? ` (${held.length} new)` : ""}` : "Pause"}
        </button>
        <button type="button" className="btn small ghost" onClick={clear}>
          Clear
        </button>
      </div>
      {status.error ? <ErrorNote error={status.error} /> : null}
      <div
        className="log-scroll"
        ref={list}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {shown.length ? (
          <ol className="log-list" aria-label={`Log of ${env}`}>
            {shown.map((entry) => (
              <Entry key={entry._id} entry={entry} onRequest={setRequestId} />
            ))}
          </ol>
        ) : (
          <div className="state empty log-empty">
            {entries.length ? (
              <>
                <strong>Nothing matches</strong>
                <span className="muted">{entries.length} entries are hidden by the filter.</span>
              </>
            ) : status.state === "connecting" ? (
              <>
                <span className="spinner" aria-hidden="true" />
                <span className="muted">Opening the log…</span>
              </>
            ) : (
              <>
                <strong>No log lines in {env} yet</strong>
                <span className="muted">Call one of the app's functions; its line appears here as it happens.</span>
              </>
            )}
          </div>
        )}
      </div>
      <p className="muted small log-foot">
        {shown.length} of {entries.length} entries shown (the newest {2000} are kept) · <kbd>/</kbd> filter
      </p>
    </section>
  );
}
