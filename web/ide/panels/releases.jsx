// The Release Manager: the app's releases (status, notes, who and when, digest, where each
// runs), creating one, promoting one, restoring an older one in an environment, and each
// environment's history of promotions and rollbacks. Everything the API answers is tenant
// data: it is rendered as text, never as markup.
import { useEffect, useState } from "react";
import { api } from "../api.js";
import { Empty, ErrorNote, Spinner, useLoad, usePoll } from "../ui.jsx";
import { PromoteDialog, RestoreDialog } from "./releases-dialogs.jsx";
import EnvHistory from "./releases-history.jsx";
import ReleaseItem from "./releases-item.jsx";
import { BuildErrors } from "./releases-log.jsx";

const PAGE = 20; // releases shown at first; older ones on demand

async function loadAll(app) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const [list, envs] = await Promise.all([api(`${base}/releases`), api(`${base}/envs`)]);
  return { releases: list.releases, envs };
}

/** The form that builds the workspace head into the next release; shows it building. */
function CreateRelease({ app, onCreated, onCancel }) {
  const [notes, setNotes] = useState("");
  const [state, setState] = useState({ busy: false, error: null, failed: null, started: 0 });
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!state.busy) return undefined;
    const timer = setInterval(() => setTick((t) => t + 1), 500);
    return () => clearInterval(timer);
  }, [state.busy]);
  async function submit(event) {
    event.preventDefault();
    setState({ busy: true, error: null, failed: null, started: Date.now() });
    try {
      const release = await api(`/apps/${encodeURIComponent(app)}/releases`, { method: "POST", body: { notes } });
      if (release.status === "failed") {
        setState({ busy: false, error: null, failed: release, started: 0 });
        onCreated(release, false);
      } else {
        setNotes("");
        setState({ busy: false, error: null, failed: null, started: 0 });
        onCreated(release, true);
      }
    } catch (error) {
      setState({ busy: false, error, failed: null, started: 0 });
    }
  }
  const seconds = state.busy ? Math.floor((Date.now() - state.started) / 1000) : 0;
  return (
    <form className="rm-create form" onSubmit={submit} aria-label="Create a release">
      <label>
        Notes <span className="hint">optional: what this release changes (at most 2,000 characters)</span>
        <textarea name="notes" rows={2} maxLength={2000} value={notes} onChange={(e) => setNotes(e.target.value)} placeholder="Faster search; new about page" disabled={state.busy} />
      </label>
      {state.busy ? (
        <div className="rm-progress" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" />
          Building the workspace head: functions, dependencies, pages, components, migrations… {seconds} s
        </div>
      ) : null}
      <ErrorNote error={state.error} />
      {state.failed ? (
        <div className="rm-failed" role="alert">
          <strong>{state.failed.version} did not build.</strong> It is kept with its errors and deploys nowhere; fix them and create a release again.
          <BuildErrors errors={state.failed.errors} />
        </div>
      ) : null}
      <div className="actions">
        <button type="button" className="btn" onClick={onCancel} disabled={state.busy}>
          Close
        </button>
        <button type="submit" className="btn primary" disabled={state.busy}>
          {state.busy ? "Building…" : "Build release"}
        </button>
      </div>
    </form>
  );
}

/** What each environment serves, as a strip of cards. */
function EnvStrip({ envs }) {
  return (
    <ul className="rm-envs" aria-label="Environments">
      {envs.map((env) => (
        <li key={env.name} className="rm-env" data-env={env.name}>
          <span className="rm-env-name">{env.name}</span>
          <strong className="rm-env-serves">{env.release || (env.number ? `r${env.number}` : "nothing yet")}</strong>
          <span className="muted small">{env.name === "dev" ? "the workspace" : env.digest ? env.digest.slice(7, 19) : "no release"}</span>
        </li>
      ))}
    </ul>
  );
}

