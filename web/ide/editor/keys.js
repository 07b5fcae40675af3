// The editor's keyboard shortcuts, wherever the focus is in the IDE: Ctrl/Cmd+S saves,
// Ctrl/Cmd+K or Ctrl+Shift+P opens the command palette, Ctrl/Cmd+Enter reloads the preview.
import { useEffect, useRef } from "react";

/** Which shortcut a keydown is, or null. */
export function shortcutOf(event) {
  const mod = event.ctrlKey || event.metaKey;
  if (!mod || event.altKey) return null;
  const key = event.key.toLowerCase();
  if (key === "s" && !event.shiftKey) return "save";
  if ((key === "k" && !event.shiftKey) || (key === "p" && event.shiftKey)) return "palette";
  if (key === "enter") return "run";
  return null;
}

export function useShortcuts(actions) {
  const current = useRef(actions);
  current.current = actions;
  useEffect(() => {
    const onKey = (event) => {
      if (event.defaultPrevented) return; // the editor handled it (its own Ctrl+S, Ctrl+Enter)
      const which = shortcutOf(event);
      if (!which || !current.current[which]) return;
      event.preventDefault();
      current.current[which]();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
