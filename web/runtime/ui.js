// @atoll/ui: what tenant components import from the platform (mapped by the page's import map).
import { createContext, createElement, useContext, useLayoutEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { callFunction } from "./api.js";

/** The shadow root a component is mounted in, and the container its portals go to. */
export const ShadowContext = createContext(null);

/** The component's ShadowRoot (null outside Atoll). */
export function useShadowRoot() {
  const ctx = useContext(ShadowContext);
  return ctx ? ctx.root : null;
}

/** The element inside the component's shadow root that modals and popovers should render into. */
export function usePortalContainer() {
  const ctx = useContext(ShadowContext);
  return ctx ? ctx.portal : document.body;
}

/** Render children into the component's portal container, so its CSS still applies. */
export function Portal({ children }) {
  return createPortal(children, usePortalContainer());
}

/** A modal dialog in the portal container; it takes focus, and Escape or a click outside closes it. */
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

/** A box shown next to `anchor` (an element, e.g. from a ref), in the portal container. */
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

/** Call one of the app's functions: `await call("todos")`, `call("todos", {method: "POST", body})`. */
export function call(name, { method = "GET", query = {}, body = null } = {}) {
  const boot = typeof window !== "undefined" && window.__atoll ? window.__atoll.boot : null;
  return callFunction(boot && boot.apiBase ? boot.apiBase : "/api", name, method, query, body);
}
