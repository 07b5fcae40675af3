// The Editor panel: the app's files, CodeMirror, and the dev preview beside it. A save is a
// revision on the head the editor last saw; a stale one shows both versions (conflict.jsx).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api.js";
import { issuesFor, useDevBuild } from "../editor/builds.js";
import CodeEditor from "../editor/code-editor.jsx";
import ConflictView from "../editor/conflict.jsx";
import { DeleteDialog, PathDialog, templateFor } from "../editor/dialogs.jsx";
import { checkPage, deleteFile, EDIT_LIMIT, fileUrl, listFiles, OPEN_LIMIT, readFile, renameFiles, sha256, writeFile } from "../editor/files.js";
import { useShortcuts } from "../editor/keys.js";
import Palette from "../editor/palette.jsx";
import PreviewFrame from "../editor/preview-frame.jsx";
import FileTree, { formatSize } from "../editor/tree.jsx";
import { href } from "../route.js";
import { Empty, ErrorNote, Spinner } from "../ui.jsx";
import { PANELS } from "./index.js";

const PREVIEW_KEY = "atoll-ide-editor-preview";
const isPage = (path) => /^pages\/.+\.json$/.test(path);
const folderOf = (path) => (path && path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

async function appExists(app) {
  try {
    await api(`/apps/${encodeURIComponent(app)}`);
    return true;
  } catch {
    return false;
  }
}

export default function EditorPanel({ app, rest }) {
  const open = rest.length ? rest.join("/") : null;
  const [listing, setListing] = useState({ data: null, error: null, loading: true });
  const head = useRef({ id: null, number: 0 });
  const docs = useRef(new Map()); // path -> {saved, sha, draft, binary, size, readOnly}
  const [, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);
  const [docState, setDocState] = useState({ loading: false, error: null });
  const [conflict, setConflict] = useState(null);
  const [saving, setSaving] = useState({ busy: false, error: null, note: "" });
  const [dialog, setDialog] = useState(null);
  const [palette, setPalette] = useState(false);
  const [showPreview, setShowPreview] = useState(() => localStorage.getItem(PREVIEW_KEY) !== "off");
  const [goto, setGoto] = useState(null);
  const [problemsOpen, setProblemsOpen] = useState(false);
  const editor = useRef(null);
  const preview = useRef(null);
  const upload = useRef(null);
  const dev = useDevBuild(app);
  const build = dev.env && dev.env.build;

  const refreshFiles = useCallback(async () => {
    try {
      const data = await listFiles(app);
      head.current = { id: data.revision, number: data.number };
      setListing({ data, error: null, loading: false });
    } catch (error) {
      if (error.status === 404 && (await appExists(app))) {
        head.current = { id: null, number: 0 }; // an app with no revision yet
        setListing({ data: { files: [] }, error: null, loading: false });
      } else setListing({ data: null, error, loading: false });
    }
  }, [app]);

  useEffect(() => {
    refreshFiles();
  }, [refreshFiles]);

  // Someone else (the agent, a push) made a newer revision: show its files.
  useEffect(() => {
    if (build && build.number > head.current.number) refreshFiles();
  }, [build, refreshFiles]);

  const files = useMemo(() => (listing.data ? listing.data.files : []), [listing.data]);
  const entry = open ? files.find((f) => f.path === open) : null;
  const doc = open ? docs.current.get(open) : null;

  // Open the file the route names (once per path; drafts survive switching files).
  useEffect(() => {
    if (!open || docs.current.has(open) || !listing.data) return;
    const known = files.find((f) => f.path === open);
    if (!known) return;
    if (known.size > OPEN_LIMIT) {
      docs.current.set(open, { binary: true, tooBig: true, size: known.size, sha: known.sha256 });
      bump();
      return;
    }
    let live = true;
    setDocState({ loading: true, error: null });
    readFile(app, open).then(
      (got) => {
        if (!live) return;
        const text = got.text;
        docs.current.set(open, { saved: text, draft: text, sha: got.sha, binary: text === null, size: got.size, readOnly: text !== null && got.size > EDIT_LIMIT });
        setDocState({ loading: false, error: null });
      },
      (error) => live && setDocState({ loading: false, error }),
    );
    return () => {
      live = false;
    };
  }, [app, open, listing.data, files]);

  useEffect(() => setConflict(null), [open]);

  const dirty = new Set([...docs.current].filter(([, d]) => !d.binary && d.draft !== d.saved).map(([p]) => p));

  const openFile = (path, line, column) => {
    location.hash = href(app, "editor", ...path.split("/"));
    setGoto(line ? { line, column, n: Date.now() } : null);
  };

  const afterWrite = (result, paths) => {
    head.current = { id: result.revision, number: result.number };
    if (result.created) dev.expect(result.number, paths);
  };

  /** Write `text` to `path` on the head; 409 when the file itself changed meanwhile. */
  async function put(path, text, base) {
    const result = await writeFile(app, path, text, base);
    afterWrite(result, [path]);
    return result;
  }

  const save = useCallback(async () => {
    if (!open || !doc || doc.binary || doc.readOnly || saving.busy) return;
    const text = editor.current ? editor.current.text() : doc.draft;
    setSaving({ busy: true, error: null, note: "" });
    try {
      try {
        await put(open, text, head.current.id);
      } catch (error) {
        if (error.status !== 409) throw error;
        // The workspace moved. If this file did not, the save goes on top of the new head.
        let theirs = null;
        try {
          theirs = await readFile(app, open);
        } catch (readError) {
          if (readError.status !== 404) throw readError;
        }
        const newHead = (error.detail && error.detail.head) || (theirs && theirs.revision);
        const unchanged = theirs ? theirs.sha === doc.sha : doc.sha == null;
        if (!unchanged) {
          const number = await revisionNumber(newHead);
          setConflict({ mine: text, theirs: theirs ? theirs.text ?? "" : null, theirsSha: theirs && theirs.sha, head: newHead, number });
          setSaving({ busy: false, error: null, note: "" });
          return;
        }
        await put(open, text, newHead);
      }
      doc.saved = text;
      doc.draft = text;
      doc.sha = await sha256(text);
      setSaving({ busy: false, error: null, note: "Saved" });
      refreshFiles();
    } catch (error) {
      setSaving({ busy: false, error, note: "" });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app, open, doc, saving.busy]);

  async function revisionNumber(id) {
    try {
      const listed = await listFiles(app);
      return listed.revision === id ? listed.number : null;
    } catch {
      return null;
    }
  }

  const keepMine = async () => {
    setSaving({ busy: true, error: null, note: "" });
    try {
      await put(open, conflict.mine, conflict.head);
      Object.assign(doc, { saved: conflict.mine, draft: conflict.mine, sha: await sha256(conflict.mine) });
      setConflict(null);
      setSaving({ busy: false, error: null, note: "Saved" });
      refreshFiles();
    } catch (error) {
      setSaving({ busy: false, error, note: "" });
    }
  };

  const takeTheirs = () => {
    head.current = { id: conflict.head, number: conflict.number || head.current.number };
    if (conflict.theirs === null) {
      docs.current.delete(open);
      setConflict(null);
      refreshFiles();
      location.hash = href(app, "editor");
      return;
    }
    Object.assign(doc, { saved: conflict.theirs, draft: conflict.theirs, sha: conflict.theirsSha });
    if (editor.current) editor.current.replace(conflict.theirs);
    doc.draft = conflict.theirs;
    setConflict(null);
    refreshFiles();
  };

  const createFile = async (path) => {
    if (files.some((f) => f.path === path)) throw new Error(`${path} exists already`);
    const result = await writeFile(app, path, templateFor(path), head.current.id);
    afterWrite(result, [path]);
    await refreshFiles();
    openFile(path);
  };

  const renameOpen = async (to) => {
    if (files.some((f) => f.path === to)) throw new Error(`${to} exists already`);
    const result = await renameFiles(app, [{ from: open, to, sha: entry.sha256 }], head.current.id);
    afterWrite({ ...result, created: true }, [open, to]);
    const moved = docs.current.get(open);
    docs.current.delete(open);
    if (moved) docs.current.set(to, moved);
    await refreshFiles();
    openFile(to);
  };

  const deleteOpen = async () => {
    const result = await deleteFile(app, open, head.current.id);
    afterWrite(result, [open]);
    docs.current.delete(open);
    await refreshFiles();
    location.hash = href(app, "editor");
  };

  const uploadInto = folderOf(open) || "static";
  const onUpload = async (event) => {
    const chosen = [...event.target.files];
    event.target.value = "";
    setSaving({ busy: true, error: null, note: "" });
    for (const file of chosen) {
      const path = `${uploadInto}/${file.name}`;
      try {
        await put(path, file, head.current.id);
        docs.current.delete(path);
      } catch (error) {
        const why = error.status === 413 ? `${file.name} is too large (${formatSize(file.size)}): ${error.message}` : `Could not upload ${file.name}: ${error.message}`;
        setSaving({ busy: false, error: new Error(why), note: "" });
        await refreshFiles();
        return;
      }
    }
    setSaving({ busy: false, error: null, note: `Uploaded ${chosen.length} file${chosen.length === 1 ? "" : "s"}` });
    await refreshFiles();
  };

  const togglePreview = () =>
    setShowPreview((s) => {
      localStorage.setItem(PREVIEW_KEY, s ? "off" : "on");
      return !s;
    });

  const commands = useMemo(
    () => [
      { id: "save", title: "Save file", keys: "Ctrl+S", run: save },
      { id: "new", title: "New file…", run: () => setDialog({ kind: "new" }) },
      { id: "upload", title: `Upload files into ${uploadInto}/…`, run: () => upload.current && upload.current.click() },
      { id: "reload", title: "Reload preview", keys: "Ctrl+Enter", run: () => preview.current && preview.current.reload() },
      { id: "toggle", title: showPreview ? "Hide preview" : "Show preview", run: togglePreview },
      ...(open && entry ? [{ id: "rename", title: `Rename ${open}…`, run: () => setDialog({ kind: "rename" }) }] : []),
      ...(open && entry ? [{ id: "delete", title: `Delete ${open}…`, run: () => setDialog({ kind: "delete" }) }] : []),
      ...files.map((f) => ({ id: `open:${f.path}`, title: `Open ${f.path}`, run: () => openFile(f.path) })),
      ...PANELS.map((p) => ({ id: `panel:${p.id}`, title: `Go to ${p.title}`, run: () => (location.hash = href(app, p.id)) })),
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [save, files, open, entry, showPreview, uploadInto, app],
  );

  useShortcuts({
    save: () => save(),
    palette: () => setPalette(true),
    run: () => preview.current && preview.current.reload(),
  });

  const problems = build && build.state === "failed" ? build.errors : [];
  const buildIssues = useCallback(() => issuesFor(build, open), [build, open]);
  const check = useMemo(() => (open && isPage(open) ? (text) => checkPage(app, open, text) : undefined), [app, open]);

  let body;
  if (listing.loading) body = <Spinner label="Loading the files" />;
  else if (!open) body = <Empty title="Open a file">Pick one on the left, or press Ctrl+K to find one.</Empty>;
  else if (!entry) body = <Empty title={`No file ${open}`}>It may have been renamed or deleted.</Empty>;
  else if (docState.loading || !doc) body = docState.error ? <ErrorNote error={docState.error} /> : <Spinner label={`Opening ${open}`} />;
  else if (doc.binary)
    body = (
      <div className="binary-note">
        <Empty title={doc.tooBig ? `${open} is too large to open here` : `${open} is not text`}>
          {formatSize(doc.size)}.{" "}
          <a href={fileUrl(app, open)} download>
            Download it
          </a>
        </Empty>
      </div>
    );
  else if (conflict)
    body = (
      <ConflictView path={open} mine={conflict.mine} theirs={conflict.theirs} theirsRevision={conflict.number ? `r${conflict.number}` : conflict.head.slice(0, 12)} busy={saving.busy} onKeepMine={keepMine} onTakeTheirs={takeTheirs} onBack={() => setConflict(null)} />
    );
  else
    body = (
      <CodeEditor
        key={open}
        path={open}
        text={doc.draft}
        readOnly={doc.readOnly}
        handle={editor}
        onChange={(t) => {
          const wasDirty = doc.draft !== doc.saved;
          doc.draft = t;
          if (wasDirty !== (t !== doc.saved)) bump();
        }}
        onSave={save}
        onRun={() => preview.current && preview.current.reload()}
        check={check}
        buildIssues={buildIssues}
        lintKey={build ? `${build.number}:${build.state}` : ""}
        goto={goto}
      />
    );

  const isDirty = doc && !doc.binary && doc.draft !== doc.saved;
  return (
    <div className={`editor-panel${showPreview ? " with-preview" : ""}`}>
      <aside className="files-pane" aria-label="Files">
        <div className="pane-head">
          <strong>Files</strong>
          <div className="pane-tools">
            <button type="button" className="btn ghost small" title="New file" aria-label="New file" onClick={() => setDialog({ kind: "new" })}>
              +
            </button>
            <button type="button" className="btn ghost small" title={`Upload files into ${uploadInto}/`} aria-label="Upload files" onClick={() => upload.current.click()}>
              ⇪
            </button>
            <input ref={upload} type="file" multiple hidden onChange={onUpload} aria-label="Files to upload" />
          </div>
        </div>
        {listing.error ? <ErrorNote error={listing.error} onRetry={refreshFiles} /> : null}
        {listing.data && !files.length ? <p className="muted small pad">No files yet. Create one with +.</p> : null}
        <FileTree files={files} open={open} dirty={dirty} onOpen={(p) => openFile(p)} />
      </aside>
      <section className="code-pane" aria-label="Editor">
        <div className="pane-head">
          <span className="file-title" title={open || ""}>
            {open || "No file open"}
            {isDirty ? <span className="dirty-dot" aria-label="unsaved changes" /> : null}
            {doc && doc.readOnly ? <span className="status building">read-only: {formatSize(doc.size)} is too large to edit here</span> : null}
          </span>
          <div className="pane-tools">
            <span className={`save-note${saving.note ? " shown" : ""}`} role="status">
              {saving.busy ? "Saving…" : saving.note}
            </span>
            {open && entry ? (
              <>
                <button type="button" className="btn ghost small" onClick={() => setDialog({ kind: "rename" })} disabled={isDirty} title={isDirty ? "Save first" : "Rename or move this file"}>
                  Rename
                </button>
                <button type="button" className="btn ghost small" onClick={() => setDialog({ kind: "delete" })}>
                  Delete
                </button>
              </>
            ) : null}
            <button type="button" className="btn ghost small" onClick={() => setPalette(true)} title="Command palette (Ctrl+K or Ctrl+Shift+P)">
              ⌘K
            </button>
            <button type="button" className="btn ghost small" onClick={togglePreview} title={showPreview ? "Hide the preview" : "Show the preview"} aria-pressed={showPreview}>
              Preview
            </button>
            <button type="button" className="btn primary small" onClick={save} disabled={!doc || doc.binary || doc.readOnly || saving.busy || Boolean(conflict)} title="Save (Ctrl+S)">
              Save
            </button>
          </div>
        </div>
        {saving.error ? <ErrorNote error={saving.error} /> : null}
        <div className="code-body">{body}</div>
      </section>
      {showPreview ? (
        <section className="preview-pane" aria-label="Preview">
          <PreviewFrame env={dev.env} takeChanges={dev.takeChanges} control={preview} onOpenError={(e) => openFile(e.file, e.line, e.column)} />
        </section>
      ) : null}
      <footer className="statusbar">
        <button type="button" className={`status-build ${build ? build.state : "none"}`} onClick={() => setProblemsOpen((o) => !o)} aria-expanded={problemsOpen} title="The dev build and its problems">
          {!build ? "dev: no build yet" : build.state === "building" ? `Building r${build.number}…` : build.state === "failed" ? `r${build.number} failed: ${problems.length} problem${problems.length === 1 ? "" : "s"}` : `r${build.number} live in dev`}
        </button>
        {dev.error ? <span className="muted small">dev: {dev.error.message}</span> : null}
        <span className="muted small keys-hint">Ctrl+S save · Ctrl+K commands · Ctrl+Enter reload preview</span>
        {problemsOpen && problems.length ? (
          <ul className="problems" aria-label="Problems">
            {problems.map((p, n) => (
              <li key={n}>
                {p.file ? (
                  <button type="button" className="linkish" onClick={() => openFile(p.file, p.line, p.column)}>
                    {p.file}
                    {p.line ? `:${p.line}${p.column ? `:${p.column}` : ""}` : ""}
                  </button>
                ) : null}{" "}
                <span>{p.message}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </footer>
      {palette ? <Palette commands={commands} onClose={() => setPalette(false)} /> : null}
      {dialog && dialog.kind === "new" ? <PathDialog title="New file" label="Path" initial={folderOf(open) ? `${folderOf(open)}/` : ""} action="Create" onSubmit={createFile} onClose={() => setDialog(null)} /> : null}
      {dialog && dialog.kind === "rename" ? <PathDialog title={`Rename ${open}`} label="New path" initial={open} action="Rename" onSubmit={renameOpen} onClose={() => setDialog(null)} /> : null}
      {dialog && dialog.kind === "delete" ? <DeleteDialog path={open} onConfirm={deleteOpen} onClose={() => setDialog(null)} /> : null}
    </div>
  );
}
