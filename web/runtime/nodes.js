// Built-in node types and the recursive renderer: repeat, when/visibleWhen, data states, events.
import { cloneElement, createElement as h, Fragment } from "react";
import { ErrorBox, NodeBoundary } from "./boundary.js";
import { ComponentHost } from "./component-host.js";
import { dataDeps, evaluate as evaluateSource, getPath, isBinding, resolve, valueDeps } from "./expr.js";
import { icon } from "./icons.js";
import { renderMarkdown } from "./markdown.js";
import { safeImageUrl, safeUrl } from "./urls.js";
import { AppShell, Button, Chart, Dialog, Form, Input, Select, Skeleton, Table, Tabs, cls, formatters, str } from "./widgets.js";

// Fields that are always expressions may also be written as bindings: {"$bind": "..."}.
const exprOf = (v) => (isBinding(v) ? v.$bind : v);
const evaluate = (v, scope) => evaluateSource(exprOf(v), scope);
const px = (v) => (typeof v === "number" ? `${v}px` : undefined);
const TONES = new Set(["default", "neutral", "info", "success", "warning", "danger", "muted"]);
const tone = (t, fallback = "default") => (TONES.has(t) ? t : fallback);

function Stack({ props, children }) {
  const width = props.maxWidth ? { maxWidth: px(props.maxWidth), width: "100%", marginInline: "auto" } : null;
  return h("div", { className: "atoll-stack", style: { gap: px(props.gap ?? 12), alignItems: props.align ?? "stretch", padding: px(props.padding ?? 0), ...width } }, children);
}

