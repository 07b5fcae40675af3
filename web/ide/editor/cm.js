// CodeMirror 6, set up for the IDE: languages by file name, the IDE's colours (its CSS
// variables, so light and dark follow the page), and one lint source per editor that merges
// live checks (JSON syntax, the page checks) with the last build's errors for the file.
// Loaded on demand (dynamic import) so the dashboard does not carry it.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { css } from "@codemirror/lang-css";
import { javascript } from "@codemirror/lang-javascript";
import { json, jsonParseLinter } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { sql } from "@codemirror/lang-sql";
import { bracketMatching, foldGutter, foldKeymap, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, linter, lintKeymap } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { EditorState, StateEffect } from "@codemirror/state";
import {
  crosshairCursor,
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

/** The language of a file by its name, or null for plain text. */
export function languageFor(path) {
  const ext = (path.match(/\.([A-Za-z0-9]+)$/) || [])[1]?.toLowerCase();
  switch (ext) {
    case "py":
      return python();
    case "js":
    case "mjs":
    case "cjs":
      return javascript();
    case "jsx":
      return javascript({ jsx: true });
    case "ts":
      return javascript({ typescript: true });
    case "tsx":
      return javascript({ jsx: true, typescript: true });
    case "json":
      return json();
    case "sql":
      return sql();
    case "css":
      return css();
    default:
      return null;
  }
}

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.modifier, t.operatorKeyword, t.controlKeyword], color: "var(--syn-keyword)" },
  { tag: [t.string, t.special(t.string), t.regexp], color: "var(--syn-string)" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--syn-number)" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--syn-comment)", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: "var(--syn-function)" },
  { tag: [t.typeName, t.className, t.tagName, t.definition(t.typeName)], color: "var(--syn-type)" },
  { tag: [t.propertyName, t.attributeName], color: "var(--syn-property)" },
  { tag: [t.definition(t.variableName)], color: "var(--syn-definition)" },
  { tag: [t.invalid], color: "var(--danger)" },
]);

const look = EditorView.theme({
  "&": { height: "100%", backgroundColor: "var(--surface)", color: "var(--text)", fontSize: "13px", fontFamily: "var(--sans)" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "var(--accent)" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "var(--accent)" },
  "&.cm-focused": { outline: "none" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: "color-mix(in srgb, var(--accent-soft) 45%, transparent)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--accent-soft)", color: "var(--text)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "color-mix(in srgb, var(--focus) 28%, transparent)",
  },
  ".cm-tooltip": { backgroundColor: "var(--surface)", border: "1px solid var(--border)", color: "var(--text)" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "var(--accent-soft)", color: "var(--text)" },
  ".cm-panels": { backgroundColor: "var(--surface-2)", color: "var(--text)" },
  ".cm-diagnostic-error": { borderLeftColor: "var(--danger)" },
  ".cm-diagnostic-warning": { borderLeftColor: "var(--warn)" },
  ".cm-foldPlaceholder": { backgroundColor: "var(--surface-2)", border: "1px solid var(--border)", color: "var(--muted)" },
});

// Dispatched when the build's issues changed: the linter runs again without an edit.
const relintEffect = StateEffect.define();
const wantsRelint = (update) => update.transactions.some((tr) => tr.effects.some((e) => e.is(relintEffect)));

/** A CodeMirror position for a 1-based line and column, clamped into the document. */
export function positionOf(doc, line, column) {
  const n = Math.min(Math.max(1, line || 1), doc.lines);
  const at = doc.line(n);
  return Math.min(at.to, at.from + Math.max(0, (column || 1) - 1));
}

function diagnosticsOf(doc, issues) {
  return issues.map((issue) => {
    if (issue.from !== undefined) return issue;
    const from = positionOf(doc, issue.line, issue.column);
    const to = issue.column ? Math.min(doc.lineAt(from).to, from + 1) : doc.lineAt(from).to;
    return { from, to: Math.max(to, from), severity: issue.severity || "error", message: issue.message, source: issue.source };
  });
}

/**
 * An editor in `parent`. `check(text)` (optional) answers live issues as
 * [{line, column, severity, message}]; `buildIssues()` the last build's issues for this file.
 * `onSave`, `onRun`: Ctrl/Cmd+S and Ctrl/Cmd+Enter in the editor.
 * Returns a handle: text(), replace(text), setReadOnly(bool), relint(), goto(line, column), destroy().
 */
export function createEditor({ parent, doc, path, readOnly = false, onChange, onSave, onRun, check, buildIssues }) {
  const lang = languageFor(path);
  const syntax = /\.json$/i.test(path) && !check ? jsonParseLinter() : null;
  const source = async (view) => {
    const found = [];
    if (syntax) found.push(...syntax(view));
    if (check) {
      try {
        found.push(...diagnosticsOf(view.state.doc, (await check(view.state.doc.toString())) || []));
      } catch {
        // the check could not run (offline, signed out): the build still checks on save
      }
    }
    if (buildIssues) found.push(...diagnosticsOf(view.state.doc, buildIssues().map((i) => ({ ...i, source: "build" }))));
    return found;
  };
  const ownKeys = keymap.of([
    { key: "Mod-s", preventDefault: true, run: () => (onSave && onSave(), true) },
    { key: "Mod-Enter", preventDefault: true, run: () => (onRun && onRun(), true) },
  ]);
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    syntaxHighlighting(highlight),
    bracketMatching(),
    closeBrackets(),
    autocompletion(),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    lintGutter(),
    linter(source, { delay: 350, needsRefresh: wantsRelint }),
    ownKeys,
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, ...completionKeymap, ...lintKeymap, indentWithTab]),
    look,
    EditorView.lineWrapping,
    EditorState.readOnly.of(readOnly),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && onChange) onChange(update.state.doc.toString());
    }),
  ];
  if (lang) extensions.push(lang);
  // The editor lives in a shadow root of `parent`: CodeMirror then adopts its styles as a
  // constructable stylesheet there, which the IDE's policy (style-src 'self', no inline
  // <style>) allows; in the document itself it would write a <style> element. The theme
  // reads the IDE's colour variables, which cross the shadow boundary.
  const root = parent.shadowRoot || parent.attachShadow({ mode: "open" });
  const view = new EditorView({ parent: root, root, state: EditorState.create({ doc, extensions }) });
  return {
    view,
    text: () => view.state.doc.toString(),
    replace(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    relint: () => view.dispatch({ effects: relintEffect.of(null) }),
    goto(line, column) {
      const pos = positionOf(view.state.doc, line, column);
      view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
      view.focus();
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
