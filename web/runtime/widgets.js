// Built-in nodes with state of their own: forms and fields, buttons, tables, tabs, dialogs,
// the app shell, skeletons and charts (the chart drawing code is loaded on first use).
import { cloneElement, createContext, createElement as h, Fragment, useContext, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import { getPath } from "./expr.js";
import { icon } from "./icons.js";

export const cls = (...names) => names.filter(Boolean).join(" ");
export const str = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

const FormContext = createContext(null);
const FOCUSABLE = "a[href],button:not([disabled]),input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex='-1'])";

function formValues(form) {
  const values = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") values[el.name] = el.checked;
    else if (el.type === "number") values[el.name] = el.value === "" ? null : Number(el.value);
    else if (el.type !== "submit" && el.type !== "button") values[el.name] = el.value;
  }
  return values;
}

/** Messages for named fields in a function's 422: `detail.fields`, `detail.location`, or
 * pydantic's "field\n  message" lines / "field: message" in the error's message. */
export function fieldErrors(error, names) {
  const out = {};
  if (!error || error.status !== 422) return out;
  const detail = (error.payload && error.payload.error && error.payload.error.detail) || {};
  const message = String((error.payload && error.payload.error && error.payload.error.message) || "");
  const fields = detail.fields && typeof detail.fields === "object" ? detail.fields : {};
  for (const name of names) {
    if (typeof fields[name] === "string") { out[name] = fields[name]; continue; }
    const lines = message.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === name && lines[i + 1]) { out[name] = lines[i + 1].trim().replace(/ \[type=.*$/, ""); break; }
      const m = line.match(/^(?:parameter '[^']*': )?([A-Za-z_][\w-]*): (.+)$/);
      if (m && m[1] === name) { out[name] = m[2]; break; }
    }
    if (!out[name] && typeof detail.location === "string" && detail.location.split(".").pop() === name) out[name] = message;
  }
  return out;
}

export function Form({ id, props, fire, children }) {
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const clear = (name) => setErrors((e) => (name in e ? { ...e, [name]: undefined } : e));
  const onSubmit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const values = formValues(form);
    setBusy(true);
    setFormError(null);
    let shown = {};
    const ok = await fire("submit", values, { form: values }, {
      // A 422 that names this form's fields is shown at the fields, not as a toast.
      onCallError: (err) => {
        shown = fieldErrors(err, Object.keys(values));
        if (!Object.keys(shown).length) return false;
        setErrors(shown);
        return true;
      },
    });
    setBusy(false);
    // Named inputs are the form's own; they are cleared once the submit actions succeed.
    if (ok) { setErrors({}); form.reset(); }
    else if (Object.keys(shown).length) {
      const first = form.querySelector("[aria-invalid='true']") || form.elements[Object.keys(shown)[0]];
      if (first && first.focus) first.focus();
    }
  };
  return h(FormContext.Provider, { value: { errors, clear } },
    h("form", { id, className: cls("atoll-form", props.layout === "inline" && "atoll-form-inline"), onSubmit, noValidate: true, "aria-busy": busy || undefined },
      children,
      props.submitText ? h("button", { type: "submit", className: "atoll-button atoll-primary", disabled: busy }, busy ? h("span", { className: "atoll-spinner", "aria-hidden": "true" }) : null, str(props.submitText)) : null,
      formError ? h("p", { className: "atoll-form-error", role: "alert" }, formError) : null));
}

// An input is controlled when bound to state (or given a value); otherwise the browser owns it.
function controlled(props, ctx) {
  if (props.bind) return { value: str(getPath(ctx.state, String(props.bind).replace(/^state\./, ""))) };
  if (props.value !== undefined && props.value !== null) return { value: str(props.value) };
  return {};
}

function Field({ id, label, hint, error, errorId, children }) {
  const described = error ? errorId : undefined;
  const control = cloneElement(children, { "aria-invalid": error ? "true" : undefined, "aria-describedby": described });
  if (!label) {
    return h("div", { className: "atoll-field", id }, control, error ? h("span", { id: errorId, className: "atoll-field-error" }, error) : null);
  }
  return h("div", { className: "atoll-field", id },
    h("label", { className: "atoll-field" }, h("span", { className: "atoll-label" }, str(label)), control),
    hint && !error ? h("span", { className: "atoll-empty atoll-field-error" }, str(hint)) : null,
    error ? h("span", { id: errorId, className: "atoll-field-error" }, error) : null);
}

function useFieldError(name) {
  const form = useContext(FormContext);
  const error = form && name ? form.errors[name] : undefined;
  return [error, () => form && name && form.clear(name)];
}

