// The Preview panel: the dev environment at full size, with its URL bar; it follows dev's
// builds and swaps each new one in (editor/preview-frame.jsx).
import { useRef } from "react";
import { useDevBuild } from "../editor/builds.js";
import { useShortcuts } from "../editor/keys.js";
import PreviewFrame from "../editor/preview-frame.jsx";
import { href } from "../route.js";
import { ErrorNote } from "../ui.jsx";

export default function PreviewPanel({ app }) {
  const dev = useDevBuild(app);
  const control = useRef(null);
  useShortcuts({ run: () => control.current && control.current.reload() });
  return (
    <div className="preview-panel">
      {dev.error ? <ErrorNote error={dev.error} /> : null}
      <PreviewFrame env={dev.env} takeChanges={dev.takeChanges} control={control} onOpenError={(e) => (location.hash = href(app, "editor", ...e.file.split("/")))} />
    </div>
  );
}
