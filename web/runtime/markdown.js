// A small, safe Markdown subset rendered to React elements (never innerHTML).
import { createElement as h } from "react";
import { safeUrl } from "./urls.js";

const INLINE = /(\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/;

function inline(text, keyBase) {
  const out = [];
  let rest = text;
  let k = 0;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) { out.push(rest); break; }
    if (m.index) out.push(rest.slice(0, m.index));
    const key = `${keyBase}-${k++}`;
    if (m[2] !== undefined) out.push(h("strong", { key }, m[2]));
    else if (m[3] !== undefined) out.push(h("em", { key }, m[3]));
    else if (m[4] !== undefined) out.push(h("code", { key }, m[4]));
    else {
      const href = safeUrl(m[6]);
      out.push(href ? h("a", { key, href, rel: "noopener noreferrer" }, m[5]) : m[5]);
    }
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

/** React elements for a Markdown string. */
export function renderMarkdown(source) {
  const blocks = String(source ?? "").replace(/\r\n?/g, "\n").split(/\n{2,}/);
  return blocks.map((block, i) => {
    const lines = block.split("\n");
    const heading = /^(#{1,6})\s+(.*)$/.exec(lines[0]);
    if (heading && lines.length === 1) return h(`h${heading[1].length}`, { key: i }, inline(heading[2], i));
    if (lines.every((l) => /^\s*[-*]\s+/.test(l))) {
      return h("ul", { key: i }, lines.map((l, j) => h("li", { key: j }, inline(l.replace(/^\s*[-*]\s+/, ""), `${i}-${j}`))));
    }
    if (lines.every((l) => /^\s*\d+\.\s+/.test(l))) {
      return h("ol", { key: i }, lines.map((l, j) => h("li", { key: j }, inline(l.replace(/^\s*\d+\.\s+/, ""), `${i}-${j}`))));
    }
    if (block.startsWith("```") && block.endsWith("```")) {
      return h("pre", { key: i }, h("code", null, block.slice(3, -3).replace(/^[^\n]*\n/, "")));
    }
    return h("p", { key: i }, inline(lines.join(" "), i));
  });
}
