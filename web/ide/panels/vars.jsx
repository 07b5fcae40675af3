// The Variables panel: each environment's config vars and secrets (a tab per environment),
// adding, changing and deleting them, and the history of changes. A secret's value never
// reaches the browser: the API lists it with a null value and the panel shows a mask.
import { useState } from "react";
import { api } from "../api.js";
import { href } from "../route.js";
import { Dialog, Empty, ErrorNote, Spinner, timeAgo, useLoad } from "../ui.jsx";
import VarForm from "./vars-form.jsx";
import VarsHistory from "./vars-history.jsx";

const MASK = "••••••";
const SHOWN = 300; // characters of a value shown in the list (values go up to 32 KiB)

function Value({ value }) {
  if (value.length <= SHOWN) return <code>{value}</code>;
  return (
    <code title={`${value.length} characters; Edit shows all of it`}>
      {value.slice(0, SHOWN)}… <span className="muted">({value.length} characters)</span>
    </code>
  );
}

function DeleteVar({ app, env, item, onClose, onDeleted }) {
  const [state, setState] = useState({ busy: false, error: null });
  async function submit(event) {
    event.preventDefault();
    setState({ busy: true, error: null });
    try {
      const path = `/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/vars/${encodeURIComponent(item.key)}`;
      onDeleted(await api(path, { method: "DELETE" }));
    } catch (error) {
      setState({ busy: false, error });
    }
  }
  return (
    <Dialog title={`Delete ${item.key}?`} onClose={onClose} labelledBy="delete-var-title">
      <form className="form" onSubmit={submit}>
        <p>
          {env}'s functions stop seeing <code>{item.key}</code> from their next request on. {item.secret ? "The secret's value cannot be recovered." : ""}
        </p>
        <ErrorNote error={state.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn danger" disabled={state.busy}>
            {state.busy ? "Deleting…" : "Delete"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function VarsTable({ vars, onEdit, onDelete }) {
  return (
    <div className="table-wrap">
      <table className="table vars-table" aria-label="Variables">
        <thead>
          <tr>
            <th>Name</th>
            <th>Value</th>
            <th>Set</th>
            <th>
              <span className="rv-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {vars.map((v) => (
            <tr key={v.key} data-var={v.key}>
              <td>
                <code className="vars-key">{v.key}</code>
                {v.secret ? <span className="vars-secret-tag">secret</span> : null}
              </td>
              <td className="vars-value">{v.secret ? <span className="vars-mask" aria-label="secret value, never shown">{MASK}</span> : <Value value={v.value} />}</td>
              <td className="small muted" title={v.updated_at}>
                version {v.version} · {v.updated_by} · {timeAgo(v.updated_at)}
              </td>
              <td className="vars-row-actions">
                <button type="button" className="btn ghost small" onClick={() => onEdit(v)} aria-label={`Edit ${v.key}`}>
                  Edit
                </button>
                <button type="button" className="btn ghost small" onClick={() => onDelete(v)} aria-label={`Delete ${v.key}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function VarsPanel({ app, rest }) {
  const envs = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs`), [app]);
  const names = envs.data ? envs.data.map((e) => e.name) : [];
  const env = rest && rest[0] && (!envs.data || names.includes(rest[0])) ? rest[0] : "dev";
  const base = `/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/vars`;
  const listing = useLoad(() => api(base), [base]);
  const [changes, setChanges] = useState(0); // the history reloads after each change here
  const [editing, setEditing] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [notice, setNotice] = useState(null);
  const [adding, setAdding] = useState(0); // a new key remounts the add form, emptied

  function changed(message) {
    setChanges((n) => n + 1);
    setNotice(message);
    listing.reload();
  }

  if (envs.loading && !envs.data) return <Spinner label="Loading environments" />;
  return (
    <section className="panel-body vars" aria-labelledby="vars-title">
      <div className="rv-head">
        <div>
          <h2 id="vars-title">Variables</h2>
          <p className="muted">Config vars and secrets of each environment: its functions read them as environment variables and through atoll.vars. A change is live from the next request on.</p>
        </div>
      </div>
      <ErrorNote error={envs.error} onRetry={envs.reload} />
      <nav className="rv-tabs" aria-label="Environment">
        {names.map((name) => (
          <a key={name} className={`rv-tab ${name === env ? "active" : ""}`} href={href(app, "vars", name)} aria-current={name === env ? "page" : undefined}>
            {name}
          </a>
        ))}
      </nav>
      {notice ? (
        <div className="rm-notice ok" role="status">
          <span>{notice}</span>
          <button type="button" className="btn ghost small" onClick={() => setNotice(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ) : null}
      <div className="vars-layout">
        <div>
          {listing.loading && !listing.data ? <Spinner label={`Loading ${env}'s variables`} /> : null}
          <ErrorNote error={listing.error} onRetry={listing.reload} />
          {listing.data && listing.data.env === env ? (
            <>
              {listing.data.vars.length ? (
                <p className="muted small">
                  {listing.data.vars.length} variable{listing.data.vars.length === 1 ? "" : "s"} in {env} · version {listing.data.version}
                </p>
              ) : null}
              {listing.data.vars.length === 0 ? (
                <Empty title={`No variables in ${env} yet`}>Add one below; mark it secret for keys and passwords.</Empty>
              ) : (
                <VarsTable vars={listing.data.vars} onEdit={(v) => setEditing(v)} onDelete={(v) => setDeleting(v)} />
              )}
            </>
          ) : null}
          {editing ? (
            <VarForm
              key={`edit-${env}-${editing.key}`}
              app={app}
              env={env}
              editing={editing}
              onCancel={() => setEditing(null)}
              onSaved={(_listing, key) => {
                setEditing(null);
                changed(`${key} changed in ${env}.`);
              }}
            />
          ) : (
            <VarForm
              key={`add-${env}-${adding}`}
              app={app}
              env={env}
              editing={null}
              onSaved={(_listing, key) => {
                setAdding((n) => n + 1);
                changed(`${key} set in ${env}.`);
              }}
            />
          )}
        </div>
        <VarsHistory app={app} env={env} changes={changes} />
      </div>
      {deleting ? (
        <DeleteVar
          app={app}
          env={env}
          item={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            const key = deleting.key;
            setDeleting(null);
            changed(`${key} deleted from ${env}.`);
          }}
        />
      ) : null}
    </section>
  );
}
