// Built-in node types and the recursive renderer: repeat, visibleWhen, data states, events.
import { cloneElement, createElement as h, Fragment } from "react";
import { ErrorBox, NodeBoundary } from "./boundary.js";
import { ComponentHost } from "./component-host.js";
import { dataDeps, evaluate as evaluateSource, getPath, isBinding, resolve, valueDeps } from "./expr.js";
import { renderMarkdown } from "./markdown.js";
import { safeImageUrl, safeUrl } from "./urls.js";

// Fields that are always expressions may also be written as bindings: {"$bind": "..."}.
const exprOf = (v) => (isBinding(v) ? v.$bind : v);
const evaluate = (v, scope) => evaluateSource(exprOf(v), scope);
const cls = (...names) => names.filter(Boolean).join(" ");
const str = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
const px = (v) => (typeof v === "number" ? `${v}px` : undefined);

function Stack({ props, children }) {
  return h("div", { className: "atoll-stack", style: { gap: px(props.gap ?? 12), alignItems: props.align ?? "stretch", padding: px(props.padding ?? 0) } }, children);
}

function Row({ props, children }) {
  const justify = { between: "space-between", around: "space-around" }[props.justify] ?? props.justify ?? "start";
  return h("div", { className: "atoll-row", style: { gap: px(props.gap ?? 12), alignItems: props.align ?? "center", justifyContent: justify, flexWrap: props.wrap ? "wrap" : "nowrap" } }, children);
}

function Grid({ props, children }) {
  const cols = props.minColumnWidth ? `repeat(auto-fill, minmax(${px(props.minColumnWidth)}, 1fr))` : `repeat(${Number(props.columns) || 2}, minmax(0, 1fr))`;
  return h("div", { className: "atoll-grid", style: { gap: px(props.gap ?? 12), gridTemplateColumns: cols } }, children);
}

function Card({ props, children }) {
  return h("section", { className: "atoll-card", style: { padding: px(props.padding ?? 16) } },
    props.title !== undefined && props.title !== null ? h("h3", { className: "atoll-card-title" }, str(props.title)) : null, children);
}

function Heading({ props }) {
  const level = Math.min(6, Math.max(1, Number(props.level) || 2));
  return h(`h${level}`, { className: "atoll-heading" }, str(props.text));
}

function Text({ props }) {
  return h("p", { className: cls("atoll-text", props.tone && props.tone !== "default" && `atoll-tone-${props.tone}`) }, str(props.text));
}

function Image({ props }) {
  return h("img", { className: "atoll-image", src: safeImageUrl(props.src) ?? undefined, alt: str(props.alt), width: props.width, height: props.height });
}

function Link({ props, ctx }) {
  if (props.to !== undefined && props.to !== null) {
    const to = safeUrl(str(props.to));
    if (to === null) return h("span", { className: "atoll-link" }, str(props.text));
    return h("a", { className: "atoll-link", href: to, onClick: (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      ctx.navigate(to);
    } }, str(props.text));
  }
  const href = safeUrl(str(props.href));
  return h("a", { className: "atoll-link", href: href ?? undefined, rel: "noopener noreferrer" }, str(props.text));
}

function Markdown({ props }) {
  return h("div", { className: "atoll-markdown" }, renderMarkdown(props.text));
}

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

function Form({ props, children, fire }) {
  return h("form", { className: "atoll-form", onSubmit: async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const values = formValues(form);
    // Named inputs are the form's own; they are cleared once the submit actions succeed.
    if (await fire("submit", values, { form: values })) form.reset();
  } },
    children,
    props.submitText ? h("button", { type: "submit", className: "atoll-button atoll-primary" }, str(props.submitText)) : null);
}

// Called as a component, so the node id (put on it by RenderNode) is passed along here.
function Field({ label, id, children }) {
  if (!label) return id ? cloneElement(children, { id }) : children;
  return h("label", { className: "atoll-field", id }, h("span", { className: "atoll-label" }, str(label)), children);
}

// An input is controlled when bound to state (or given a value); otherwise the browser owns it.
function controlled(props, ctx, key) {
  if (props.bind) {
    const value = getPath(ctx.state, String(props.bind).replace(/^state\./, ""));
    return { [key]: key === "checked" ? !!value : str(value) };
  }
  if (props[key] !== undefined && props[key] !== null) return { [key]: key === "checked" ? !!props[key] : str(props[key]) };
  return {};
}

function Input({ props, ctx, fire }) {
  return h(Field, { label: props.label }, h("input", {
    className: "atoll-input", type: props.inputType ?? "text", placeholder: props.placeholder ?? undefined,
    name: props.name ?? undefined, required: !!props.required, ...controlled(props, ctx, "value"),
    onChange: (e) => {
      const v = props.inputType === "number" && e.target.value !== "" ? Number(e.target.value) : e.target.value;
      if (props.bind) ctx.setState(props.bind, v);
      fire("change", { value: v });
    },
  }));
}

function Select({ props, ctx, fire }) {
  const options = Array.isArray(props.options) ? props.options : [];
  return h(Field, { label: props.label }, h("select", {
    className: "atoll-select", name: props.name ?? undefined, ...controlled(props, ctx, "value"),
    onChange: (e) => {
      const chosen = options.find((o) => str(o && o.value) === e.target.value);
      const v = chosen ? chosen.value : e.target.value;
      if (props.bind) ctx.setState(props.bind, v);
      fire("change", { value: v });
    },
  }, options.map((o, i) => h("option", { key: i, value: str(o && o.value) }, str(o && (o.label ?? o.value))))));
}

