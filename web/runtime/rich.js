// Built-in nodes only some pages use: tables, tabs, dialogs and the app shell. A chunk of its
// own, which the page shell preloads when the page has one of them (and Button's confirm
// loads on first use), so pages of plain nodes do not fetch it.
import { createElement as h, useId, useLayoutEffect, useRef, useState } from "react";
import { getPath } from "./expr.js";
import { icon } from "./icons.js";
import { cls, FOCUSABLE, formatters, str } from "./widgets.js";

/** A modal dialog: focus moves in and is trapped, Escape and the backdrop close it, focus returns. */
export function Modal({ title, description, onClose, role = "dialog", size, children }) {
  const box = useRef(null);
  const titleId = useId();
  const bodyId = useId();
  useLayoutEffect(() => {
    const before = document.activeElement;
    // The body's first control, not the close button; a confirm dialog names its own.
    const inBody = [...box.current.querySelectorAll(FOCUSABLE)].find((e) => !e.hasAttribute("data-close"));
    const first = box.current.querySelector("[data-autofocus]") || inBody || box.current;
    first.focus();
    return () => { if (before && before.focus && document.contains(before)) before.focus(); };
  }, []);
  const onKeyDown = (e) => {
    if (e.key === "Escape") { e.stopPropagation(); onClose(); return; }
    if (e.key !== "Tab") return;
    e.stopPropagation(); // a confirm dialog inside a dialog traps Tab itself
    const items = [...box.current.querySelectorAll(FOCUSABLE)];
    if (!items.length) { e.preventDefault(); return; }
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || document.activeElement === box.current)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  };
  return h("div", { className: "atoll-overlay", onMouseDown: (e) => { if (e.target === e.currentTarget) onClose(); } },
    h("div", {
      ref: box, role, "aria-modal": "true", "aria-labelledby": titleId, "aria-describedby": description ? bodyId : undefined,
      tabIndex: -1, className: cls("atoll-dialog", size === "lg" && "atoll-size-lg"), onKeyDown,
    },
    h("div", { className: "atoll-row", style: { justifyContent: "space-between", alignItems: "flex-start" } },
      h("h2", { id: titleId, className: "atoll-dialog-title" }, str(title)),
      h("button", { type: "button", className: "atoll-button atoll-ghost atoll-size-sm atoll-icon-only", "aria-label": "Close", "data-close": "", onClick: onClose }, icon("x"))),
    description ? h("p", { id: bodyId, className: "atoll-dialog-body" }, str(description)) : null,
    children));
}


/** Dialog: open while `bind` (a state path) is truthy, or by its own trigger button. */
export function Dialog({ id, props, ctx, fire, children }) {
  const [own, setOwn] = useState(false);
  const bound = props.bind ? getPath(ctx.state, String(props.bind).replace(/^state\./, "")) : undefined;
  const open = props.bind ? !!bound && bound !== false : own;
  const close = () => {
    if (props.bind) ctx.setState(props.bind, null); else setOwn(false);
    fire("close", {});
  };
  return h("div", { id, style: { display: "contents" } },
    props.triggerText ? h("button", { type: "button", className: cls("atoll-button", `atoll-${props.triggerVariant ?? "secondary"}`), "aria-haspopup": "dialog", onClick: () => setOwn(true) },
      props.triggerIcon ? icon(str(props.triggerIcon)) : null, str(props.triggerText)) : null,
    open ? h(Modal, { title: props.title, description: props.text, size: props.size, onClose: close },
      h("div", { className: "atoll-stack", style: { gap: "12px" } }, children)) : null);
}

/** Tabs: one tab per child; arrow keys move between tabs (roving tabindex). */
export function Tabs({ id, props, ctx, fire, children }) {
  const base = useId();
  const tabs = Array.isArray(props.tabs) ? props.tabs : [];
  const [own, setOwn] = useState(0);
  const bound = props.bind ? Number(getPath(ctx.state, String(props.bind).replace(/^state\./, ""))) : NaN;
  const selected = Math.min(Math.max(0, Number.isInteger(bound) ? bound : own), Math.max(0, tabs.length - 1));
  const refs = useRef([]);
  const choose = (i, focus) => {
    if (props.bind) ctx.setState(props.bind, i); else setOwn(i);
    if (focus && refs.current[i]) refs.current[i].focus();
    fire("change", { value: i });
  };
  const onKeyDown = (e) => {
    const n = tabs.length;
    const next = { ArrowRight: selected + 1, ArrowLeft: selected - 1 + n, Home: 0, End: n - 1 }[e.key];
    if (next === undefined || !n) return;
    e.preventDefault();
    choose(next % n, true);
  };
  return h("div", { id, className: "atoll-tabs" },
    h("div", { role: "tablist", className: "atoll-tablist", "aria-label": props.label ? str(props.label) : undefined, onKeyDown },
      tabs.map((t, i) => h("button", {
        key: i, ref: (el) => { refs.current[i] = el; }, type: "button", role: "tab", id: `${base}-tab-${i}`,
        "aria-selected": i === selected ? "true" : "false", "aria-controls": `${base}-panel-${i}`, tabIndex: i === selected ? 0 : -1,
        className: "atoll-tab", onClick: () => choose(i, false),
      }, t && t.icon ? icon(str(t.icon)) : null, t && t.icon ? " " : null, str(t && typeof t === "object" ? t.label : t)))),
    h("div", { role: "tabpanel", id: `${base}-panel-${selected}`, "aria-labelledby": `${base}-tab-${selected}`, tabIndex: 0 }, children[selected] ?? null));
}

