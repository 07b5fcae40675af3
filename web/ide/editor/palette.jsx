// The command palette (Ctrl/Cmd+K or Ctrl+Shift+P): type to filter, arrows to choose, Enter.
import { useMemo, useState } from "react";
import { Dialog } from "../ui.jsx";

/** Commands whose title holds every typed word (in any order), best matches first. */
export function filterCommands(commands, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return commands;
  return commands
    .filter((c) => words.every((w) => c.title.toLowerCase().includes(w)))
    .sort((x, y) => x.title.toLowerCase().indexOf(words[0]) - y.title.toLowerCase().indexOf(words[0]));
}

export default function Palette({ commands, onClose }) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const shown = useMemo(() => filterCommands(commands, query).slice(0, 50), [commands, query]);
  const run = (command) => {
    onClose();
    if (command) command.run();
  };
  const onKey = (event) => {
    if (event.key === "ArrowDown") setActive((a) => Math.min(a + 1, shown.length - 1));
    else if (event.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
    else if (event.key === "Enter") run(shown[active]);
    else return;
    event.preventDefault();
  };
  return (
    <Dialog title="Command palette" onClose={onClose} labelledBy="palette-title">
      <input
        className="palette-input"
        aria-label="Command"
        placeholder="Open a file, save, go to a panel…"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKey}
        role="combobox"
        aria-expanded="true"
        aria-controls="palette-list"
        aria-activedescendant={shown[active] ? `cmd-${active}` : undefined}
      />
      <ul className="palette-list" id="palette-list" role="listbox">
        {shown.length ? null : <li className="muted small">Nothing matches.</li>}
        {shown.map((c, n) => (
          <li key={c.id} id={`cmd-${n}`} role="option" aria-selected={n === active} className={n === active ? "active" : ""} onMouseEnter={() => setActive(n)} onMouseDown={(e) => (e.preventDefault(), run(c))}>
            <span>{c.title}</span>
            {c.keys ? <kbd>{c.keys}</kbd> : null}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
