// The tenant's apps: where each release runs; create (empty or from an example), delete.
import { useState } from "react";
import { api } from "./api.js";
import { href } from "./route.js";
import { building, Dialog, Empty, ErrorNote, Spinner, timeAgo, useLoad, usePoll } from "./ui.jsx";

async function loadApps() {
  const apps = await api("/apps");
  const envs = await Promise.all(apps.map((a) => api(`/apps/${encodeURIComponent(a.app)}/envs`).catch(() => [])));
  return apps.map((app, i) => ({ ...app, envs: envs[i] }));
}

function EnvBadge({ env }) {
  const build = env.build;
  let text = env.release || (env.number ? `r${env.number}` : "—");
  let kind = env.release || env.number ? "live" : "idle";
  if (env.name === "dev" && build && build.state === "failed") {
    kind = "failed";
    text = "build failed";
  } else if (env.name === "dev" && build && build.state === "building") {
    kind = "building";
    text = "building";
  }
  return (
    <span className={`env-badge ${kind}`} title={env.url}>
      <span className="env-name">{env.name}</span>
      <span className="env-value">{text}</span>
    </span>
  );
}

function CreateDialog({ onClose, onCreated }) {
  const examples = useLoad(() => api("/examples"), []);
  const [name, setName] = useState("");
  const [example, setExample] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = example ? { name: name.trim(), example } : { name: name.trim() };
      const created = await api("/apps", { method: "POST", body });
      onCreated(created.app);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title="Create an app" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label>
          Name
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="shop" pattern="[a-z0-9][a-z0-9\-]*" autoComplete="off" required maxLength={40} />
          <span className="hint">Lower-case letters, digits and dashes; part of the app's URL.</span>
        </label>
        <label>
          Start from
          <select name="example" value={example} onChange={(e) => setExample(e.target.value)}>
            <option value="">An empty app</option>
            {(examples.data || []).map((ex) => (
              <option key={ex.name} value={ex.name}>
                The {ex.name} example — {ex.description}
              </option>
            ))}
          </select>
        </label>
        <ErrorNote error={error || examples.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy || !name.trim()}>
            {busy ? "Creating…" : "Create"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ app, onClose, onDeleted }) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    try {
      await api(`/apps/${encodeURIComponent(app)}`, { method: "DELETE" });
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Delete ${app}?`} onClose={onClose}>
      <form onSubmit={submit} className="form">
        <p>
          This deletes the app's files, releases, databases and logs in every environment. It cannot be undone. Type <strong>{app}</strong> to confirm.
        </p>
        <input aria-label="App name" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn danger" disabled={busy || typed !== app}>
            {busy ? "Deleting…" : "Delete app"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export default function Dashboard({ session }) {
  const apps = useLoad(loadApps, []);
  usePoll(apps.reload, !apps.loading && (apps.data || []).some((a) => building(a.envs)), 1500);
  const [dialog, setDialog] = useState(null);
  return (
    <main className="page dashboard">
      <div className="page-head">
        <div>
          <h1>Apps</h1>
          <p className="muted">Everything {session.tenant} builds and runs.</p>
        </div>
        <button type="button" className="btn primary" onClick={() => setDialog({ kind: "create" })}>
          New app
        </button>
      </div>
      {apps.loading && !apps.data ? <Spinner label="Loading apps" /> : null}
      <ErrorNote error={apps.error} onRetry={apps.reload} />
      {apps.data && apps.data.length === 0 ? (
        <Empty title="No apps yet">Create one from scratch or from an example, or ask the agent to build it.</Empty>
      ) : null}
      {apps.data && apps.data.length > 0 ? (
        <ul className="app-list" aria-label="Apps">
          {apps.data.map((app) => (
            <li key={app.app} className="app-card" data-app={app.app}>
              <a className="app-name" href={href(app.app)}>
                {app.app}
              </a>
              <div className="muted small">
                {app.revisions} revision{app.revisions === 1 ? "" : "s"} · created {timeAgo(app.created_at)}
              </div>
              <div className="env-badges">
                {app.envs.map((env) => (
                  <EnvBadge key={env.name} env={env} />
                ))}
              </div>
              <div className="card-actions">
                <a className="btn small" href={href(app.app, "overview")}>
                  Open
                </a>
                <button type="button" className="btn small ghost" onClick={() => setDialog({ kind: "delete", app: app.app })}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      {dialog && dialog.kind === "create" ? (
        <CreateDialog onClose={() => setDialog(null)} onCreated={(name) => location.assign(href(name))} />
      ) : null}
      {dialog && dialog.kind === "delete" ? (
        <DeleteDialog
          app={dialog.app}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            apps.reload();
          }}
        />
      ) : null}
    </main>
  );
}
