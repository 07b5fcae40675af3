// An app at a glance: its environments, what each serves and where.
import { api } from "../api.js";
import { building, ErrorNote, Spinner, timeAgo, useLoad, usePoll } from "../ui.jsx";

export default function Overview({ app }) {
  const envs = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs`), [app]);
  const info = useLoad(() => api(`/apps/${encodeURIComponent(app)}`), [app]);
  usePoll(envs.reload, !envs.loading && building(envs.data));
  if (envs.loading && !envs.data) return <Spinner label="Loading environments" />;
  return (
    <section className="panel-body" aria-labelledby="overview-title">
      <h2 id="overview-title">Environments</h2>
      <ErrorNote error={envs.error || info.error} onRetry={envs.reload} />
      {info.data ? (
        <p className="muted">
          {info.data.revisions} revision{info.data.revisions === 1 ? "" : "s"}; created {timeAgo(info.data.created_at)}.
        </p>
      ) : null}
      <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th>Environment</th>
            <th>Serves</th>
            <th>Last build</th>
            <th>URL</th>
          </tr>
        </thead>
        <tbody>
          {(envs.data || []).map((env) => (
            <tr key={env.name} data-env={env.name}>
              <td>
                <strong>{env.name}</strong>
              </td>
              <td>{env.release || (env.number ? `revision ${env.number}` : <span className="muted">nothing yet</span>)}</td>
              <td>
                {env.build ? (
                  <span className={`status ${env.build.state}`}>{env.build.state}</span>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td>
                <a href={env.url} target="_blank" rel="noopener noreferrer">
                  {env.url}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}
