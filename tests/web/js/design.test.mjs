// The design-system nodes rendered to HTML under node: variants, states, `when`, a11y attributes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createElement as h } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { RenderNode } from "../../../web/runtime/nodes.js";
import { fieldErrors, loadRich } from "../../../web/runtime/widgets.js";

// Tables, tabs, dialogs and the shell are a chunk of their own: loaded first, they render at once.
await loadRich();
import { ICON_NAMES } from "../../../web/runtime/icons.js";

function render(node, { data = {}, state = {}, route = "/" } = {}) {
  const statuses = Object.fromEntries(Object.keys(data).map((k) => [k, { status: "ready", value: data[k] }]));
  const ctx = { state, data: statuses, version: 0, route, setState() {}, run: async () => true, refresh() {}, navigate() {}, components: {} };
  return renderToStaticMarkup(h(RenderNode, { node, scope: { data, state, query: {} }, ctx }));
}

test("when renders a node only while its expression holds", () => {
  const node = { type: "Stack", children: [
    { type: "Text", when: "state.n > 0", props: { text: "some" } },
    { type: "EmptyState", when: { $bind: "state.n == 0" }, props: { title: "None yet" } },
  ] };
  assert.match(render(node, { state: { n: 2 } }), /some/);
  assert.doesNotMatch(render(node, { state: { n: 2 } }), /None yet/);
  assert.match(render(node, { state: { n: 0 } }), /atoll-empty-state.*None yet/);
  assert.doesNotMatch(render(node, { state: { n: 0 } }), /some/);
});

test("button variants, sizes and icons", () => {
  const html = render({ type: "Row", children: [
    { type: "Button", props: { text: "Save", icon: "check" } },
    { type: "Button", props: { text: "Later", variant: "ghost", size: "sm" } },
    { type: "Button", props: { text: "Delete", variant: "danger", icon: "trash", iconOnly: true } },
    { type: "Button", props: { text: "Off", variant: "secondary", disabled: true } },
  ] });
  assert.match(html, /class="atoll-button atoll-primary"><svg class="atoll-icon"[^>]*aria-hidden="true"/);
  assert.match(html, /class="atoll-button atoll-ghost atoll-size-sm">Later</);
  assert.match(html, /aria-label="Delete" title="Delete" class="atoll-button atoll-danger atoll-icon-only"><svg/);
  assert.match(html, /disabled="" class="atoll-button atoll-secondary">Off</);
});

