// A release's build errors and build log. A log is tenant output and may be long (up to
// 64 KiB): its tail is shown, the rest on demand, always as text.

const TAIL_LINES = 60;

/** Build errors as ``file:line:col: message`` lines, each pointing where it happened. */
export function BuildErrors({ errors }) {
  if (!errors || errors.length === 0) return null;
  return (
    <ul className="rm-errors" aria-label="Build errors">
      {errors.map((e, i) => (
        <li key={i}>
          {e.file ? (
            <code className="rm-where">
              {e.file}
              {e.line ? `:${e.line}` : ""}
              {e.line && e.column ? `:${e.column}` : ""}
            </code>
          ) : null}
          <span className="rm-message">{e.message}</span>
        </li>
      ))}
    </ul>
  );
}

/** The last lines of a build log, with a way to see all of it. */
export function BuildLog({ text, all, onShowAll }) {
  if (text === null || text === undefined) return <p className="muted small">No build log: this release was built before logs were kept.</p>;
  const lines = text.replace(/\n$/, "").split("\n");
  const cut = !all && lines.length > TAIL_LINES;
  const shown = cut ? lines.slice(-TAIL_LINES) : lines;
  return (
    <div className="rm-log">
      {cut ? (
        <div className="rm-log-cut">
          <span className="muted small">
            Showing the last {TAIL_LINES} of {lines.length} lines.
          </span>
          <button type="button" className="btn ghost small" onClick={onShowAll}>
            Show the whole log
          </button>
        </div>
      ) : null}
      <pre className="rm-log-text" tabIndex={0} aria-label="Build log">
        {shown.join("\n")}
      </pre>
    </div>
  );
}
