// Unit tests of the IDE panels' pure parts: the SSE parser, how an agent turn's events fold
// into steps, and how log entries are ranked and filtered (run by tests/web/test_js_units.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseEvent } from "../../../web/ide/sse.js";
import { callSubject, foldEvent, newTurn } from "../../../web/ide/panels/agent-turn.js";
import { entryLevel, entryMatches, keepNewest, recordText } from "../../../web/ide/panels/logs-entries.js";

test("an SSE block: its data lines as JSON; comments and junk are nothing", () => {
  assert.deepEqual(parseEvent('data: {"kind":"text","text":"hi"}'), { kind: "text", text: "hi" });
  assert.deepEqual(parseEvent('data:{"a":\ndata: 1}'), { a: 1 });
  assert.equal(parseEvent(": keep-alive"), null);
  assert.equal(parseEvent("data: not json"), null);
});

test("a turn's events fold into steps: text joined, a tool call with its result", () => {
  let turn = newTurn("do it");
  for (const event of [
    { kind: "text", text: "Let me " },
    { kind: "text", text: "look." },
    { kind: "tool_call", id: "c1", name: "read_file", arguments: '{"path": "a.py"}' },
    { kind: "usage", prompt: 10, completion: 2, cost_usd: 0.5 },
    { kind: "tool_result", id: "c1", ok: false, text: "no such file" },
    { kind: "tool_result", id: "nope", ok: true, text: "ignored" },
    { kind: "checks", errors: [] },
    { kind: "text", text: "Done." },
    { kind: "result", turn: 3, outcome: "done", prompt_tokens: 12, completion_tokens: 4, cost_usd: 0.75 },
  ]) {
    turn = foldEvent(turn, event);
  }
  assert.deepEqual(
    turn.steps.map((s) => s.kind),
    ["text", "tool", "checks", "text"],
  );
  assert.equal(turn.steps[0].text, "Let me look.");
  assert.deepEqual(turn.steps[1].result, { ok: false, text: "no such file" });
  assert.deepEqual(turn.usage, { prompt: 12, completion: 4, cost_usd: 0.75 });
  assert.equal(turn.result.turn, 3);
  assert.equal(foldEvent(turn, { kind: "something new" }), turn);
});

test("a turn keeps a bounded number of steps", () => {
  let turn = newTurn("loop");
  for (let i = 0; i < 700; i++) turn = foldEvent(turn, { kind: "checks", errors: [] });
  assert.equal(turn.steps.length, 600);
  assert.equal(turn.dropped, 100);
});

test("a tool call's subject: the file, the SQL; nothing for bad arguments", () => {
  assert.equal(callSubject("write_file", '{"path": "pages/index.json", "content": "x"}'), "pages/index.json");
  assert.equal(callSubject("run_sql", '{"sql": "SELECT\\n  1"}'), "SELECT 1");
  assert.equal(callSubject("list_files", "{"), "");
  assert.equal(callSubject("x", "[1]"), "");
});

test("log entries: how bad each is, and the filters", () => {
  const ok = { request_id: "r1", function: "todos", status: 200, logs: [{ level: "info", message: "added todo", fields: { id: "1" } }] };
  const bad = { request_id: "r2", function: "todos", status: 422, error: "title: too short" };
  const crash = { request_id: "r3", function: "todos", status: 500, error: "ZeroDivisionError" };
  const build = { kind: "build", status: "failed", text: "functions/a.py:1:1: SyntaxError" };
  assert.deepEqual([ok, bad, crash, build].map(entryLevel), ["info", "warning", "error", "error"]);
  assert.equal(recordText(ok.logs[0]), "added todo id=1");
  assert.ok(entryMatches(ok, { text: "ADDED" }));
  assert.ok(!entryMatches(ok, { text: "nothing like it" }));
  assert.ok(!entryMatches(ok, { level: "warning" }));
  assert.ok(entryMatches(bad, { level: "warning", requestId: "r2" }));
  assert.ok(!entryMatches(bad, { requestId: "r1" }));
  assert.deepEqual(keepNewest([1, 2, 3], [4, 5], 3), [3, 4, 5]);
});