export function Input({ id, props, ctx, fire }) {
  const errorId = useId();
  const [error, clear] = useFieldError(props.name);
  const label = props.label ?? null;
  return h(Field, { id, label, error, errorId, hint: props.hint }, h("input", {
    className: "atoll-input", type: props.inputType ?? "text", placeholder: props.placeholder ?? undefined,
    name: props.name ?? undefined, required: !!props.required, disabled: !!props.disabled, ...controlled(props, ctx),
    "aria-label": label ? undefined : str(props.placeholder || props.name || "Text"),
    onChange: (e) => {
      clear();
      const v = props.inputType === "number" && e.target.value !== "" ? Number(e.target.value) : e.target.value;
      if (props.bind) ctx.setState(props.bind, v);
      fire("change", { value: v });
    },
  }));
}

export function Select({ id, props, ctx, fire }) {
  const errorId = useId();
  const [error, clear] = useFieldError(props.name);
  const options = Array.isArray(props.options) ? props.options : [];
  return h(Field, { id, label: props.label, error, errorId }, h("select", {
    className: "atoll-select", name: props.name ?? undefined, disabled: !!props.disabled, ...controlled(props, ctx),
    "aria-label": props.label ? undefined : str(props.name || "Choose"),
    onChange: (e) => {
      clear();
      const chosen = options.find((o) => str(o && o.value) === e.target.value);
      const v = chosen ? chosen.value : e.target.value;
      if (props.bind) ctx.setState(props.bind, v);
      fire("change", { value: v });
    },
  }, options.map((o, i) => h("option", { key: i, value: str(o && o.value) }, str(o && (o.label ?? o.value))))));
}

/** A modal dialog: focus moves in and is trapped, Escape and the backdrop close it, focus returns. */
function Modal({ title, description, onClose, role = "dialog", size, children }) {
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

export function Button({ id, props, fire }) {
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const live = useRef(true);
  useEffect(() => () => { live.current = false; }, []);
  const run = async () => {
    setBusy(true);
    try { await fire("click", {}); } finally { if (live.current) setBusy(false); }
  };
  const confirm = props.confirm && typeof props.confirm === "object" ? props.confirm : null;
  const text = str(props.text);
  const iconOnly = props.icon && props.iconOnly;
  const variant = props.variant ?? "primary";
  return h(Fragment, null,
    h("button", {
      id, type: props.kind === "submit" ? "submit" : "button", disabled: !!props.disabled || busy, "aria-busy": busy || undefined,
      "aria-label": iconOnly ? text : undefined, title: iconOnly ? text : undefined,
      className: cls("atoll-button", `atoll-${variant}`, props.size && props.size !== "md" && `atoll-size-${props.size}`, iconOnly && "atoll-icon-only"),
      onClick: props.kind === "submit" ? undefined : () => (confirm ? setConfirming(true) : run()),
    }, busy ? h("span", { className: "atoll-spinner", "aria-hidden": "true" }) : props.icon ? icon(str(props.icon)) : null, iconOnly ? null : text),
    confirming ? h(Modal, { title: confirm.title ?? "Are you sure?", description: confirm.text, role: "alertdialog", onClose: () => setConfirming(false) },
      h("div", { className: "atoll-dialog-actions" },
        h("button", { type: "button", className: "atoll-button atoll-secondary", "data-autofocus": "", onClick: () => setConfirming(false) }, str(confirm.cancelText ?? "Cancel")),
        h("button", { type: "button", className: cls("atoll-button", variant === "danger" || confirm.danger !== false ? "atoll-danger" : "atoll-primary"),
          onClick: () => { setConfirming(false); run(); } }, str(confirm.confirmText ?? text)))) : null);
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

export const formatters = {
  number: (v) => (typeof v === "number" ? v.toLocaleString() : str(v)),
  money: (v) => (typeof v === "number" ? v.toLocaleString(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 }) : str(v)),
  percent: (v) => (typeof v === "number" ? `${Math.round(v * 100)}%` : str(v)),
  date: (v) => { const d = new Date(str(v)); return Number.isNaN(d.getTime()) ? str(v) : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }); },
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
export function Skeleton({ id, props }) {
  const lines = Math.min(12, Math.max(1, Number(props.lines) || 3));
  return h("div", { id, className: "atoll-skeleton", "aria-busy": "true", role: "status", "aria-label": "Loading" },
    Array.from({ length: lines }, (_, i) => h("div", { key: i, className: "atoll-skeleton-line", style: props.height ? { height: `${Number(props.height)}px` } : undefined })));
}

let chartModule = null;
/** A chart of bound data; the drawing code is a separate chunk, fetched only by pages with a Chart. */
export function Chart({ id, props }) {
  const [mod, setMod] = useState(chartModule);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    if (mod) return undefined;
    let live = true;
    import("./chart.js").then((m) => { chartModule = m; if (live) setMod(m); }, (err) => { if (live) setFailed(String(err)); });
    return () => { live = false; };
  }, [mod]);
  if (failed) throw new Error(`chart could not load: ${failed}`);
  if (!mod) return h(Skeleton, { id, props: { lines: 1, height: Number(props.height) || 220 } });
  return h(mod.ChartView, { id, props });
}