function Row({ props, children }) {
  const justify = { between: "space-between", around: "space-around" }[props.justify] ?? props.justify ?? "start";
  return h("div", { className: cls("atoll-row", !props.wrap && "atoll-row-wrap-sm"), style: { gap: px(props.gap ?? 12), alignItems: props.align ?? "center", justifyContent: justify, flexWrap: props.wrap ? "wrap" : "nowrap" } }, children);
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
  return h("p", { className: cls("atoll-text", props.tone && props.tone !== "default" && `atoll-tone-${props.tone}`,
    props.weight === "strong" && "atoll-weight-strong", props.size && props.size !== "md" && `atoll-size-${props.size}`) }, str(props.text));
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

function Checkbox({ props, ctx, fire }) {
  const checked = props.bind ? { checked: !!getPath(ctx.state, String(props.bind).replace(/^state\./, "")) }
    : props.checked !== undefined && props.checked !== null ? { checked: !!props.checked } : {};
  return h("label", { className: cls("atoll-checkbox", props.strike && "atoll-strike") }, h("input", {
    type: "checkbox", name: props.name ?? undefined, disabled: !!props.disabled, ...checked,
    "aria-label": props.label === undefined || props.label === null ? "Done" : undefined,
    onChange: (e) => {
      if (props.bind) ctx.setState(props.bind, e.target.checked);
      fire("change", { value: e.target.checked, checked: e.target.checked });
    },
  }), props.label !== undefined && props.label !== null ? h("span", null, str(props.label)) : null);
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

function Alert({ props, children }) {
  const t = tone(props.tone, "info");
  const glyph = { success: "check-circle", warning: "alert-triangle", danger: "x-circle" }[t] ?? "info";
  return h("div", { className: cls("atoll-alert", `atoll-tone-${t}`), role: t === "danger" || t === "warning" ? "alert" : "status" },
    icon(glyph),
    h("div", null,
      props.title ? h("p", { className: "atoll-alert-title" }, str(props.title)) : null,
      props.text !== undefined && props.text !== null ? h("p", { className: "atoll-alert-body" }, str(props.text)) : null,
      children));
}

function Badge({ props }) {
  return h("span", { className: cls("atoll-badge", `atoll-tone-${tone(props.tone, "neutral")}`) },
    props.icon ? icon(str(props.icon)) : null, str(props.text));
}

function Stat({ props }) {
  const trend = props.trend === "up" || props.trend === "down" ? props.trend : null;
  return h("div", { className: "atoll-stat" },
    h("span", { className: "atoll-stat-label" }, props.icon ? icon(str(props.icon)) : null, str(props.label)),
    h("span", { className: "atoll-stat-value" }, Object.prototype.hasOwnProperty.call(formatters, props.format) ? formatters[props.format](props.value) : str(props.value)),
    props.delta !== undefined && props.delta !== null
      ? h("span", { className: cls("atoll-stat-delta", trend && `atoll-${trend}`) },
        trend ? icon(trend === "up" ? "trending-up" : "trending-down") : null, " ", str(props.delta))
      : null);
}

function Progress({ props }) {
  const max = Number(props.max) > 0 ? Number(props.max) : 100;
  const value = Math.min(max, Math.max(0, Number(props.value) || 0));
  const pct = Math.round((value / max) * 100);
  const label = props.label !== undefined && props.label !== null ? str(props.label) : null;
  return h("div", { className: "atoll-progress" },
    label || props.showValue !== false ? h("div", { className: "atoll-progress-head" }, h("span", null, label), props.showValue !== false ? h("span", null, `${pct}%`) : null) : null,
    h("div", { className: "atoll-progress-track", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": max, "aria-valuenow": value, "aria-label": label ?? "Progress" },
      h("div", { className: cls("atoll-progress-bar", props.tone && props.tone !== "default" && `atoll-tone-${props.tone}`), style: { width: `${pct}%` } })));
}

function Divider({ props }) {
  if (props.label) return h("div", { className: "atoll-divider-label", role: "separator" }, str(props.label));
  return h("hr", { className: "atoll-divider" });
}

function Icon({ props }) {
  return icon(str(props.name), { label: props.label ? str(props.label) : undefined, size: Number(props.size) || undefined });
}

function EmptyState({ props, children }) {
  return h("div", { className: "atoll-empty-state" },
    icon(props.icon ? str(props.icon) : "inbox"),
    h("p", { className: "atoll-empty-state-title" }, str(props.title)),
    props.text ? h("p", { className: "atoll-empty-state-body" }, str(props.text)) : null,
    children);
}

// Stateful built-ins (their own hooks) are components; the rest are called as plain functions.
const widget = (View) => (args) => h(View, args);

/**
 * The built-in node types by name, each rendering one node: the same set as the page schema's.
 * @type {Record<string, Function>}
 */
export const BUILTINS = {
  Stack, Row, Grid, Card, Heading, Text, Image, Link, Markdown,
  Form: widget(Form), Input: widget(Input), Select: widget(Select), Checkbox, Button: widget(Button),
  Table: widget(Table), List, Component: ComponentNode,
  AppShell: widget(AppShell), Tabs: widget(Tabs), Dialog: widget(Dialog), Alert, Badge, Stat, Progress,
  Divider, Icon, EmptyState, Skeleton: widget(Skeleton), Chart: widget(Chart),
};

// A type this runtime does not know (say, from a newer Atoll): say so, and keep its children.
function Unknown({ node, children }) {
  return h("div", { className: "atoll-unknown-box" },
    h("div", { className: "atoll-unknown", role: "note" }, `Unknown node type "${str(node.type)}"`),
    children);
}

/** Data sources a node reads in its own props, repeat and conditions (not its children's). */
function nodeDeps(node) {
  const deps = valueDeps(node.props || {});
  for (const cond of [node.visibleWhen, node.when]) if (cond) for (const d of dataDeps(exprOf(cond))) deps.add(d);
  if (node.repeat && node.repeat.over) for (const d of dataDeps(exprOf(node.repeat.over))) deps.add(d);
  return deps;
}

function NodeBody({ node, scope, ctx, wrap }) {
  for (const dep of nodeDeps(node)) {
    const status = ctx.data[dep];
    if (!status || status.status === "loading") return wrapIn(wrap, h(Skeleton, { props: { lines: node.repeat ? 3 : 1 }, busy: true }));
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
  if (node.when && !evaluate(node.when, scope)) return null;
  const render = Object.prototype.hasOwnProperty.call(BUILTINS, node.type) ? BUILTINS[node.type] : null;
  const props = render ? resolve(node.props || {}, scope) : {};
  // Runs the node's actions for an event; resolves to false if one of them failed.
  const fire = (event, extra, more, hooks) => {
    const actions = node.on && Object.prototype.hasOwnProperty.call(node.on, event) ? node.on[event] : null;
    return actions ? ctx.run(actions, { ...scope, ...more, event: extra }, hooks) : Promise.resolve(true);
  };
  const children = (node.children || []).map((child, i) => h(RenderNode, { key: child.id ?? i, node: child, scope, ctx }));
  // Plain built-ins are called to put the node's id on their element; widgets take it as a prop.
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
