// What a turn changed: the unified diff of each file between the revision it began on and
// the one it committed, as the control plane computes it (GET /apps/{app}/diff).
import { useState } from "react";
import { api } from "../api.js";
import { ErrorNote, Spinner, useLoad } from "../ui.jsx";

const FIRST_LINES = 400; // shown at once per file; the rest on request
const MOST_LINES = 5000; // never more than this per file: a 5 MiB file stays readable

/** A unified diff's lines with their kind and old/new line numbers (pure). */
export function diffLines(text) {
  const out = [];
  let oldNo = 0;
  let newNo = 0;
  for (const line of String(text || "").split("\n")) {
    if (line.startsWith("---") || line.startsWith("+++")) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      out.push({ kind: "hunk", text: line });
    } else if (line.startsWith("+")) {
      out.push({ kind: "add", text: line.slice(1), newNo: newNo++ });
    } else if (line.startsWith("-")) {
      out.push({ kind: "del", text: line.slice(1), oldNo: oldNo++ });
    } else if (line.startsWith("\\")) {
      out.push({ kind: "note", text: line });
    } else if (line.length || out.length) {
      out.push({ kind: "ctx", text: line.slice(1), oldNo: oldNo++, newNo: newNo++ });
    }
  }
  while (out.length && out[out.length - 1].kind === "ctx" && out[out.length - 1].text === "") out.pop();
  return out;
}

function FileDiff({ change }) {
  const [all, setAll] = useState(false);
  const lines = change.diff === null ? null : diffLines(change.diff);
  const added = lines ? lines.filter((l) => l.kind === "add").length : 0;
  const removed = lines ? lines.filter((l) => l.kind === "del").length : 0;
  const shown = lines ? lines.slice(0, all ? MOST_LINES : FIRST_LINES) : [];
  return (
    <details className="diff-file" open data-path={change.path}>
      <summary>
        <span className={`diff-status ${change.status}`}>{change.status}</span>
        <code className="diff-path">{change.path}</code>
        {lines ? (
          <span className="diff-counts">
            <span className="add">+{added}</span> <span className="del">−{removed}</span>
          </span>
        ) : null}
      </summary>
      {lines === null ? (
        <p className="muted small diff-binary">Not text: no line diff.</p>
      ) : (
        <div className="diff-body" role="table" aria-label={`Changes to ${change.path}`}>
          {shown.map((line, i) => (
            <div key={i} className={`diff-line ${line.kind}`} role="row">
              <span className="ln" aria-hidden="true">{line.oldNo ?? ""}</span>
              <span className="ln" aria-hidden="true">{line.newNo ?? ""}</span>
              <span className="mark" aria-hidden="true">{line.kind === "add" ? "+" : line.kind === "del" ? "−" : ""}</span>
              <code>{line.text}</code>
            </div>
          ))}
          {lines.length > shown.length ? (
            <div className="diff-more">
              {all ? (
                <span className="muted small">{lines.length - shown.length} more lines not shown.</span>
              ) : (
                <button type="button" className="btn small" onClick={() => setAll(true)}>
                  Show {Math.min(lines.length, MOST_LINES) - shown.length} more lines
                </button>
              )}
            </div>
          ) : null}
        </div>
      )}
    </details>
  );
}

/** The files a turn changed, with their diffs. */
export default function TurnDiff({ app, from, to }) {
  const diff = useLoad(
    () => api(`/apps/${encodeURIComponent(app)}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
    [app, from, to],
  );
  if (diff.loading) return <Spinner label="Loading the changes" />;
  if (diff.error) return <ErrorNote error={diff.error} onRetry={diff.reload} />;
  const changes = diff.data.changes || [];
  if (!changes.length) return <p className="muted">No file changed.</p>;
  return (
    <div className="diff" aria-label="Files changed">
      {changes.map((change) => (
        <FileDiff key={change.path} change={change} />
      ))}
    </div>
  );
}
