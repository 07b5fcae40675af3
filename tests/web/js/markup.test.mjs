// Unit tests of URL checks (the Markdown renderer needs React, so it is tested in the browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { safeImageUrl, safeUrl } from "../../../web/runtime/urls.js";

test("links: javascript and data URLs are refused", () => {
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl(" JaVaScRiPt:alert(1)"), null);
  assert.equal(safeUrl("data:text/html,hi"), null);
  assert.equal(safeUrl("vbscript:x"), null);
  assert.equal(safeUrl("https://example.com/a"), "https://example.com/a");
  assert.equal(safeUrl("/about"), "/about");
  assert.equal(safeUrl("about"), "about");
  assert.equal(safeUrl("mailto:a@b.c"), "mailto:a@b.c");
});

test("images: data URLs only for image types", () => {
  assert.equal(safeImageUrl("data:image/png;base64,AAAA"), "data:image/png;base64,AAAA");
  assert.equal(safeImageUrl("data:image/svg+xml;base64,AAAA"), null);
  assert.equal(safeImageUrl("/logo.png"), "/logo.png");
});
