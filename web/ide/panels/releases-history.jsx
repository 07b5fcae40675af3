// Each environment's history of promotions and rollbacks (who, when, from, to, result, how
// long, and what a database restore lost), one environment at a time.
import { useState } from "react";
import { api } from "../api.js";
import { Empty, ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";

export default function EnvHistory({ app, envs, version }) {
  const [env, setEnv] = useState(envs.includes("prod") ? "prod" : envs[0]);
  const current = envs.includes(env) ? env : envs[0];
  // ``version`` counts the promotions and rollbacks the panel made: each reloads it.
  const history = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(current)}/history`), [app, current, version, envs.join()]);
  return (
    <section className="rm-history" aria-labelledby="history-title">
      <div className="rm-history-head">
        <h2 id="history-title">Environment history</h2>
        <div className="rv-tabs" role="tablist" aria-label="Environment">
          {envs.map((name) => (
            <button key={name} type="button" role="tab" aria-selected={name === current} className={`rv-tab ${name === current ? "active" : ""}`} onClick={() => setEnv(name)}>
              {name}
            </button>
          ))}
        </div>
      </div>
      {history.loading && !history.data ? <Spinner label={`Loading ${current}'s history`} /> : null}
      <ErrorNote error={history.error} onRetry={history.reload} />
      {history.data && history.data.deploys.length === 0 ? <Empty title={`Nothing was deployed to ${current} yet`}>Promote a ready release there.</Empty> : null}
      {history.data && history.data.deploys.length ? (
        <div className="table-wrap">
          <table className="table rm-history-table" aria-label={`${current} history`}>
            <thead>
              <tr>
                <th>Action</th>
                <th>From → to</th>
                <th>Result</th>
                <th>By</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {history.data.deploys.map((d, i) => (
                <tr key={`${d.at}-${i}`}>
                  <td>{d.action === "promote" ? "Promotion" : "Rollback"}</td>
                  <td>
                    {d.from_release || "—"} → <strong>{d.to_release}</strong>
                  </td>
                  <td>
                    <span className={`status ${d.result === "ok" ? "ready" : d.result === "failed" ? "failed" : "building"}`}>{d.result}</span>
                    {d.detail ? <div className="rm-history-detail small">{d.detail}</div> : null}
                  </td>
                  <td className="small">{d.by}</td>
                  <td className="small" title={d.at}>
                    {timeAgo(d.at)}
                    <div className="muted">{Math.round(d.duration_ms)} ms</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
