// Rows of a database as a table: every value shown as text, long ones cut with a way to
// read them whole, blobs by their size. Tenant data is hostile: nothing here renders HTML.
import { useState } from "react";
import { Dialog } from "../ui.jsx";

const CELL_CHARS = 120; // a cell longer than this is cut; the whole value is one click away
export const MAX_RENDERED_ROWS = 500; // a query's answer beyond this is counted, not drawn

const blobBytes = (value) => Math.floor((String(value.base64).replace(/=+$/, "").length * 3) / 4);

/** A cell's value as one line of text, and whether it was cut (pure). */
export function cellText(value) {
  if (value === null || value === undefined) return { text: "NULL", kind: "null", cut: false };
  if (typeof value === "object") {
    if (typeof value.base64 === "string") return { text: `blob · ${blobBytes(value)} bytes`, kind: "blob", cut: false };
    value = JSON.stringify(value);
  }
  if (typeof value === "number") return { text: String(value), kind: "number", cut: false };
  const text = String(value);
  const flat = text.replace(/\s+/g, " ");
  if (flat.length > CELL_CHARS || text.includes("\n")) return { text: flat.slice(0, CELL_CHARS) + "…", kind: "text", cut: true, full: text };
  return { text, kind: "text", cut: false };
}

function Cell({ value, column, onOpen }) {
  const shown = cellText(value);
  return (
    <td className={`cell ${shown.kind}`}>
      {shown.cut ? (
        <button type="button" className="cell-more" title="Show the whole value" onClick={() => onOpen({ column, text: shown.full })}>
          {shown.text}
        </button>
      ) : (
        shown.text
      )}
    </td>
  );
}

/** Columns and rows (as the API answers them) in a scrolling table. */
export function RowsTable({ columns, rows, types, label, firstRow = 1 }) {
  const [open, setOpen] = useState(null);
  const drawn = rows.slice(0, MAX_RENDERED_ROWS);
  return (
    <>
      <div className="grid-wrap">
        <table className="grid" aria-label={label}>
          <thead>
            <tr>
              <th className="rownum" aria-label="Row">
                #
              </th>
              {columns.map((c, i) => (
                <th key={i} scope="col">
                  <span>{c}</span>
                  {types && types[i] ? <span className="col-type">{types[i]}</span> : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {drawn.map((row, r) => (
              <tr key={r}>
                <td className="rownum">{firstRow + r}</td>
                {row.map((value, i) => (
                  <Cell key={i} value={value} column={columns[i]} onOpen={setOpen} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > drawn.length ? (
        <p className="muted small">
          Showing the first {drawn.length} of {rows.length} rows; narrow the query (LIMIT, WHERE) to see the others.
        </p>
      ) : null}
      {open ? (
        <Dialog title={`Value of ${open.column}`} onClose={() => setOpen(null)} labelledBy="cell-title">
          <pre className="scroll-pre value-full">{open.text.length > 1_000_000 ? open.text.slice(0, 1_000_000) + "\n… (cut at 1,000,000 characters)" : open.text}</pre>
          <div className="actions">
            <button type="button" className="btn" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
