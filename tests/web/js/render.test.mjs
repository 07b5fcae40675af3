// Built-in node types rendered to HTML under node (react-dom/server), without a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createElement as h } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { RenderNode } from "../../../web/runtime/nodes.js";
import { loadRich } from "../../../web/runtime/widgets.js";

await loadRich();

function render(node, { data = {}, state = {}, status = {} } = {}) {
  const statuses = { ...Object.fromEntries(Object.keys(data).map((k) => [k, { status: "ready", value: data[k] }])), ...status };
  const ctx = { state, data: statuses, version: 0, setState() {}, run: async () => true, refresh() {}, navigate() {}, components: {} };
  return renderToStaticMarkup(h(RenderNode, { node, scope: { data, state, query: {} }, ctx }));
}

test("layout and content nodes", () => {
  const html = render({
    type: "Stack", id: "main", props: { gap: 4 }, children: [
      { type: "Heading", props: { text: { $bind: "state.title" }, level: 1 } },
      { type: "Text", props: { text: "muted", tone: "muted" } },
      { type: "Card", props: { title: "Card" }, children: [{ type: "Text", props: { text: "inside" } }] },
      { type: "Grid", props: { columns: 3 } },
      { type: "Row", props: { justify: "between" } },
    ],
  }, { state: { title: "Hello <b>" } });
  assert.match(html, /^<div class="atoll-stack" style="gap:4px;align-items:stretch;padding:0px" id="main">/);
  assert.match(html, /<h1 class="atoll-heading">Hello &lt;b&gt;<\/h1>/);
  assert.match(html, /<p class="atoll-text atoll-tone-muted">muted<\/p>/);
  assert.match(html, /<h3 class="atoll-card-title">Card<\/h3><p class="atoll-text">inside<\/p>/);
  assert.match(html, /grid-template-columns:repeat\(3, minmax\(0, 1fr\)\)/);
  assert.match(html, /justify-content:space-between/);
});

test("repeat, keys, visibleWhen and List items", () => {
  const html = render({
    type: "List", props: { empty: "none" }, children: [
      { type: "Text", repeat: { over: "data.todos", as: "todo", key: "todo.id" }, visibleWhen: "!todo.hidden", props: { text: { $bind: "index + ': ' + todo.title" } } },
    ],
  }, { data: { todos: [{ id: 1, title: "a" }, { id: 2, title: "b", hidden: true }, { id: 3, title: "c" }] } });
  assert.equal((html.match(/<li>/g) || []).length, 2);
  assert.match(html, /<li><p class="atoll-text">0: a<\/p><\/li><li><p class="atoll-text">2: c<\/p><\/li>/);
  assert.match(html, /<p class="atoll-empty atoll-list-empty">none<\/p>/);
});

test("expression fields also take bindings", () => {
  const html = render({ type: "Stack", children: [
    { type: "Text", repeat: { over: { $bind: "state.items" }, key: { $bind: "item" } }, visibleWhen: { $bind: "item != 'b'" }, props: { text: { $bind: "item" } } },
  ] }, { state: { items: ["a", "b", "c"] } });
  assert.match(html, /<p class="atoll-text">a<\/p><p class="atoll-text">c<\/p>/);
});

test("data states: loading and error in place of the nodes that read the data", () => {
  const node = { type: "Stack", children: [
    { type: "Text", props: { text: { $bind: "data.todos.length" } } },
    { type: "Text", props: { text: "static" } },
  ] };
  const loading = render(node, { status: { todos: { status: "loading" } } });
  assert.match(loading, /<div class="atoll-skeleton" aria-busy="true" role="status" aria-label="Loading"><div class="atoll-skeleton-line"><\/div><\/div><p class="atoll-text">static<\/p>/);
  assert.doesNotMatch(loading, /Loading…/);
  const failed = render(node, { status: { todos: { status: "error", error: "HTTP 500" } } });
  assert.match(failed, /role="alert"[^>]*><strong>Could not load todos<\/strong><div>HTTP 500<\/div><button/);
  assert.match(failed, /static/);
});

test("inputs, buttons and tables", () => {
  const html = render({ type: "Form", props: { submitText: "Save" }, children: [
    { type: "Input", props: { label: "Name", bind: "state.name" } },
    { type: "Input", props: { name: "free" } },
    { type: "Select", props: { options: [{ value: "a", label: "A" }, { value: "b" }], bind: "state.pick" } },
    { type: "Checkbox", props: { label: "OK", bind: "state.ok" } },
    { type: "Button", props: { text: "Go", kind: "submit", disabled: { $bind: "state.name == ''" } } },
    { type: "Table", props: { rows: { $bind: "state.rows" }, columns: [{ key: "id", label: "ID" }, { key: "title" }] } },
  ] }, { state: { name: "Ada", pick: "b", ok: true, rows: [{ id: 1, title: "x" }] } });
  assert.match(html, /<label class="atoll-field"><span class="atoll-label">Name<\/span><input class="atoll-input" type="text" value="Ada"\/><\/label>/);
  assert.match(html, /<input class="atoll-input" type="text" aria-label="free" name="free"\/>/);
  assert.match(html, /<option value="b" selected="">b<\/option>/);
  assert.match(html, /<input type="checkbox" checked=""\/><span>OK<\/span>/);
  assert.match(html, /<button type="submit" class="atoll-button atoll-primary">Go<\/button>/);
  assert.match(html, /<th scope="col" aria-sort="none"><button type="button" class="atoll-sort">ID<span[^>]*>↕<\/span><\/button><\/th>/);
  assert.match(html, /<tbody><tr><td>1<\/td><td>x<\/td><\/tr><\/tbody>/);
});

test("links, images and markdown never carry script URLs", () => {
  const html = render({ type: "Stack", children: [
    { type: "Link", props: { text: "in", to: "/about" } },
    { type: "Link", props: { text: "bad", to: "javascript:alert(1)" } },
    { type: "Link", props: { text: "out", href: "javascript:alert(1)" } },
    { type: "Image", props: { src: "javascript:alert(1)", alt: "x" } },
    { type: "Markdown", props: { text: "# T\n\n**b** [x](javascript:alert(1)) [y](/ok) <script>alert(1)</script>\n\n- one\n- two" } },
  ] });
  assert.doesNotMatch(html, /javascript:/);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /<a class="atoll-link" href="\/about">in<\/a>/);
  assert.match(html, /<h1>T<\/h1><p><strong>b<\/strong> x\) <a href="\/ok" rel="noopener noreferrer">y<\/a> &lt;script&gt;/);
  assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul>/);
});

test("unknown node types render a visible fallback", () => {
  const html = render({ type: "Stack", children: [{ type: "Sparkline", children: [{ type: "Text", props: { text: "x" } }] }, { type: "Text", props: { text: "after" } }] });
  assert.match(html, /<div class="atoll-unknown" role="note">Unknown node type &quot;Sparkline&quot;<\/div><p class="atoll-text">x<\/p>/);
  assert.match(html, /after/);
});
