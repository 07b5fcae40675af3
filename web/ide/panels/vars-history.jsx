// An environment's changes of vars, newest first: which names were set or unset, whether
// as secrets, by whom and when. The API keeps no value there, so none can be shown.
import { api } from "../api.js";
import { ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";

export default function VarsHistory({ app, env, changes }) {
  const history = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/vars/history`), [app, env, changes]);
  return (
    <aside className="vars-history" aria-labelledby="vars-history-title">
      <h3 id="vars-history-title">History of {env}</h3>
      {history.loading && !history.data ? <Spinner label="Loading the history" /> : null}
      <ErrorNote error={history.error} onRetry={history.reload} />
      {history.data && history.data.changes.length === 0 ? <p className="muted small">No changes yet.</p> : null}
      {history.data && history.data.changes.length ? (
        <ol className="vars-changes">
          {history.data.changes.map((c) => (
            <li key={c.version}>
              <div className="vars-change-head">
                <strong>version {c.version}</strong>
                <span className="muted small" title={c.at}>
                  {c.by} · {timeAgo(c.at)}
                </span>
              </div>
              <ul>
                {c.changes.map((k) => (
                  <li key={`${k.key}-${k.action}`} className={`vars-${k.action}`}>
                    <span className="vars-action">{k.action === "set" ? "set" : "unset"}</span> <code>{k.key}</code>
                    {k.secret ? <span className="vars-secret-tag">secret</span> : null}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      ) : null}
    </aside>
  );
}
