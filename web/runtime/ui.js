// @atoll/ui: what tenant components import from the platform (mapped by the page's import map).
/**
 * What a tenant component can import from the platform: `import { call, Modal } from "@atoll/ui"`.
 *
 * A component (`components/<Name>.jsx`, default-exported) is mounted in its own shadow root by
 * the page's `Component` node. It receives the node's props (bindings resolved) and `emit`:
 * see {@link "component-host".ComponentProps}. React itself comes from the page's import map,
 * shared by every component.
 *
 * @module @atoll/ui
 */
import { createContext, createElement, useContext, useLayoutEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { callFunction } from "./api.js";

/**
 * The shadow root a component is mounted in, and the container its portals go to
 * (`{root, mount, portal}`; null outside Atoll). Prefer {@link useShadowRoot} and
 * {@link usePortalContainer}.
 */
export const ShadowContext = createContext(null);

/**
 * The component's ShadowRoot (null outside Atoll).
 * @returns {ShadowRoot | null}
 */
export function useShadowRoot() {
  const ctx = useContext(ShadowContext);
  return ctx ? ctx.root : null;
}

/**
 * The element inside the component's shadow root that modals and popovers should render into.
 * @returns {HTMLElement} the portal container, or `document.body` outside Atoll
 */
export function usePortalContainer() {
  const ctx = useContext(ShadowContext);
  return ctx ? ctx.portal : document.body;
}

/**
 * Render children into the component's portal container, so its CSS still applies.
 * @param {object} props
 * @param {*} props.children what to render there
 */
export function Portal({ children }) {
  return createPortal(children, usePortalContainer());
}

/**
 * A modal dialog in the portal container; it takes focus, and Escape or a click outside closes it.
 * @param {object} props
 * @param {boolean} [props.open=true] whether it is shown
 * @param {() => void} [props.onClose] called on Escape or a click on the backdrop
 * @param {string} [props.className] class of the dialog box
 * @param {*} props.children its content
 */
export function Modal({ open = true, onClose, className = "", children }) {
  const dialog = useRef(null);
  useLayoutEffect(() => {
    if (!open || !dialog.current) return undefined;
    const before = dialog.current.getRootNode().activeElement;
    dialog.current.focus();
    return () => { if (before && before.focus) before.focus(); };
  }, [open]);
  if (!open) return null;
  return createElement(
    Portal,
    null,
    createElement(
      "div",
      {
        "data-atoll-backdrop": "",
        style: { position: "fixed", inset: "0", display: "grid", placeItems: "center", background: "rgba(0,0,0,.35)" },
        onClick: (e) => { if (e.target === e.currentTarget && onClose) onClose(); },
        onKeyDown: (e) => { if (e.key === "Escape" && onClose) onClose(); },
      },
      createElement("div", { role: "dialog", "aria-modal": "true", tabIndex: -1, ref: dialog, className }, children),
    ),
  );
}

/**
 * A box shown next to `anchor` (an element, e.g. from a ref), in the portal container.
 * @param {object} props
 * @param {Element | null} props.anchor the element it is placed at
 * @param {boolean} [props.open=true] whether it is shown
 * @param {"bottom" | "top"} [props.placement="bottom"] below or above the anchor
 * @param {string} [props.className] class of the box
 * @param {*} props.children its content
 */
export function Popover({ anchor, open = true, placement = "bottom", className = "", children }) {
  const [position, setPosition] = useState(null);
  useLayoutEffect(() => {
    if (!open || !anchor) return undefined;
    const place = () => {
      const r = anchor.getBoundingClientRect();
      setPosition(placement === "top" ? { left: r.left, bottom: window.innerHeight - r.top } : { left: r.left, top: r.bottom });
    };
    place();
    window.addEventListener("scroll", place, true);
    window.addEventListener("resize", place);
    return () => {
      window.removeEventListener("scroll", place, true);
      window.removeEventListener("resize", place);
    };
  }, [anchor, open, placement]);
  if (!open || !anchor || !position) return null;
  return createElement(Portal, null,
    createElement("div", { "data-atoll-popover": "", className, style: { position: "fixed", ...position } }, children));
}

/**
 * Call one of the app's functions: `await call("todos")`, `call("todos", {method: "POST", body})`.
 * @param {string} name the function (`functions/<name>.py`)
 * @param {object} [options]
 * @param {"GET" | "POST" | "PUT" | "PATCH" | "DELETE"} [options.method="GET"]
 * @param {Record<string, unknown>} [options.query] query parameters (objects are sent as JSON)
 * @param {unknown} [options.body] the JSON body (not sent with GET)
 * @returns {Promise<any>} the parsed JSON answer
 * @throws {Error} on a non-2xx answer, with `status` and `payload` set
 */
export function call(name, { method = "GET", query = {}, body = null } = {}) {
  const boot = typeof window !== "undefined" && window.__atoll ? window.__atoll.boot : null;
  return callFunction(boot && boot.apiBase ? boot.apiBase : "/api", name, method, query, body);
}
