// A save that lost a race: both versions side by side, the lines that differ marked, and
// nothing written until the person chooses.

const MAX_CELLS = 4_000_000; // beyond this, the versions are shown without marking lines

/** For each line of `a` and `b`, whether it is in their longest common subsequence. */
export function commonLines(a, b) {
  const keepA = new Array(a.length).fill(false);
  const keepB = new Array(b.length).fill(false);
  if (a.length * b.length > MAX_CELLS) return { keepA: keepA.fill(true), keepB: keepB.fill(true) };
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j] ? table[(i + 1) * width + j + 1] + 1 : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      keepA[i++] = true;
      keepB[j++] = true;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) i++;
    else j++;
  }
  return { keepA, keepB };
}

function Side({ title, lines, keep, kind }) {
  return (
    <section className={`conflict-side ${kind}`} aria-label={title}>
      <h3>{title}</h3>
      <pre className="conflict-text">
        {lines.map((line, n) => (
          <div key={n} className={keep[n] ? "line" : "line changed"}>
            <span className="ln">{n + 1}</span>
            <span className="lt">{line || " "}</span>
          </div>
        ))}
      </pre>
    </section>
  );
}

export default function ConflictView({ path, mine, theirs, theirsRevision, busy, onKeepMine, onTakeTheirs, onBack }) {
  const a = mine.split("\n");
  const b = theirs === null ? [] : theirs.split("\n");
  const { keepA, keepB } = commonLines(a, b);
  return (
    <div className="conflict" role="region" aria-label="Save conflict">
      <div className="conflict-head">
        <div>
          <strong>{path} changed since you opened it</strong>
          <div className="muted small">
            {theirs === null ? "Someone deleted it" : "Someone saved another version"} (revision {theirsRevision}). Nothing was overwritten; choose which version to keep.
          </div>
        </div>
        <div className="actions">
          <button type="button" className="btn small" onClick={onBack} disabled={busy}>
            Back to editing
          </button>
          <button type="button" className="btn small" onClick={onTakeTheirs} disabled={busy}>
            {theirs === null ? "Discard mine" : "Use theirs"}
          </button>
          <button type="button" className="btn small primary" onClick={onKeepMine} disabled={busy}>
            Save mine over theirs
          </button>
        </div>
      </div>
      <div className="conflict-sides">
        <Side title="Your version (not saved)" lines={a} keep={keepA} kind="mine" />
        <Side title={theirs === null ? "Saved version: deleted" : `Saved version (revision ${theirsRevision})`} lines={b} keep={keepB} kind="theirs" />
      </div>
    </div>
  );
}
