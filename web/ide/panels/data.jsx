// The Data panel: an environment's database. Its tables with their schema and rows a page
// at a time, a SQL box (dev runs anything; staging and prod run read-only until the user
// confirms a change), and snapshots with restore.
import { useState } from "react";
import { api } from "../api.js";
import { href } from "../route.js";
import { Dialog, Empty, ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";
import { RowsTable } from "./data-grid.jsx";
import { RUN_KEYS } from "./agent.jsx";

const PAGE = 50;
const VIEWS = [
  ["tables", "Tables"],
  ["query", "SQL"],
  ["snapshots", "Snapshots"],
];

/** dev is for trying things; anywhere else a slip would change real data. */
export const isProtected = (env) => env !== "dev";

const base = (app, env) => `/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/db`;

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function Tables({ app, env, table }) {
  const tables = useLoad(() => api(`${base(app, env)}/tables`), [app, env]);
  if (tables.loading && !tables.data) return <Spinner label="Loading tables" />;
  if (tables.error) return <ErrorNote error={tables.error} onRetry={tables.reload} />;
  const list = tables.data || [];
  if (!list.length) {
    return (
      <Empty title={`No tables in ${env} yet`}>
        Tables come from the app's migrations (<code>migrations/0001_init.sql</code>), applied when {env === "dev" ? "dev builds" : "a release is promoted here"}.
      </Empty>
    );
  }
  const current = list.find((t) => t.name === table) || list[0];
  return (
    <div className="data-tables">
      <nav className="table-list" aria-label="Tables">
        <ul>
          {list.map((t) => (
            <li key={t.name}>
              <a href={href(app, "data", env, "tables", t.name)} className={t.name === current.name ? "active" : ""} aria-current={t.name === current.name ? "true" : undefined}>
                <span className="table-name">{t.name}</span>
                <span className="count">{t.row_count}</span>
              </a>
            </li>
          ))}
        </ul>
        <button type="button" className="btn small ghost" onClick={tables.reload}>
          Refresh
        </button>
      </nav>
      <TableView key={`${env}/${current.name}`} app={app} env={env} table={current} />
    </div>
  );
}

function TableView({ app, env, table }) {
  const [offset, setOffset] = useState(0);
  const rows = useLoad(() => api(`${base(app, env)}/tables/${encodeURIComponent(table.name)}/rows?limit=${PAGE}&offset=${offset}`), [app, env, table.name, offset]);
  const total = table.row_count;
  const last = Math.min(offset + PAGE, total);
  const types = table.columns.map((c) => c.type);
  return (
    <div className="table-view">
      <div className="table-head">
        <h3>{table.name}</h3>
        <ul className="schema" aria-label={`Columns of ${table.name}`}>
          {table.columns.map((c) => (
            <li key={c.name}>
              <code>{c.name}</code> <span className="col-type">{c.type || "any"}</span>
            </li>
          ))}
        </ul>
      </div>
      {rows.error ? <ErrorNote error={rows.error} onRetry={rows.reload} /> : null}
      {rows.loading && !rows.data ? <Spinner label="Loading rows" /> : null}
      {rows.data && rows.data.rows.length === 0 && offset === 0 ? <Empty title="No rows">This table is empty in {env}.</Empty> : null}
      {rows.data && (rows.data.rows.length > 0 || offset > 0) ? (
        <>
          <RowsTable columns={rows.data.columns} rows={rows.data.rows} types={rows.data.columns.map((c) => types[table.columns.findIndex((t) => t.name === c)])} label={`Rows of ${table.name}`} firstRow={offset + 1} />
          <div className="pager">
            <span className="muted small" aria-live="polite">
              {total ? `Rows ${Math.min(offset + 1, total)}–${last} of ${total}` : "No rows"}
              {rows.loading ? " · loading…" : ""}
            </span>
            <button type="button" className="btn small" disabled={offset === 0 || rows.loading} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <button type="button" className="btn small" disabled={offset + PAGE >= total || rows.loading} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </div>
        </>
      ) : null}
    </div>
  );
}

function Query({ app, env }) {
  const [sql, setSql] = useState("");
  const [state, setState] = useState({ busy: false, result: null, error: null, ms: 0, ran: "" });
  const [confirm, setConfirm] = useState(null);
  const guarded = isProtected(env);

  async function run(text, allowWrites) {
    if (!text.trim() || state.busy) return;
    setState((s) => ({ ...s, busy: true, error: null }));
    const started = performance.now();
    try {
      const result = await api(`${base(app, env)}/exec`, { method: "POST", body: { sql: text, read_only: guarded && !allowWrites } });
      setState({ busy: false, result, error: null, ms: performance.now() - started, ran: text });
    } catch (error) {
      if (error.code === "write_refused" && guarded && !allowWrites) {
        setConfirm(text); // a write on staging or prod: only with the user's word
        setState((s) => ({ ...s, busy: false }));
      } else {
        setState({ busy: false, result: null, error, ms: 0, ran: text });
      }
    }
  }
  function onKeyDown(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run(sql, false);
    }
  }
  const { result } = state;
  return (
    <div className="query">
      <form
        className="sql-box"
        onSubmit={(e) => {
          e.preventDefault();
          run(sql, false);
        }}
      >
        <textarea aria-label="SQL" className="mono" rows={5} spellCheck={false} placeholder="SELECT * FROM todos ORDER BY id DESC LIMIT 20" value={sql} onChange={(e) => setSql(e.target.value)} onKeyDown={onKeyDown} />
        <div className="prompt-bar">
          {guarded ? (
            <span className="badge warn" title="Statements that change data ask first">
              read-only in {env}
            </span>
          ) : (
            <span className="badge">dev: reads and writes</span>
          )}
          <span className="muted small">
            <kbd>{RUN_KEYS}</kbd> to run
          </span>
          <span className="grow" />
          <button type="submit" className="btn primary" disabled={!sql.trim() || state.busy}>
            {state.busy ? "Running…" : "Run"}
          </button>
        </div>
      </form>
      <ErrorNote error={state.error} />
      {result ? (
        <div className="sql-result" aria-label="Result">
          <p className="muted small" role="status">
            {result.columns.length ? `${result.rows.length} row${result.rows.length === 1 ? "" : "s"}` : `${result.rows_affected} row${result.rows_affected === 1 ? "" : "s"} changed`} in {Math.round(state.ms)} ms
          </p>
          {result.columns.length ? <RowsTable columns={result.columns} rows={result.rows} label="Query result" /> : null}
        </div>
      ) : !state.error ? (
        <p className="muted small">
          Runs on the {env} database as the app's owner. Several statements run in order; the last one's rows are shown.
        </p>
      ) : null}
      {confirm !== null ? (
        <Dialog title={`Change data in ${env}?`} onClose={() => setConfirm(null)} labelledBy="write-title">
          <div className="form">
            <p>
              This SQL writes to the <strong>{env}</strong> database, which live visitors use. It was not run. Take a snapshot first if you may want this back.
            </p>
            <pre className="scroll-pre">{confirm.length > 2000 ? confirm.slice(0, 2000) + "…" : confirm}</pre>
            <div className="actions">
              <button type="button" className="btn" onClick={() => setConfirm(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="btn danger"
                onClick={() => {
                  const text = confirm;
                  setConfirm(null);
                  run(text, true);
                }}
              >
                Run it on {env}
              </button>
            </div>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}

function Snapshots({ app, env }) {
  const list = useLoad(() => api(`${base(app, env)}/snapshots`), [app, env]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [restore, setRestore] = useState(null);

  async function take() {
    setBusy(true);
    setError(null);
    try {
      const taken = await api(`${base(app, env)}/snapshots`, { method: "POST", body: { reason: "manual" } });
      setNotice(`Snapshot ${taken.id} taken.`);
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function doRestore(snapshot) {
    setBusy(true);
    setError(null);
    try {
      const done = await api(`${base(app, env)}/snapshots/${encodeURIComponent(snapshot.id)}/restore`, { method: "POST" });
      setRestore(null);
      setNotice(`Restored ${env} from ${done.restored.id}.` + (done.safety_snapshot ? ` What it replaced is kept as ${done.safety_snapshot.id}.` : ""));
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="snapshots">
      <div className="prompt-bar">
        <p className="muted small">A snapshot is taken before every migration and agent turn; restoring one keeps what it replaces as another.</p>
        <span className="grow" />
        <button type="button" className="btn" onClick={take} disabled={busy}>
          Take a snapshot
        </button>
      </div>
      {notice ? (
        <div className="notice" role="status">
          {notice}
        </div>
      ) : null}
      <ErrorNote error={error || list.error} onRetry={list.error ? list.reload : undefined} />
      {list.loading && !list.data ? <Spinner label="Loading snapshots" /> : null}
      {list.data && !list.data.length ? <Empty title={`No snapshots of ${env} yet`}>Take one before a risky change.</Empty> : null}
      {list.data && list.data.length ? (
        <div className="table-wrap">
          <table className="table" aria-label="Snapshots">
            <thead>
              <tr>
                <th>Snapshot</th>
                <th>Why</th>
                <th>Taken</th>
                <th>Size</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <tr key={s.id} data-snapshot={s.id}>
                  <td>
                    <code>{s.id}</code>
                  </td>
                  <td>{s.reason}</td>
                  <td title={s.created_at}>{timeAgo(s.created_at)}</td>
                  <td>{formatBytes(s.size_bytes)}</td>
                  <td className="row-actions">
                    <button type="button" className="btn small" onClick={() => setRestore(s)} disabled={busy}>
                      Restore
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {restore ? (
        <Dialog title={`Restore ${env} from this snapshot?`} onClose={() => setRestore(null)} labelledBy="restore-title">
          <div className="form">
            <p>
              The <strong>{env}</strong> database is replaced by snapshot <code>{restore.id}</code> ({restore.reason}, {timeAgo(restore.created_at)}). Its current content is kept as a
              new snapshot first.
            </p>
            <ErrorNote error={error} />
            <div className="actions">
              <button type="button" className="btn" onClick={() => setRestore(null)}>
                Cancel
              </button>
              <button type="button" className="btn danger" onClick={() => doRestore(restore)} disabled={busy}>
                {busy ? "Restoring…" : "Restore"}
              </button>
            </div>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}

/** Environment tabs shared by the Data and Logs panels' look: one link per environment. */
export function EnvTabs({ app, panel, env, envs, extra = [] }) {
  const names = envs && envs.length ? envs.map((e) => e.name) : ["dev", "staging", "prod"];
  return (
    <nav className="env-tabs" aria-label="Environment">
      {names.map((name) => (
        <a key={name} href={href(app, panel, name, ...extra)} className={name === env ? "active" : ""} aria-current={name === env ? "true" : undefined}>
          {name}
        </a>
      ))}
    </nav>
  );
}

export default function DataPanel({ app, rest }) {
  const env = rest[0] || "dev";
  const view = VIEWS.some(([id]) => id === rest[1]) ? rest[1] : "tables";
  const envs = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs`), [app]);
  return (
    <section className="panel-body data-panel" aria-labelledby="data-title">
      <div className="panel-head">
        <h2 id="data-title">Data</h2>
        <EnvTabs app={app} panel="data" env={env} envs={envs.data} extra={[view]} />
        <span className="grow" />
        <nav className="seg" aria-label="Data views">
          {VIEWS.map(([id, title]) => (
            <a key={id} href={href(app, "data", env, id)} className={id === view ? "active" : ""} aria-current={id === view ? "page" : undefined}>
              {title}
            </a>
          ))}
        </nav>
      </div>
      <ErrorNote error={envs.error} onRetry={envs.reload} />
      {view === "tables" ? <Tables app={app} env={env} table={rest[2]} /> : null}
      {view === "query" ? <Query key={env} app={app} env={env} /> : null}
      {view === "snapshots" ? <Snapshots key={env} app={app} env={env} /> : null}
    </section>
  );
}