function Checkbox({ props, ctx, fire }) {
  return h("label", { className: "atoll-checkbox" }, h("input", {
    type: "checkbox", name: props.name ?? undefined, ...controlled(props, ctx, "checked"),
    onChange: (e) => {
      if (props.bind) ctx.setState(props.bind, e.target.checked);
      fire("change", { value: e.target.checked, checked: e.target.checked });
    },
  }), props.label !== undefined && props.label !== null ? h("span", null, str(props.label)) : null);
}

function Button({ props, fire }) {
  return h("button", {
    type: props.kind === "submit" ? "submit" : "button", disabled: !!props.disabled,
    className: cls("atoll-button", `atoll-${props.variant ?? "primary"}`),
    onClick: props.kind === "submit" ? undefined : () => fire("click", {}),
  }, str(props.text));
}

function Table({ props }) {
  const rows = Array.isArray(props.rows) ? props.rows : [];
  const columns = Array.isArray(props.columns) ? props.columns : [];
  return h("table", { className: "atoll-table" },
    h("thead", null, h("tr", null, columns.map((c, i) => h("th", { key: i }, str(c.label ?? c.key))))),
    h("tbody", null, rows.length
      ? rows.map((row, r) => h("tr", { key: r }, columns.map((c, i) => h("td", { key: i }, str(row && typeof row === "object" ? row[c.key] : undefined)))))
      : h("tr", null, h("td", { colSpan: columns.length || 1, className: "atoll-empty" }, str(props.empty ?? "Nothing here yet.")))));
}

function List({ props, children }) {
  // Each rendered child (every repeat instance too) becomes one <li>; see RenderNode's `wrap`.
  const items = children.map((child) => cloneElement(child, { wrap: "li" }));
  return h("div", { className: "atoll-list-box" },
    h(props.ordered ? "ol" : "ul", { className: "atoll-list" }, items),
    props.empty ? h("p", { className: "atoll-empty atoll-list-empty" }, str(props.empty)) : null);
}

function ComponentNode({ node, props, ctx, fire }) {
  const { name, ...rest } = props;
  return h(ComponentHost, { name, entry: ctx.components[name], props: rest, emit: (event, value) => fire(event, { value }), id: node.id, resetKey: ctx.version });
}

export const BUILTINS = { Stack, Row, Grid, Card, Heading, Text, Image, Link, Markdown, Form, Input, Select, Checkbox, Button, Table, List, Component: ComponentNode };

// A type this runtime does not know (say, from a newer Atoll): say so, and keep its children.
function Unknown({ node, children }) {
  return h("div", { className: "atoll-unknown-box" },
    h("div", { className: "atoll-unknown", role: "note" }, `Unknown node type "${str(node.type)}"`),
    children);
}

/** Data sources a node reads in its own props, repeat and visibleWhen (not its children's). */
function nodeDeps(node) {
  const deps = valueDeps(node.props || {});
  if (node.visibleWhen) for (const d of dataDeps(exprOf(node.visibleWhen))) deps.add(d);
  if (node.repeat && node.repeat.over) for (const d of dataDeps(exprOf(node.repeat.over))) deps.add(d);
  return deps;
}

function NodeBody({ node, scope, ctx, wrap }) {
  for (const dep of nodeDeps(node)) {
    const status = ctx.data[dep];
    if (!status || status.status === "loading") return h("div", { className: "atoll-loading", "aria-busy": "true" }, "Loading…");
    if (status.status === "error") return h(ErrorBox, { title: `Could not load ${dep}`, message: status.error, onRetry: () => ctx.refresh([dep]) });
  }
  if (node.repeat) {
    const items = evaluate(node.repeat.over, scope);
    const alias = node.repeat.as || "item";
    const single = { ...node, repeat: undefined };
    return h(Fragment, null, (Array.isArray(items) ? items : []).map((item, index) => {
      const itemScope = { ...scope, [alias]: item, index };
      const key = node.repeat.key ? str(evaluate(node.repeat.key, itemScope)) : index;
      return h(RenderNode, { key, node: single, scope: itemScope, ctx, wrap });
    }));
  }
  if (node.visibleWhen && !evaluate(node.visibleWhen, scope)) return null;
  const render = Object.prototype.hasOwnProperty.call(BUILTINS, node.type) ? BUILTINS[node.type] : null;
  const props = render ? resolve(node.props || {}, scope) : {};
  // Runs the node's actions for an event; resolves to false if one of them failed.
  const fire = (event, extra, more) => {
    const actions = node.on && Object.prototype.hasOwnProperty.call(node.on, event) ? node.on[event] : null;
    return actions ? ctx.run(actions, { ...scope, ...more, event: extra }) : Promise.resolve(true);
  };
  const children = (node.children || []).map((child, i) => h(RenderNode, { key: child.id ?? i, node: child, scope, ctx }));
  // Built-ins are plain functions without hooks: call them to put the node's id on their element.
  const element = (render || Unknown)({ node, props, ctx, fire, scope, children });
  return wrapIn(wrap, node.id && element ? cloneElement(element, { id: node.id }) : element);
}

const wrapIn = (tag, element) => (tag ? h(tag, null, element) : element);

/** Render one node (and its subtree) inside its own error boundary. */
export function RenderNode({ node, scope, ctx, wrap }) {
  const label = node && typeof node === "object" ? `${str(node.type) || "Node"}${node.id ? ` #${node.id}` : ""}` : "Node";
  if (!node || typeof node !== "object") return h(ErrorBox, { title: "Invalid node", message: str(node) });
  return h(NodeBoundary, { label, resetKey: ctx.version }, h(NodeBody, { node, scope, ctx, wrap }));
}
