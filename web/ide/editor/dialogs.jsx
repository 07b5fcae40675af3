// The editor's small dialogs: a new file, a rename, a delete.
import { useState } from "react";
import { Dialog, ErrorNote } from "../ui.jsx";
import { badPath } from "./files.js";

/** Starting content for a new file, by where it goes (so it builds at once). */
export function templateFor(path) {
  const name = (path.split("/").pop() || "").replace(/\.[^.]*$/, "");
  if (/^components\/[^/]+\.(jsx|tsx)$/.test(path)) return `export default function ${name}() {\n  return <div>${name}</div>;\n}\n`;
  if (/^functions\/[^/]+\.py$/.test(path)) return `def get() -> dict[str, str]:\n    return {"hello": "world"}\n`;
  if (/^pages\/.+\.json$/.test(path)) return `{\n  "schemaVersion": 1,\n  "title": "${name}",\n  "root": { "type": "Stack", "children": [{ "type": "Heading", "props": { "text": "${name}" } }] }\n}\n`;
  return "";
}

export function PathDialog({ title, label, initial, action, onSubmit, onClose }) {
  const [path, setPath] = useState(initial);
  const [state, setState] = useState({ busy: false, error: null });
  const submit = async (event) => {
    event.preventDefault();
    const problem = badPath(path.trim());
    if (problem) return setState({ busy: false, error: new Error(problem) });
    setState({ busy: true, error: null });
    try {
      await onSubmit(path.trim());
      onClose();
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return (
    <Dialog title={title} onClose={onClose} labelledBy="path-dialog-title">
      <form className="form" onSubmit={submit}>
        <label>
          {label}
          <input value={path} onChange={(e) => setPath(e.target.value)} spellCheck="false" autoComplete="off" />
          <span className="hint">A path in the app, e.g. components/Card.jsx, functions/items.py, pages/about.json.</span>
        </label>
        <ErrorNote error={state.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.busy}>
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DeleteDialog({ path, onConfirm, onClose }) {
  const [state, setState] = useState({ busy: false, error: null });
  const confirm = async () => {
    setState({ busy: true, error: null });
    try {
      await onConfirm();
      onClose();
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return (
    <Dialog title={`Delete ${path}?`} onClose={onClose} labelledBy="delete-file-title">
      <div className="form">
        <p className="muted">The deletion is a new revision: the file stays in the history.</p>
        <ErrorNote error={state.error} />
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn danger" onClick={confirm} disabled={state.busy}>
            Delete file
          </button>
        </div>
      </div>
    </Dialog>
  );
}