const compareValues = (a, b) => {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
};



function cell(column, value) {
  if (column.format === "badge") {
    const tones = column.tones && typeof column.tones === "object" ? column.tones : {};
    const t = Object.prototype.hasOwnProperty.call(tones, str(value)) ? tones[str(value)] : "neutral";
    return h("span", { className: `atoll-badge atoll-tone-${str(t)}` }, str(value));
  }
  const format = Object.prototype.hasOwnProperty.call(formatters, column.format) ? formatters[column.format] : str;
  return format(value);
}

/** A table with sortable columns, pages of `pageSize` rows and an empty state. */
export function Table({ id, node, props, fire }) {
  const rows = Array.isArray(props.rows) ? props.rows : [];
  const columns = Array.isArray(props.columns) ? props.columns.filter((c) => c && typeof c === "object") : [];
  const [sort, setSort] = useState(null);
  const [pageIndex, setPage] = useState(0);
  const size = Number(props.pageSize) > 0 ? Number(props.pageSize) : 0;
  const sorted = sort ? [...rows].sort((a, b) => sort.dir * compareValues(a && a[sort.key], b && b[sort.key])) : rows;
  const pages = size ? Math.max(1, Math.ceil(sorted.length / size)) : 1;
  const current = Math.min(pageIndex, pages - 1);
  const shown = size ? sorted.slice(current * size, current * size + size) : sorted;
  const clickable = !!(node.on && node.on.rowClick);
  const numeric = (c) => c.format === "number" || c.format === "money" || c.format === "percent" || c.align === "end";
  const header = (c, i) => {
    const active = sort && sort.key === c.key;
    const ariaSort = active ? (sort.dir > 0 ? "ascending" : "descending") : c.sortable === false ? undefined : "none";
    const label = str(c.label ?? c.key);
    return h("th", { key: i, scope: "col", "aria-sort": ariaSort, className: numeric(c) ? "atoll-num" : undefined },
      c.sortable === false || props.sortable === false ? label : h("button", {
        type: "button", className: "atoll-sort",
        onClick: () => { setSort(active ? (sort.dir > 0 ? { key: c.key, dir: -1 } : null) : { key: c.key, dir: 1 }); setPage(0); },
      }, label, h("span", { className: "atoll-sort-mark", "aria-hidden": "true" }, active ? (sort.dir > 0 ? "▲" : "▼") : "↕")));
  };
  const row = (r, i) => h("tr", {
    key: i, className: clickable ? "atoll-clickable" : undefined, tabIndex: clickable ? 0 : undefined,
    onClick: clickable ? () => fire("rowClick", { row: r }, { row: r }) : undefined,
    onKeyDown: clickable ? (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fire("rowClick", { row: r }, { row: r }); } } : undefined,
  }, columns.map((c, j) => h("td", { key: j, className: numeric(c) ? "atoll-num" : undefined }, cell(c, r && typeof r === "object" ? r[c.key] : undefined))));
  return h("div", { id, className: "atoll-table-box" },
    h("div", { className: "atoll-table-scroll" },
      h("table", { className: "atoll-table" },
        props.caption ? h("caption", { className: "atoll-sr-only" }, str(props.caption)) : null,
        h("thead", null, h("tr", null, columns.map(header))),
        h("tbody", null, shown.length ? shown.map(row)
          : h("tr", null, h("td", { colSpan: columns.length || 1, className: "atoll-empty" }, str(props.empty ?? "Nothing here yet.")))))),
    size && sorted.length > size ? h("nav", { className: "atoll-pager", "aria-label": "Pages" },
      h("span", { "aria-live": "polite" }, `${current * size + 1}–${Math.min(sorted.length, current * size + size)} of ${sorted.length}`),
      h("div", null,
        h("button", { type: "button", className: "atoll-button atoll-secondary atoll-size-sm", disabled: current === 0, onClick: () => setPage(current - 1) }, icon("chevron-left"), "Previous"),
        h("button", { type: "button", className: "atoll-button atoll-secondary atoll-size-sm", disabled: current >= pages - 1, onClick: () => setPage(current + 1) }, "Next", icon("chevron-right")))) : null);
}

/** The frame of an app: a top bar with its title and navigation, an optional sidebar (the first child). */
export function AppShell({ id, props, ctx, children }) {
  const nav = Array.isArray(props.nav) ? props.nav.filter((n) => n && typeof n === "object") : [];
  const side = props.sidebar && children.length > 1 ? children[0] : null;
  const main = side ? children.slice(1) : children;
  const go = (to) => (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    ctx.navigate(to);
  };
  return h("div", { id, className: "atoll-shell" },
    h("header", { className: "atoll-shell-bar" },
      h("a", { className: "atoll-shell-title", href: "/", onClick: go("/") }, icon(props.icon ? str(props.icon) : "layout"), str(props.title)),
      nav.length ? h("nav", { className: "atoll-shell-nav", "aria-label": "Main" }, nav.map((n, i) => {
        const to = str(n.to);
        const safe = to.startsWith("/") && !to.startsWith("//") ? to : "/";
        return h("a", { key: i, href: safe, onClick: go(safe), "aria-current": ctx.route === safe ? "page" : undefined },
          n.icon ? icon(str(n.icon)) : null, str(n.label));
      })) : null),
    h("div", { className: "atoll-shell-body" },
      side ? h("aside", { className: "atoll-shell-side" }, side) : null,
      h("main", { className: "atoll-shell-main" }, main)));
}

/** Grey placeholder lines while data loads (announced as busy to assistive technology). */
