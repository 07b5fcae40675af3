// Mounting a tenant component: its own shadow root, shared stylesheets, a portal container.
import { createElement as h, useEffect, useLayoutEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { ErrorBox, NodeBoundary } from "./boundary.js";
import { hoistToDocument, hostReset, loadSheet } from "./styles.js";
import { ShadowContext } from "./ui.js";

const modules = new Map();

/** Load a component's module and stylesheets once per page load. */
function loadComponent(entry) {
  let pending = modules.get(entry.js);
  if (!pending) {
    pending = Promise.all([
      import(/* @vite-ignore */ entry.js),
      entry.css ? loadSheet(entry.css) : null,
      entry.documentCss ? hoistToDocument(entry.documentCss) : null,
    ]).then(([mod, sheet]) => {
      if (typeof mod.default !== "function" && typeof mod.default !== "object") {
        throw new Error("the module has no default-exported component");
      }
      return { Comp: mod.default, sheets: sheet ? [hostReset(), sheet] : [hostReset()] };
    });
    modules.set(entry.js, pending);
  }
  return pending;
}

/** The `Component` node: mounts components/<name>.jsx inside a shadow root. */
export function ComponentHost({ name, entry, props, emit, id, resetKey }) {
  const hostRef = useRef(null);
  const [shadow, setShadow] = useState(null);
  const [loaded, setLoaded] = useState({ status: "loading" });

  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host || shadow) return;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    const mount = document.createElement("div");
    mount.setAttribute("data-atoll-mount", "");
    const portal = document.createElement("div");
    portal.setAttribute("data-atoll-portal", "");
    root.replaceChildren(mount, portal);
    setShadow({ root, mount, portal });
  }, [shadow]);

  useEffect(() => {
    let live = true;
    if (!entry) return undefined;
    loadComponent(entry).then(
      (value) => live && setLoaded({ status: "ready", ...value }),
      (error) => live && setLoaded({ status: "error", error }),
    );
    return () => { live = false; };
  }, [entry && entry.js]);

  useLayoutEffect(() => {
    if (shadow && loaded.status === "ready") shadow.root.adoptedStyleSheets = loaded.sheets;
  }, [shadow, loaded]);

  if (!entry) return h(ErrorBox, { title: `Component ${name} failed`, message: `no component named ${name} in this app` });
  if (loaded.status === "error") {
    return h(ErrorBox, { title: `Component ${name} failed`, message: String(loaded.error && loaded.error.message || loaded.error) });
  }
  let inner = null;
  if (shadow) {
    const body = loaded.status === "ready"
      ? h(ShadowContext.Provider, { value: shadow },
          h(NodeBoundary, { label: `Component ${name}`, resetKey }, h(loaded.Comp, { ...props, emit })))
      : h("div", { "aria-busy": "true", style: { font: "13px system-ui", color: "#888" } }, "Loading…");
    inner = createPortal(body, shadow.mount);
  }
  const ready = shadow && loaded.status === "ready" ? "ready" : "loading";
  return h("atoll-component", { ref: hostRef, id, "data-component": name, "data-state": ready }, inner);
}
