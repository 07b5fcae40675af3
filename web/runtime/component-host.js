// Mounting a tenant component: its own shadow root, shared stylesheets, a portal container.
/**
 * How the `Component` node mounts a tenant component (`components/<Name>.jsx`) in its own
 * shadow root, and what the component receives ({@link ComponentProps}).
 *
 * @module component-host
 */
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

/**
 * What a tenant component is called with: the `Component` node's props except `name`, with
 * every binding resolved, plus `emit`: `emit("picked", 3)` runs the node's `on.picked`
 * actions with `event.value` set to 3.
 * @typedef {Record<string, unknown> & { emit: (event: string, value?: unknown) => void }} ComponentProps
 */

/**
 * A component's built files, as the page's boot object lists them under `components`.
 * @typedef {object} ComponentEntry
 * @property {string} js URL of its ES module (content-addressed)
 * @property {string} [css] URL of its stylesheet, adopted by its shadow root
 * @property {string} [documentCss] URL of its document-level rules (fonts, registered properties)
 */

/**
 * The `Component` node: mounts components/<name>.jsx inside a shadow root.
 * @param {object} props
 * @param {string} props.name the component's name
 * @param {ComponentEntry} [props.entry] its built files; missing: an error box says so
 * @param {Record<string, unknown>} props.props the props it is given
 * @param {(event: string, value?: unknown) => void} props.emit fires the node's `on.<event>`
 * @param {string} [props.id] the node's id
 * @param {unknown} [props.resetKey] a new value lets a failed component try again
 */
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
