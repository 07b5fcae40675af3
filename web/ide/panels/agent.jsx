// The Agent panel: ask for a change, watch the turn's steps stream (tool calls folded with
// their results, the checks, the diff of each file it changed), its tokens and cost; stop
// it, undo the last kept turn, and look back at earlier turns.
import { useEffect, useRef, useState } from "react";
import { api } from "../api.js";
import { Dialog, Empty, ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";
import TurnDiff from "./agent-diff.jsx";
import { callSubject, clearTurn, startTurn, stopTurn, useTurn } from "./agent-turn.js";

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || "");
export const RUN_KEYS = isMac ? "⌘ Enter" : "Ctrl Enter";

export const formatTokens = (n) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n || 0));
export const formatCost = (usd) => (usd ? (usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`) : "$0");

function Usage({ usage, label = "Usage" }) {
  return (
    <dl className="usage" aria-label={label}>
      <div>
        <dt>in</dt>
        <dd>{formatTokens(usage.prompt)}</dd>
      </div>
      <div>
        <dt>out</dt>
        <dd>{formatTokens(usage.completion)}</dd>
      </div>
      <div>
        <dt>cost</dt>
        <dd>{formatCost(usage.cost_usd)}</dd>
      </div>
    </dl>
  );
}

function ModelNotConfigured({ error }) {
  return (
    <div className="setup-note" role="alert">
      <strong>No model is configured for the agent.</strong>
      {error ? <p>{error.message}</p> : null}
      <p>The server's operator sets, before starting <code>atoll serve</code>:</p>
      <pre>{"ATOLL_LLM_BASE_URL=http://127.0.0.1:11434/v1\nATOLL_LLM_MODEL=qwen2.5-coder:32b\nATOLL_LLM_API_KEY=...   # if the server needs one"}</pre>
      <p>
        Or bring your own for this tenant: <code>PUT /api/v1/agent/model</code> with <code>{'{"base_url", "model", "api_key"}'}</code> (any OpenAI-compatible server).
      </p>
    </div>
  );
}

function ToolStep({ step }) {
  const subject = callSubject(step.name, step.arguments);
  const state = step.result ? (step.result.ok ? "ok" : "failed") : "running";
  return (
    <li className={`step tool ${state}`} data-kind="tool">
      <details>
        <summary>
          <span className={`step-dot ${state}`} aria-hidden="true" />
          <code className="tool-name">{step.name}</code>
          {subject ? <span className="tool-subject">{subject}</span> : null}
          <span className="step-state">{state === "running" ? "running…" : state === "ok" ? "ok" : "failed"}</span>
        </summary>
        <div className="tool-detail">
          <div className="muted small">Arguments</div>
          <pre className="scroll-pre">{step.arguments}</pre>
          {step.result ? (
            <>
              <div className="muted small">Result</div>
              <pre className={`scroll-pre ${step.result.ok ? "" : "bad"}`}>{step.result.text}</pre>
            </>
          ) : null}
        </div>
      </details>
    </li>
  );
}

function Step({ step }) {
  if (step.kind === "text") {
    return (
      <li className="step text" data-kind="text">
        <p>{step.text}</p>
      </li>
    );
  }
  if (step.kind === "tool") return <ToolStep step={step} />;
  if (step.kind === "checks") {
    const ok = step.errors.length === 0;
    return (
      <li className={`step checks ${ok ? "ok" : "failed"}`} data-kind="checks">
        <span className={`step-dot ${ok ? "ok" : "failed"}`} aria-hidden="true" />
        {ok ? (
          <span>Checks: the app builds</span>
        ) : (
          <div>
            <span>
              Checks: {step.errors.length} error{step.errors.length === 1 ? "" : "s"}
            </span>
            <ul className="check-errors">
              {step.errors.map((e, i) => (
                <li key={i}>
                  <code>{e}</code>
                </li>
              ))}
            </ul>
          </div>
        )}
      </li>
    );
  }
  if (step.kind === "dependencies") {
    return (
      <li className="step deps" data-kind="dependencies">
        <span className="step-dot ok" aria-hidden="true" />
        <span>Added dependencies: {step.added.join(", ")}</span>
      </li>
    );
  }
  return null;
}

const OUTCOME_TEXT = { done: "Done", stopped: "Stopped", stuck: "Stuck", limit: "Out of budget", failed: "Failed" };

function Outcome({ outcome }) {
  return <span className={`outcome ${outcome}`}>{OUTCOME_TEXT[outcome] || outcome}</span>;
}

/** The turn this page is running (or just ran): its steps as they stream, then its end. */
function LiveTurn({ app, turn, history }) {
  const end = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    if (stick.current && end.current) end.current.scrollIntoView({ block: "nearest" });
  });
  const result = turn.result;
  const record = result && (history || []).find((t) => t.number === result.turn);
  return (
    <div className="turn live" aria-busy={turn.running} data-state={turn.running ? "running" : "ended"}>
      <div className="bubble prompt-bubble">{turn.prompt}</div>
      {turn.dropped ? <p className="muted small">{turn.dropped} earlier steps are not shown.</p> : null}
      <ol className="steps" aria-label="Steps">
        {turn.steps.map((step, i) => (
          <Step key={i} step={step} />
        ))}
        {turn.running ? (
          <li className="step working" aria-live="polite">
            <span className="spinner" aria-hidden="true" />
            <span>{turn.stopping ? "Stopping at the next step…" : turn.open ? "Working…" : "Starting…"}</span>
          </li>
        ) : null}
      </ol>
      {turn.error && turn.error.code === "model_not_configured" ? <ModelNotConfigured error={turn.error} /> : null}
      {turn.error && turn.error.code !== "model_not_configured" ? <ErrorNote error={turn.error} /> : null}
      {result ? (
        <div className={`turn-end ${result.outcome}`} role="status">
          <div className="turn-end-head">
            <Outcome outcome={result.outcome} />
            <strong>Turn {result.turn}</strong>
            <span className="muted small">
              {result.steps} step{result.steps === 1 ? "" : "s"}
            </span>
            <Usage usage={turn.usage} label="Turn usage" />
          </div>
          {result.summary ? <p className="summary">{result.summary}</p> : null}
          {result.errors && result.errors.length ? (
            <ul className="check-errors">
              {result.errors.map((e, i) => (
                <li key={i}>
                  <code>{e}</code>
                </li>
              ))}
            </ul>
          ) : null}
          {result.revision && record && record.base_revision ? (
            <TurnDiff app={app} from={record.base_revision} to={result.revision} />
          ) : result.revision ? (
            <Spinner label="Loading the changes" />
          ) : (
            <p className="muted small">Nothing was committed.</p>
          )}
        </div>
      ) : null}
      <div ref={end} />
    </div>
  );
}

/** A turn from the history: what was asked, how it ended, what it changed. */
function PastTurn({ app, turn }) {
  return (
    <div className="turn past">
      <div className="bubble prompt-bubble">{turn.prompt}</div>
      <div className={`turn-end ${turn.outcome}`}>
        <div className="turn-end-head">
          <Outcome outcome={turn.outcome} />
          <strong>Turn {turn.number}</strong>
          {turn.undone_at ? <span className="badge">undone</span> : null}
          <span className="muted small">
            {turn.steps} step{turn.steps === 1 ? "" : "s"} · {timeAgo(turn.started_at)} · {turn.author}
          </span>
          <Usage usage={{ prompt: turn.prompt_tokens, completion: turn.completion_tokens, cost_usd: turn.cost_usd }} label="Turn usage" />
        </div>
        {turn.summary ? <p className="summary">{turn.summary}</p> : null}
        {turn.revision && turn.base_revision ? <TurnDiff app={app} from={turn.base_revision} to={turn.revision} /> : <p className="muted small">Nothing was committed.</p>}
      </div>
    </div>
  );
}

function History({ history, selected, onSelect }) {
  if (history.loading && !history.data) return <Spinner label="Loading turns" />;
  if (history.error) return <ErrorNote error={history.error} onRetry={history.reload} />;
  const turns = history.data || [];
  if (!turns.length) return <p className="muted small history-empty">No turns yet.</p>;
  return (
    <ol className="history-list" aria-label="Turn history">
      {turns.map((t) => (
        <li key={t.number}>
          <button type="button" className={`history-item ${selected === t.number ? "active" : ""}`} aria-pressed={selected === t.number} onClick={() => onSelect(t.number)} data-turn={t.number}>
            <span className="history-top">
              <strong>#{t.number}</strong>
              <Outcome outcome={t.outcome} />
              {t.undone_at ? <span className="badge">undone</span> : null}
              <span className="muted small history-when">{timeAgo(t.started_at)}</span>
            </span>
            <span className="history-prompt">{t.prompt.length > 140 ? t.prompt.slice(0, 140) + "…" : t.prompt}</span>
            <span className="muted small">
              {formatTokens(t.prompt_tokens + t.completion_tokens)} tokens · {formatCost(t.cost_usd)}
            </span>
          </button>
        </li>
      ))}
    </ol>
  );
}

function UndoDialog({ app, turn, onClose, onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function undo() {
    setBusy(true);
    setError(null);
    try {
      onDone(await api(`/apps/${encodeURIComponent(app)}/agent/undo`, { method: "POST" }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Undo turn ${turn.number}?`} onClose={onClose}>
      <div className="form">
        <p>
          The files go back to how they were before it (as a new revision), and the dev database is restored from the snapshot taken before it. Later changes to the workspace
          block an undo.
        </p>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn danger" onClick={undo} disabled={busy}>
            {busy ? "Undoing…" : "Undo turn"}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

export default function AgentPanel({ app, session }) {
  const turn = useTurn(app);
  const history = useLoad(() => api(`/apps/${encodeURIComponent(app)}/agent/turns`), [app]);
  const model = useLoad(() => api("/agent/model"), []);
  const [prompt, setPrompt] = useState("");
  const [selected, setSelected] = useState(null);
  const [dialog, setDialog] = useState(false);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const busy = Boolean(turn && turn.running);
  const lastKept = (history.data || []).find((t) => t.outcome === "done" && t.revision && !t.undone_at);

  function run() {
    const text = prompt.trim();
    if (!text || busy) return;
    setSelected(null);
    setNotice(null);
    setError(null);
    setPrompt("");
    startTurn(app, text, session.csrf_token, () => history.reload());
    setTimeout(history.reload, 500); // the turn is recorded when it starts: list it running
  }
  function onKeyDown(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  }
  const [asking, setAsking] = useState(false);
  async function stop() {
    setAsking(true);
    try {
      await stopTurn(app);
    } catch (err) {
      setError(err);
    } finally {
      setAsking(false);
    }
  }
  const past = selected !== null ? (history.data || []).find((t) => t.number === selected) : null;
  const notConfigured = model.data && model.data.configured === false;

  return (
    <section className="panel-body agent-panel" aria-labelledby="agent-title">
      <div className="agent-main">
        <div className="panel-head">
          <h2 id="agent-title">Agent</h2>
          {model.data ? (
            <span className="badge" title={model.data.source === "tenant" ? "Your tenant's model" : "The server's model"}>
              {model.data.configured ? `${model.data.model || "model"} · ${model.data.source}` : "no model"}
            </span>
          ) : null}
          <span className="grow" />
          {turn && !past ? <Usage usage={turn.usage} label="Tokens and cost" /> : null}
          <button type="button" className="btn small" disabled={busy || !lastKept} onClick={() => setDialog(true)} title={lastKept ? `Undo turn ${lastKept.number}` : "No kept turn to undo"}>
            Undo last turn
          </button>
        </div>
        {notConfigured && !turn ? <ModelNotConfigured /> : null}
        <ErrorNote error={error || model.error} />
        {notice ? (
          <div className="notice" role="status">
            {notice}
          </div>
        ) : null}
        <div className="agent-log">
          {past ? (
            <PastTurn app={app} turn={past} />
          ) : turn ? (
            <LiveTurn app={app} turn={turn} history={history.data} />
          ) : (
            <Empty title={`Ask the agent to build or change ${app}`}>
              It reads the app, edits its files, runs the checks and keeps the turn as one revision that dev serves. Every turn can be undone.
            </Empty>
          )}
        </div>
        <form
          className="agent-prompt"
          onSubmit={(e) => {
            e.preventDefault();
            run();
          }}
        >
          <textarea
            aria-label="Prompt"
            placeholder="Add a page that lists orders, newest first…"
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={onKeyDown}
            rows={3}
            maxLength={20000}
          />
          <div className="prompt-bar">
            <span className="muted small">
              <kbd>{RUN_KEYS}</kbd> to run
            </span>
            <span className="grow" />
            {turn && !busy && !past ? (
              <button type="button" className="btn small ghost" onClick={() => clearTurn(app)}>
                Clear
              </button>
            ) : null}
            {busy ? (
              <button type="button" className="btn danger" onClick={stop} disabled={!turn.open || turn.stopping || asking}>
                {turn.stopping || asking ? "Stopping…" : "Stop"}
              </button>
            ) : (
              <button type="submit" className="btn primary" disabled={!prompt.trim()}>
                Run
              </button>
            )}
          </div>
        </form>
      </div>
      <aside className="agent-history" aria-labelledby="history-title">
        <div className="history-head">
          <h3 id="history-title">Turns</h3>
          {selected !== null ? (
            <button type="button" className="btn small ghost" onClick={() => setSelected(null)}>
              {turn ? "Back to current" : "Close"}
            </button>
          ) : null}
        </div>
        <History history={history} selected={selected} onSelect={(n) => setSelected(selected === n ? null : n)} />
      </aside>
      {dialog && lastKept ? (
        <UndoDialog
          app={app}
          turn={lastKept}
          onClose={() => setDialog(false)}
          onDone={(done) => {
            setDialog(false);
            setSelected(null);
            clearTurn(app);
            setNotice(`Turn ${done.turn} undone${done.database_restored ? "; the dev database was restored" : ""}.`);
            history.reload();
          }}
        />
      ) : null}
    </section>
  );
}
