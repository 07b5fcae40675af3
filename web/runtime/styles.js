// Component CSS: one constructable stylesheet per CSS file, shared by every shadow root using it;
// the hoisted @font-face/@property rules are adopted by the document once.
const sheets = new Map();
const hoisted = new Set();

/** A shared CSSStyleSheet for a CSS URL (fetched and parsed once per page load). */
export function loadSheet(url) {
  let pending = sheets.get(url);
  if (!pending) {
    pending = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error(`stylesheet ${url}: HTTP ${r.status}`);
        return r.text();
      })
      .then((css) => {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
        return sheet;
      });
    sheets.set(url, pending);
  }
  return pending;
}

/** Adopt a component's document-level rules (fonts, registered properties) once. */
export async function hoistToDocument(url) {
  if (hoisted.has(url)) return;
  hoisted.add(url);
  const sheet = await loadSheet(url);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

let reset;
/**
 * The `:host` reset every component root gets before its own CSS. In a layer of its own, the
 * first one of the root: any rule of the component, layered (Tailwind's preflight) or not,
 * overrides it.
 */
export function hostReset() {
  if (!reset) {
    reset = new CSSStyleSheet();
    reset.replaceSync("@layer atoll-host{:host{all:initial;display:block}}");
  }
  return reset;
}
