// Unit tests of the browser expression evaluator (run by tests/web/test_js_units.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { dataDeps, evaluate, ExprError, getPath, LIMITS, parse, resolve, setPath, valueDeps } from "../../../web/runtime/expr.js";

const scope = {
  data: { todos: [{ id: 1, title: "a", done: false }, { id: 2, title: "b", done: true }] },
  state: { n: 2, name: "Ada", nested: { deep: { x: 1 } } },
  query: { q: "x" },
};

test("paths, indexes and length", () => {
  assert.equal(evaluate("data.todos[1].title", scope), "b");
  assert.equal(evaluate("data.todos.length", scope), 2);
  assert.equal(evaluate("state['name'].length", scope), 3);
  assert.equal(evaluate("state.nested.deep.x", scope), 1);
  assert.equal(evaluate("state.missing.anything", scope), undefined);
  assert.equal(evaluate("data.todos[5]", scope), undefined);
});

test("operators", () => {
  assert.equal(evaluate("state.n * 3 - 1", scope), 5);
  assert.equal(evaluate("state.n > 1 && state.name == 'Ada'", scope), true);
  assert.equal(evaluate("!data.todos[0].done", scope), true);
  assert.equal(evaluate("state.n == 2 ? 'two' : 'other'", scope), "two");
  assert.equal(evaluate("'Hi ' + state.name + '!'", scope), "Hi Ada!");
  assert.equal(evaluate("state.missing ?? 'default'", scope), "default");
  assert.equal(evaluate("state.missing == null", scope), true);
  assert.equal(evaluate("1 / 0", scope), null);
  assert.equal(evaluate("'a' < 1", scope), false);
  assert.equal(evaluate("-state.n", scope), -2);
  assert.equal(evaluate("(1 + 2) * 3 % 5", scope), 4);
  assert.equal(evaluate("1 === 1", scope), true);
});

test("syntax errors name a position", () => {
  assert.throws(() => parse("a +"), /end of expression at character 3/);
  assert.throws(() => parse("a b"), /unexpected 'b'/);
  assert.throws(() => parse("a.1"), /property name/);
  assert.throws(() => parse("fn(1)"), ExprError);
  assert.throws(() => parse("a = 1"), /unexpected character/);
  assert.throws(() => parse("`x`"), /unexpected character/);
  assert.throws(() => parse("'open"), /unterminated string/);
  assert.throws(() => parse(""), /empty/);
});

test("prototype keys are refused or invisible", () => {
  for (const src of ["a.__proto__", "a.constructor", "constructor", "a.prototype", "__proto__"]) {
    assert.throws(() => parse(src), /not allowed/);
  }
  assert.equal(evaluate("state['__proto__']", scope), undefined);
  assert.equal(evaluate("state['constructor']", scope), undefined);
  assert.equal(evaluate("state['toString']", scope), undefined);
  assert.equal(evaluate("state.name['constructor']", scope), undefined);
  assert.equal(evaluate("data.todos['map']", scope), undefined);
  assert.equal(evaluate("hasOwnProperty", scope), undefined);
  const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}');
  const out = resolve(hostile, scope);
  assert.deepEqual(Object.keys(out), ["ok"]);
  assert.equal({}.polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.throws(() => setPath({}, "__proto__.polluted", true), /bad state path/);
  assert.throws(() => setPath({}, "a.constructor.prototype", 1), /bad state path/);
  assert.equal({}.polluted, undefined);
  assert.equal(evaluate("x.y", { x: Object.create({ y: "inherited" }) }), undefined);
  assert.equal(evaluate("x.y", { x: { get y() { throw new Error("getter ran"); } } }), undefined);
});

test("deep nesting is bounded", () => {
  const deepParens = "(".repeat(1000) + "1" + ")".repeat(1000);
  assert.throws(() => parse(deepParens), /longer than|nests deeper/);
  const nested = "(".repeat(LIMITS.depth + 1) + "1" + ")".repeat(LIMITS.depth + 1);
  assert.throws(() => parse(nested), /nests deeper/);
  assert.throws(() => parse("!".repeat(200) + "a"), /nests deeper/);
  assert.throws(() => parse("-".repeat(200) + "1"), /nests deeper/);
  assert.equal(evaluate("(".repeat(10) + "1" + ")".repeat(10), {}), 1);
  let value = { $bind: "state.n" };
  for (let i = 0; i < 100; i++) value = [value];
  assert.throws(() => resolve(value, scope), /nests deeper/);
});

test("huge inputs are bounded", () => {
  assert.throws(() => parse("a".repeat(LIMITS.source + 1)), /longer than/);
  assert.throws(() => parse(Array(300).fill("a").join(" + ")), /tokens/);
  const big = "x".repeat(LIMITS.string);
  assert.throws(() => evaluate("s + s", { s: big }), /text longer/);
  assert.equal(evaluate("s.length", { s: big }), LIMITS.string);
  assert.throws(() => evaluate("'' + o", { o: { a: 1 } }), /cannot join/);
});

test("bindings resolve deeply and report their data", () => {
  const value = { title: { $bind: "state.name" }, items: [{ $bind: "data.todos.length" }], plain: { $bind: 1 } };
  assert.deepEqual(resolve(value, scope), { title: "Ada", items: [2], plain: { $bind: 1 } });
  assert.deepEqual([...valueDeps(value)], ["todos"]);
  assert.deepEqual([...dataDeps("data.a.x + data['b'] + state.c")].sort(), ["a", "b"]);
});

test("state paths", () => {
  const next = setPath({ a: { b: 1 }, c: 2 }, "state.a.d", 3);
  assert.deepEqual(next, { a: { b: 1, d: 3 }, c: 2 });
  assert.equal(getPath({ state: next }, "state.a.d"), 3);
});
