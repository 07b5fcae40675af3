// The Release Manager's confirmations: promoting a release to an environment, and
// restoring an older one there, which first asks the server what it would do to the
// environment's database (GET .../rollback-plan) and says it before anything moves.
import { useState } from "react";
import { api } from "../api.js";
import { Dialog, ErrorNote, Spinner, useLoad } from "../ui.jsx";

const envPath = (app, env) => `/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}`;

/** Run ``action`` once, with a busy state and its error kept for the dialog to show. */
function useAction() {
  const [state, setState] = useState({ busy: false, error: null });
  async function run(action) {
    setState({ busy: true, error: null });
    try {
      await action();
    } catch (error) {
      setState({ busy: false, error });
    }
  }
  return { ...state, run };
}

export function PromoteDialog({ app, release, env, serving, onClose, onDone }) {
  const action = useAction();
  const now = serving && serving.release;
  function submit(event) {
    event.preventDefault();
    action.run(async () => onDone(await api(`${envPath(app, env)}/promote`, { method: "POST", body: { release: release.version } })));
  }
  return (
    <Dialog title={`Promote ${release.version} to ${env}?`} onClose={onClose} labelledBy="promote-title">
      <form className="form" onSubmit={submit}>
        <p>
          {env} serves <strong>{now || "nothing yet"}</strong>. After the promotion it serves <strong>{release.version}</strong>, built as it is (no rebuild).
        </p>
        <p className="muted small">{env}'s database is snapshotted first, then the migrations {release.version} brings that it has not run are applied. Requests under way finish on the old release.</p>
        <ErrorNote error={action.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={action.busy}>
            {action.busy ? "Promoting…" : `Promote to ${env}`}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** What the rollback plan says about the environment's database. */
function DatabaseVerdict({ plan, restoreDb, setRestoreDb }) {
  if (plan.compatible) {
    const kept = plan.migrations_after;
    return (
      <div className="rm-verdict ok" data-compatible="true">
        <strong>The database is compatible.</strong> {plan.release} runs on {plan.env}'s database as it is: only the pointer moves, and no data is lost.
        {kept.length ? (
          <span>
            {" "}
            The additive migrations it never saw stay: {kept.map((m) => m.file).join(", ")}.
          </span>
        ) : null}
      </div>
    );
  }
  return (
    <div className="rm-verdict blocked" data-compatible="false">
      <p>
        <strong>The database is not compatible.</strong> Migration <code>{plan.blocking}</code> (destructive) ran on {plan.env}'s database after {plan.release}; {plan.release}'s code may not run on what it left.
      </p>
      {plan.snapshot ? (
        <>
          <p>
            Restoring {plan.env}'s database to the snapshot taken before it lets {plan.release} run. That would lose {plan.would_lose}.
          </p>
          {Object.keys(plan.lost_rows).length ? (
            <table className="table rm-lost">
              <thead>
                <tr>
                  <th>Table</th>
                  <th>Rows written or changed since</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(plan.lost_rows).map(([table, n]) => (
                  <tr key={table}>
                    <td>
                      <code>{table}</code>
                    </td>
                    <td>{n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <label className="rm-check">
            <input type="checkbox" checked={restoreDb} onChange={(e) => setRestoreDb(e.target.checked)} />
            <span>
              Also restore {plan.env}'s database to snapshot <code>{plan.snapshot.id}</code> (restore_db). What it replaces is kept as a snapshot, so this can be undone.
            </span>
          </label>
        </>
      ) : (
        <p>{plan.would_lose.charAt(0).toUpperCase() + plan.would_lose.slice(1)}.</p>
      )}
    </div>
  );
}

export function RestoreDialog({ app, release, envs, serving, onClose, onDone }) {
  const [env, setEnv] = useState(envs.includes("prod") ? "prod" : envs[0]);
  const [restoreDb, setRestoreDb] = useState(false);
  const plan = useLoad(() => api(`${envPath(app, env)}/rollback-plan?to=${release.version}`), [app, env, release.version]);
  const action = useAction();
  const p = plan.data;
  const ready = p && !plan.loading && (p.compatible || (p.snapshot && restoreDb));
  function submit(event) {
    event.preventDefault();
    const body = { to: release.version, restore_db: Boolean(p && !p.compatible && restoreDb) };
    action.run(async () => onDone(await api(`${envPath(app, env)}/rollback`, { method: "POST", body })));
  }
  return (
    <Dialog title={`Restore ${release.version}?`} onClose={onClose} labelledBy="restore-title">
      <form className="form" onSubmit={submit}>
        <label>
          Environment
          <select
            name="env"
            value={env}
            onChange={(e) => {
              setEnv(e.target.value);
              setRestoreDb(false);
            }}
          >
            {envs.map((name) => (
              <option key={name} value={name}>
                {name} (serves v{serving[name]})
              </option>
            ))}
          </select>
        </label>
        <p>
          {env} goes back from <strong>v{serving[env]}</strong> to <strong>{release.version}</strong>, as it was built (no rebuild).
        </p>
        {plan.loading ? <Spinner label={`Checking ${env}'s database`} /> : null}
        <ErrorNote error={plan.error} onRetry={plan.reload} />
        {p && !plan.loading ? <DatabaseVerdict plan={p} restoreDb={restoreDb} setRestoreDb={setRestoreDb} /> : null}
        <ErrorNote error={action.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={`btn ${p && !p.compatible ? "danger" : "primary"}`} disabled={!ready || action.busy}>
            {action.busy ? "Restoring…" : `Restore ${release.version} in ${env}`}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
