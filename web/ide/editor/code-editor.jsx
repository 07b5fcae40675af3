// One CodeMirror editor as a React component; CodeMirror itself is loaded on first use.
import { useEffect, useRef, useState } from "react";
import { ErrorNote, Spinner } from "../ui.jsx";

let loading = null;
/** The CodeMirror module (its own chunk, fetched once). */
export const loadCodeMirror = () => (loading ||= import("./cm.js"));

/**
 * `text` is the content when the editor opens (keyed by path: a new file makes a new editor);
 * later edits flow out through `onChange`. `handle.current` gets the editor's handle (text,
 * replace, goto, relint, focus). `lintKey` changing re-runs the lint (a new build's errors).
 */
export default function CodeEditor({ path, text, readOnly, onChange, onSave, onRun, check, buildIssues, handle, lintKey, goto }) {
  const parent = useRef(null);
  const [state, setState] = useState({ loading: true, error: null });
  const callbacks = useRef({});
  callbacks.current = { onChange, onSave, onRun, check, buildIssues };

  useEffect(() => {
    let editor = null;
    let live = true;
    loadCodeMirror().then(
      (cm) => {
        if (!live || !parent.current) return;
        editor = cm.createEditor({
          parent: parent.current,
          doc: text,
          path,
          readOnly,
          onChange: (t) => callbacks.current.onChange && callbacks.current.onChange(t),
          onSave: () => callbacks.current.onSave && callbacks.current.onSave(),
          onRun: () => callbacks.current.onRun && callbacks.current.onRun(),
          check: check ? (t) => callbacks.current.check(t) : undefined,
          buildIssues: () => (callbacks.current.buildIssues ? callbacks.current.buildIssues() : []),
        });
        if (handle) handle.current = editor;
        setState({ loading: false, error: null });
        if (goto && goto.line) editor.goto(goto.line, goto.column);
        else editor.focus();
      },
      (error) => live && setState({ loading: false, error }),
    );
    return () => {
      live = false;
      if (handle && handle.current === editor) handle.current = null;
      if (editor) editor.destroy();
    };
    // A new editor per file (and per read-only mode); text changes flow through CodeMirror.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, readOnly]);

  useEffect(() => {
    if (handle && handle.current) handle.current.relint();
  }, [lintKey, handle]);

  useEffect(() => {
    if (goto && goto.line && handle && handle.current) handle.current.goto(goto.line, goto.column);
  }, [goto, handle]);

  return (
    <div className="code-editor" data-path={path}>
      {state.loading ? <Spinner label="Loading the editor" /> : null}
      {state.error ? <ErrorNote error={state.error} onRetry={() => location.reload()} /> : null}
      <div className="code-editor-host" ref={parent} />
    </div>
  );
}