export default function ReleasesPanel({ app }) {
  const data = useLoad(() => loadAll(app), [app]);
  const [creating, setCreating] = useState(false);
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const [open, setOpen] = useState(null); // the version whose details are shown
  const [shown, setShown] = useState(PAGE);
  const [moves, setMoves] = useState(0); // promotions and rollbacks done here: the history reloads
  const releases = data.data ? data.data.releases : [];
  const envs = data.data ? data.data.envs : [];
  usePoll(data.reload, !data.loading && releases.some((r) => r.status === "building"), 1500);

  // What each environment (other than dev) serves, by release number.
  const serving = {};
  for (const env of envs) if (env.name !== "dev" && env.release) serving[env.name] = Number(env.release.slice(1));
  const targets = envs.filter((e) => e.name !== "dev").map((e) => e.name);

  function done(message) {
    setDialog(null);
    setNotice(message);
    setMoves((n) => n + 1);
    data.reload();
  }

  if (data.loading && !data.data) return <Spinner label="Loading releases" />;
  return (
    <section className="panel-body rm" aria-labelledby="releases-title">
      <div className="rv-head">
        <div>
          <h2 id="releases-title">Releases</h2>
          <p className="muted">Each release is the workspace built once; promoting or restoring one moves an environment to it without a rebuild.</p>
        </div>
        {!creating ? (
          <button type="button" className="btn primary" onClick={() => setCreating(true)}>
            Create release
          </button>
        ) : null}
      </div>
      <ErrorNote error={data.error} onRetry={data.reload} />
      {creating ? (
        <CreateRelease
          app={app}
          onCancel={() => setCreating(false)}
          onCreated={(release, ok) => {
            if (ok) {
              setCreating(false);
              setNotice({ kind: "ok", text: `${release.version} is ready. Promote it to staging or prod when you are.` });
            }
            data.reload();
          }}
        />
      ) : null}
      {notice ? (
        <div className={`rm-notice ${notice.kind}`} role="status">
          <span>{notice.text}</span>
          <button type="button" className="btn ghost small" onClick={() => setNotice(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ) : null}
      {envs.length ? <EnvStrip envs={envs} /> : null}
      {data.data && releases.length === 0 ? (
        <Empty title="No releases yet">Create one to freeze the workspace as v1; then promote it to staging or prod.</Empty>
      ) : null}
      {releases.length ? (
        <ol className="rm-list" aria-label="Releases">
          {releases.slice(0, shown).map((release, i) => (
            <ReleaseItem
              key={release.number}
              app={app}
              release={release}
              previous={releases[i + 1] || null}
              open={open === release.version}
              onToggle={() => setOpen(open === release.version ? null : release.version)}
              // An environment on a newer release goes back with "Restore this version" instead.
              promoteTo={release.status === "ready" ? targets.filter((env) => !(serving[env] >= release.number)) : []}
              restoreIn={release.status === "ready" ? targets.filter((env) => serving[env] > release.number) : []}
              onPromote={(env) => setDialog({ kind: "promote", release, env })}
              onRestore={(envsToPick) => setDialog({ kind: "restore", release, envs: envsToPick })}
            />
          ))}
        </ol>
      ) : null}
      {releases.length > shown ? (
        <button type="button" className="btn small rm-more" onClick={() => setShown(shown + PAGE)}>
          Show older releases ({releases.length - shown} more)
        </button>
      ) : null}
      {targets.length ? <EnvHistory app={app} envs={targets} version={moves} /> : null}
      {dialog && dialog.kind === "promote" ? (
        <PromoteDialog
          app={app}
          release={dialog.release}
          env={dialog.env}
          serving={envs.find((e) => e.name === dialog.env)}
          onClose={() => setDialog(null)}
          onDone={(out) => done({ kind: "ok", text: `${out.env} serves ${out.release} now${out.previous ? ` (was ${out.previous})` : ""}.` })}
        />
      ) : null}
      {dialog && dialog.kind === "restore" ? (
        <RestoreDialog
          app={app}
          release={dialog.release}
          envs={dialog.envs}
          serving={serving}
          onClose={() => setDialog(null)}
          onDone={(out) =>
            done({
              kind: "ok",
              text: `${out.env} serves ${out.release} again (was ${out.previous})${out.restored_db ? `; its database was restored to ${out.restored_db.snapshot}` : ""}.`,
            })
          }
        />
      ) : null}
    </section>
  );
}
