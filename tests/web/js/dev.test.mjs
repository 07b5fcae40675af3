// The dev page's rebuild nudges: what a message must look like and what a rebuild swaps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readNudge, rebuildPlan } from "../../../web/runtime/dev.js";

test("only well-formed nudges are read", () => {
  assert.equal(readNudge(null), null);
  assert.equal(readNudge("rebuilt"), null);
  assert.equal(readNudge({ type: "rebuilt" }), null);
  assert.equal(readNudge({ atoll: 1, type: "eval", code: "x" }), null);
  assert.deepEqual(readNudge({ atoll: 1, type: "hello" }), { type: "hello" });
  const n = readNudge({ atoll: 1, type: "rebuilt", revision: 7, changed: ["a", 3, { x: 1 }, "b"] });
  assert.deepEqual(n, { type: "rebuilt", revision: "", changed: ["a", "b"] });
  assert.equal(readNudge({ atoll: 1, type: "rebuilt", changed: "x" }).changed, null);
  const many = readNudge({ atoll: 1, type: "rebuilt", changed: Array(5000).fill("p") });
  assert.equal(many.changed.length, 1000);
});

const boot = { route: "/", page: { title: "a" }, components: { C: { js: "/c-1.js" } } };

test("a component change swaps the component only", () => {
  const next = { ...boot, components: { C: { js: "/c-2.js" } } };
  assert.deepEqual(rebuildPlan(boot, next, ["components/C.jsx"]), { page: false, components: true, data: false });
});

test("a function change refreshes the data; unknown changes too", () => {
  assert.deepEqual(rebuildPlan(boot, boot, ["functions/todos.py"]), { page: false, components: false, data: true });
  assert.deepEqual(rebuildPlan(boot, boot, null), { page: false, components: false, data: true });
});

test("a page change swaps the page", () => {
  const next = { ...boot, page: { title: "b" } };
  assert.equal(rebuildPlan(boot, next, ["pages/index.json"]).page, true);
});

test("what cannot be swapped reloads", () => {
  assert.equal(rebuildPlan(boot, null, []), "reload");
  assert.equal(rebuildPlan(boot, { ...boot, route: "/x" }, []), "reload");
  assert.equal(rebuildPlan(boot, boot, ["static/app.css"]), "reload");
});