test("alert, badge, stat, progress, divider, icon and skeleton", () => {
  const html = render({ type: "Stack", children: [
    { type: "Alert", props: { title: "Careful", text: "It broke", tone: "danger" } },
    { type: "Badge", props: { text: "Won", tone: "success" } },
    { type: "Stat", props: { label: "Revenue", value: "$1", delta: "+5%", trend: "up" } },
    { type: "Progress", props: { value: 30, max: 60, label: "Half" } },
    { type: "Divider", props: { label: "or" } },
    { type: "Icon", props: { name: "users", label: "People" } },
    { type: "Skeleton", props: { lines: 2 } },
  ] });
  assert.match(html, /<div class="atoll-alert atoll-tone-danger" role="alert">/);
  assert.match(html, /<span class="atoll-badge atoll-tone-success">Won<\/span>/);
  assert.match(html, /atoll-stat-value">\$1<.*atoll-stat-delta atoll-up/);
  assert.match(html, /role="progressbar" aria-valuemin="0" aria-valuemax="60" aria-valuenow="30" aria-label="Half"/);
  assert.match(html, /<span>50%<\/span>/);
  assert.match(html, /role="separator">or</);
  assert.match(html, /role="img" aria-label="People"/);
  assert.equal((html.match(/atoll-skeleton-line/g) || []).length, 2);
});

test("tables: badge and money cells, pages, empty state, clickable rows", () => {
  const rows = Array.from({ length: 12 }, (_, i) => ({ name: `c${i}`, stage: i % 2 ? "won" : "lead", value: i * 1000 }));
  const columns = [{ key: "name" }, { key: "stage", format: "badge", tones: { won: "success" } }, { key: "value", format: "money" }];
  const html = render({ type: "Table", props: { rows, columns, pageSize: 5 }, on: { rowClick: [{ action: "setState", path: "sel", value: { $bind: "row" } }] } });
  assert.equal((html.match(/<tr class="atoll-clickable" tabindex="0">/g) || []).length, 5);
  assert.match(html, /<span class="atoll-badge atoll-tone-success">won<\/span>/);
  assert.match(html, /<span class="atoll-badge atoll-tone-neutral">lead<\/span>/);
  assert.match(html, /<td class="atoll-num">\$1,000<\/td>/);
  assert.match(html, /1–5 of 12/);
  const empty = render({ type: "Table", props: { rows: [], columns, empty: "No customers" } });
  assert.match(empty, /<td colSpan="3" class="atoll-empty">No customers<\/td>/);
  assert.doesNotMatch(empty, /atoll-pager/);
});

test("app shell marks the current page; tabs and dialogs are accessible", () => {
  const shell = render({ type: "AppShell", props: { title: "CRM", nav: [{ label: "Home", to: "/" }, { label: "People", to: "/people" }, { label: "Bad", to: "javascript:x" }] }, children: [{ type: "Text", props: { text: "body" } }] }, { route: "/people" });
  assert.match(shell, /<a href="\/people" aria-current="page">People<\/a>/);
  assert.match(shell, /<a href="\/">Home<\/a>/);
  assert.doesNotMatch(shell, /javascript:/);
  assert.match(shell, /<main class="atoll-shell-main"><p class="atoll-text">body<\/p><\/main>/);
  const tabs = render({ type: "Tabs", props: { tabs: [{ label: "A" }, { label: "B" }] }, children: [{ type: "Text", props: { text: "pa" } }, { type: "Text", props: { text: "pb" } }] });
  assert.match(tabs, /role="tablist"/);
  assert.match(tabs, /role="tab"[^>]*aria-selected="true"[^>]*tabindex="0"[^>]*>A</);
  assert.match(tabs, /role="tab"[^>]*aria-selected="false"[^>]*tabindex="-1"[^>]*>B</);
  assert.match(tabs, /role="tabpanel"[^>]*><p class="atoll-text">pa<\/p><\/div>/);
  assert.doesNotMatch(tabs, /pb/);
  const closed = render({ type: "Dialog", props: { title: "T", bind: "state.open" }, children: [{ type: "Text", props: { text: "inside" } }] }, { state: { open: null } });
  assert.doesNotMatch(closed, /inside/);
  const open = render({ type: "Dialog", props: { title: "T", bind: "state.open" }, children: [{ type: "Text", props: { text: "inside" } }] }, { state: { open: { id: 1 } } });
  assert.match(open, /role="dialog" aria-modal="true" aria-labelledby="[^"]+"/);
  assert.match(open, /inside/);
});

test("a 422's messages are matched to the form's fields", () => {
  const pydantic = { status: 422, payload: { error: { message: "parameter 'body': 1 validation error for NewTodo\ntitle\n  String should have at least 1 character [type=string_too_short, input_value='', input_type=str]", detail: { parameter: "body" } } } };
  assert.deepEqual(fieldErrors(pydantic, ["title", "other"]), { title: "String should have at least 1 character" });
  assert.deepEqual(fieldErrors({ status: 422, payload: { error: { message: "title: required" } } }, ["title"]), { title: "required" });
  assert.deepEqual(fieldErrors({ status: 422, payload: { error: { message: "x", detail: { fields: { email: "taken" } } } } }, ["email"]), { email: "taken" });
  assert.deepEqual(fieldErrors({ status: 500, payload: { error: { message: "title: boom" } } }, ["title"]), {});
});

test("the icon set is small and unknown names still draw", () => {
  assert.ok(ICON_NAMES.length >= 30 && ICON_NAMES.length <= 60);
  assert.match(render({ type: "Icon", props: { name: "no-such-icon" } }), /<svg class="atoll-icon"[^>]*><rect/);
});

test("a rich node renders a skeleton in place until its chunk is loaded", async () => {
  const fresh = await import(`../../../web/runtime/widgets.js?fresh=${Date.now()}`);
  const html = renderToStaticMarkup(h(fresh.Table, { id: "t", node: {}, props: { rows: [], columns: [] }, fire() {} }));
  assert.match(html, /^<div id="t" class="atoll-skeleton" aria-busy="true"/);
});
