// Unit tests of the IDE's theme choice (web/ide/theme.js; run by tests/web/test_js_units.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveTheme } from "../../../web/ide/theme.js";

test("a chosen theme wins over the system's; without a choice the system's shows", () => {
  assert.equal(resolveTheme("light", true), "light");
  assert.equal(resolveTheme("dark", false), "dark");
  assert.equal(resolveTheme("system", true), "dark");
  assert.equal(resolveTheme("system", false), "light");
});
