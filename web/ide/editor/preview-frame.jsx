// The dev environment in a cross-origin frame, with a URL bar for the app's pages. When a
// new build of dev is live, the frame is told so ("rebuilt", and which files changed) and
// swaps in what changed itself (web/runtime/dev.js); nothing else is sent to it, and of
// what it sends back only its own address is read.
import { useCallback, useEffect, useImperativeHandle, useRef, useState } from "react";
import { Empty } from "../ui.jsx";

const MAX_PATH = 2048;

/** The frame's report of where it is, if `data` is one (tenant code runs in the frame). */
export function readLocation(data) {
  if (!data || typeof data !== "object" || data.atoll !== 1 || data.type !== "location") return null;
  const path = data.path;
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//") || path.length > MAX_PATH) return null;
  return path;
}

function BuildPill({ env }) {
  const build = env && env.build;
  if (!build) return <span className="status">no build yet</span>;
  if (build.state === "building") return <span className="status building">building r{build.number}…</span>;
  if (build.state === "failed") return <span className="status failed" title={build.errors.map((e) => e.message).join("\n")}>r{build.number} failed</span>;
  return <span className="status ready">r{build.number} live</span>;
}

export default function PreviewFrame({ env, takeChanges, control, onOpenError }) {
  const frame = useRef(null);
  const [path, setPath] = useState("/");
  const [typed, setTyped] = useState("/");
  const [src, setSrc] = useState(null);
  const [swapped, setSwapped] = useState(0);
  const shownNumber = useRef(null); // the revision number the frame shows
  const origin = env ? new URL(env.url).origin : null;
  const live = env && env.number;

  const load = useCallback(
    (to) => {
      if (!origin) return;
      shownNumber.current = live;
      setSrc(`${origin}${to}${to === path ? (to.includes("?") ? "&" : "?") + "_=" + Date.now() : ""}`);
      setPath(to);
      setTyped(to);
    },
    [origin, live, path],
  );

  useImperativeHandle(control, () => ({ reload: () => load(path) }), [load, path]);

  useEffect(() => {
    if (origin && live && src === null) {
      shownNumber.current = live;
      setSrc(`${origin}${path}`);
    }
  }, [origin, live, src, path]);

  // A new build went live: tell the frame, which swaps it in (or reloads itself).
  useEffect(() => {
    if (!live || !frame.current || !src || shownNumber.current === null || live <= shownNumber.current) return;
    shownNumber.current = live;
    const changed = takeChanges ? takeChanges() : null;
    frame.current.contentWindow.postMessage({ atoll: 1, type: "rebuilt", revision: env.revision, changed }, origin);
    setSwapped((n) => n + 1);
  }, [live, src, origin, env, takeChanges]);

  useEffect(() => {
    const onMessage = (event) => {
      if (!frame.current || event.source !== frame.current.contentWindow || event.origin !== origin) return;
      const where = readLocation(event.data);
      if (where !== null) {
        setPath(where);
        setTyped(where);
      }
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, [origin]);

  const hello = () => frame.current && origin && frame.current.contentWindow.postMessage({ atoll: 1, type: "hello" }, origin);

  const go = (event) => {
    event.preventDefault();
    let to = typed.trim() || "/";
    if (!to.startsWith("/")) to = `/${to}`;
    if (to.startsWith("//")) to = to.replace(/^\/+/, "/");
    load(to);
  };

  const build = env && env.build;
  return (
    <div className="preview" data-swaps={swapped}>
      <form className="preview-bar" onSubmit={go}>
        <button type="button" className="btn ghost small" onClick={() => load(path)} title="Reload the preview (Ctrl+Enter)" disabled={!src} aria-label="Reload preview">
          ⟳
        </button>
        <div className="url-box">
          <span className="url-origin" title={origin || ""}>{origin ? new URL(origin).host : "dev"}</span>
          <input aria-label="Preview address" value={typed} onChange={(e) => setTyped(e.target.value)} spellCheck="false" />
        </div>
        <BuildPill env={env} />
        {origin ? (
          <a className="btn ghost small" href={`${origin}${path}`} target="_blank" rel="noopener noreferrer" title="Open in a new tab">
            ↗
          </a>
        ) : null}
      </form>
      {build && build.state === "failed" ? (
        <div className="preview-failed" role="alert">
          <strong>Revision {build.number} did not build; the preview shows the last one that did.</strong>
          <ul>
            {build.errors.slice(0, 5).map((e, n) => (
              <li key={n}>
                {e.file ? (
                  <button type="button" className="linkish" onClick={() => onOpenError && onOpenError(e)}>
                    {e.file}
                    {e.line ? `:${e.line}` : ""}
                  </button>
                ) : null}{" "}
                {e.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {src ? (
        <iframe
          ref={frame}
          className="preview-frame"
          title="App preview"
          src={src}
          onLoad={hello}
          sandbox="allow-scripts allow-same-origin allow-forms allow-popups allow-modals allow-downloads"
        />
      ) : env ? (
        <Empty title="Nothing is served in dev yet">{build && build.state === "building" ? "The first build is running…" : "Save a file to build the app."}</Empty>
      ) : (
        <Empty title="Loading the preview…" />
      )}
    </div>
  );
}
