// One release in the Release Manager's list: what it is and where it runs, its actions, and
// (opened) its build log, planned migrations and what changed since the release before it.
import { useState } from "react";
import { api } from "../api.js";
import { ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";
import { BuildErrors, BuildLog } from "./releases-log.jsx";

const FILE_MARK = { added: "+", removed: "−", modified: "~" };

function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** What differs from the release before to this one (the diff endpoint's sections). */
function Changes({ app, from, to }) {
  const diff = useLoad(() => api(`/apps/${encodeURIComponent(app)}/releases/${from}/diff/${to}`), [app, from, to]);
  if (diff.loading) return <Spinner label={`Comparing ${from} and ${to}`} />;
  if (diff.error) return <ErrorNote error={diff.error} onRetry={diff.reload} />;
  const d = diff.data;
  const empty = !d.files.length && !d.migrations.length && !d.dependencies.length && !d.config.length;
  return (
    <div className="rm-diff">
      {empty ? <p className="muted small">No differences from {from}.</p> : null}
      {d.files.length ? (
        <ul className="rm-diff-files" aria-label="Files changed">
          {d.files.map((f) => (
            <li key={f.path} className={`rm-diff-${f.status}`}>
              <span className="rm-mark" aria-label={f.status}>
                {FILE_MARK[f.status]}
              </span>
              <code>{f.path}</code>
              <span className="muted small">
                {f.status === "modified" ? `${size(f.old_size)} → ${size(f.new_size)}` : size(f.new_size ?? f.old_size)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {d.migrations.length ? (
        <p className="small">
          Migrations:{" "}
          {d.migrations.map((m) => (
            <span key={m.file} className={`rm-chip ${m.kind}`}>
              {m.status} {m.file} ({m.kind})
            </span>
          ))}
        </p>
      ) : null}
      {d.dependencies.length ? (
        <p className="small">
          Dependencies:{" "}
          {d.dependencies.map((dep) => (
            <span key={dep.name} className="rm-chip">
              {dep.name}: {dep.old ?? "(none)"} → {dep.new ?? "(none)"}
            </span>
          ))}
        </p>
      ) : null}
      {d.config.length ? (
        <p className="small">
          atoll.toml:{" "}
          {d.config.map((c) => (
            <span key={c.key} className="rm-chip">
              {c.key}: {JSON.stringify(c.old) ?? "(unset)"} → {JSON.stringify(c.new) ?? "(unset)"}
            </span>
          ))}
        </p>
      ) : null}
      {d.notes.map((n, i) => (
        <p key={i} className="muted small">
          {n}
        </p>
      ))}
    </div>
  );
}

function Details({ app, release, previous, detail }) {
  const [allLog, setAllLog] = useState(false);
  return (
    <div className="rm-details">
      {release.notes ? <p className="rm-notes-full">{release.notes}</p> : null}
      <BuildErrors errors={release.errors} />
      <div className="rm-details-grid">
        <section aria-label={`What changed in ${release.version}`}>
          <h3>{previous ? `Changes since ${previous.version}` : "The first release"}</h3>
          {previous ? <Changes app={app} from={previous.version} to={release.version} /> : <p className="muted small">Nothing to compare it with.</p>}
          {detail && detail.migrations.length ? (
            <>
              <h3>Migrations in this release</h3>
              <ul className="rm-migrations">
                {detail.migrations.map((m) => (
                  <li key={m.file}>
                    <code>{m.file}</code> <span className={`rm-chip ${m.kind}`}>{m.kind}</span>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>
        <section aria-label={`Build log of ${release.version}`}>
          <h3>Build log</h3>
          {detail ? <BuildLog text={detail.build_log} all={allLog} onShowAll={() => setAllLog(true)} /> : <Spinner label="Loading the build log" />}
        </section>
      </div>
    </div>
  );
}

export default function ReleaseItem({ app, release, previous, open, onToggle, promoteTo, restoreIn, onPromote, onRestore }) {
  const detail = useLoad(() => api(`/apps/${encodeURIComponent(app)}/releases/${release.version}`), [app, release.version, release.status]);
  const digest = detail.data && detail.data.digest ? detail.data.digest.replace(/^sha256:/, "").slice(0, 12) : null;
  const id = `release-${release.version}`;
  return (
    <li className={`rm-item ${open ? "open" : ""}`} data-release={release.version} aria-labelledby={id}>
      <div className="rm-row">
        <div className="rm-main">
          <div className="rm-title">
            <strong id={id} className="rm-version">
              {release.version}
            </strong>
            <span className={`status ${release.status}`}>{release.status}</span>
            {release.deployed_to.map((env) => (
              <span key={env} className="rm-runs" title={`${env} serves ${release.version}`}>
                {env}
              </span>
            ))}
          </div>
          {open && release.notes ? null : <div className="rm-notes">{release.notes || <span className="muted">No notes</span>}</div>}
          <div className="rm-meta muted small">
            <span>by {release.created_by}</span>
            <span title={release.created_at}>{timeAgo(release.created_at)}</span>
            <span title={release.revision}>revision {release.revision_number}</span>
            {digest ? (
              <code title={detail.data.digest} className="rm-digest">
                {digest}
              </code>
            ) : null}
          </div>
        </div>
        <div className="rm-actions">
          {promoteTo.map((env) => (
            <button key={env} type="button" className={`btn small ${env === "prod" ? "primary" : ""}`} onClick={() => onPromote(env)}>
              Promote to {env}
            </button>
          ))}
          {restoreIn.length ? (
            <button type="button" className="btn small" onClick={() => onRestore(restoreIn)}>
              Restore this version
            </button>
          ) : null}
          <button type="button" className="btn ghost small" aria-expanded={open} onClick={onToggle}>
            {open ? "Hide details" : "Details"}
          </button>
        </div>
      </div>
      {open ? (
        <>
          <ErrorNote error={detail.error} onRetry={detail.reload} />
          <Details app={app} release={release} previous={previous} detail={detail.data} />
        </>
      ) : null}
    </li>
  );
}
