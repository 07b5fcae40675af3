// Built-in nodes with state of their own: forms and fields, buttons, tables, tabs, dialogs,
// the app shell, skeletons and charts (the chart drawing code is loaded on first use).
import { cloneElement, createContext, createElement as h, Fragment, useContext, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import { getPath } from "./expr.js";
import { icon } from "./icons.js";

export const cls = (...names) => names.filter(Boolean).join(" ");
export const str = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

const FormContext = createContext(null);
export const FOCUSABLE = "a[href],button:not([disabled]),input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex='-1'])";

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

export const formatters = {
  number: (v) => (typeof v === "number" ? v.toLocaleString() : str(v)),
  money: (v) => (typeof v === "number" ? v.toLocaleString(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 }) : str(v)),
  percent: (v) => (typeof v === "number" ? `${Math.round(v * 100)}%` : str(v)),
  date: (v) => { const d = new Date(str(v)); return Number.isNaN(d.getTime()) ? str(v) : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }); },
};

export function Skeleton({ id, props }) {
  const lines = Math.min(12, Math.max(1, Number(props.lines) || 3));
  return h("div", { id, className: "atoll-skeleton", "aria-busy": "true", role: "status", "aria-label": "Loading" },
    Array.from({ length: lines }, (_, i) => h("div", { key: i, className: "atoll-skeleton-line", style: props.height ? { height: `${Number(props.height)}px` } : undefined })));
}

let richModule = null;
/** Load the chunk of tables, tabs, dialogs and the app shell (preloaded by pages that use them). */
export function loadRich() {
  return import("./rich.js").then((m) => { richModule = m; return m; });
}

// A node from rich.js: rendered at once when the chunk is there, after it loads otherwise.
function rich(name, fallback) {
  function RichNode(args) {
    const [mod, setMod] = useState(richModule);
    const [failed, setFailed] = useState(null);
    useEffect(() => {
      if (mod) return undefined;
      let live = true;
      loadRich().then((m) => { if (live) setMod(m); }, (err) => { if (live) setFailed(String(err)); });
      return () => { live = false; };
    }, [mod]);
    if (failed) throw new Error(`${name} could not load: ${failed}`);
    if (!mod) return fallback ? h(Skeleton, { id: args.id, props: { lines: 1 } }) : null;
    return h(mod[name], args);
  }
  return RichNode;
}

export const Dialog = rich("Dialog", false);
export const Tabs = rich("Tabs", true);
export const Table = rich("Table", true);
export const AppShell = rich("AppShell", true);
const Modal = rich("Modal", false);

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
