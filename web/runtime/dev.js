// Dev pages only: the IDE's preview (the parent window, on one of `boot.dev.ide`'s origins)
// says "rebuilt"; the page reads its own HTML again and swaps in what changed (the page
// JSON, the components' content-addressed bundles, the functions' data) without a reload.
// The message is only a nudge: everything swapped in comes from this page's own origin.
/**
 * Dev pages only: the protocol between the IDE's preview and a page of the environment that
 * follows the workspace. The IDE posts `{atoll: 1, type: "hello"}` and, after a good build,
 * `{atoll: 1, type: "rebuilt", revision, changed}`; the page answers
 * `{atoll: 1, type: "location", path}` and swaps in what changed.
 *
 * @module dev
 */

const MAX_CHANGED = 1000;

/**
 * The message a rebuild nudge must look like, or null (anything else is ignored).
 * @param {unknown} data a `message` event's data
 * @returns {{type: "hello"} | {type: "rebuilt", revision: string, changed: string[] | null} | null}
 */
export function readNudge(data) {
  if (!data || typeof data !== "object" || data.atoll !== 1) return null;
  if (data.type === "hello") return { type: "hello" };
  if (data.type !== "rebuilt") return null;
  const changed = Array.isArray(data.changed) ? data.changed.filter((p) => typeof p === "string").slice(0, MAX_CHANGED) : null;
  return { type: "rebuilt", revision: typeof data.revision === "string" ? data.revision.slice(0, 100) : "", changed };
}

/**
 * What a new build means for the page on screen: "reload" when only a reload can show it,
 * else which parts to swap: { page, components, data } (booleans).
 * @param {{route: string, page: object, components: object}} current what is on screen
 * @param {object | null} next the new build's boot object
 * @param {string[] | null} changed workspace paths the build changed (null: unknown)
 * @returns {"reload" | {page: boolean, components: boolean, data: boolean}}
 */
export function rebuildPlan(current, next, changed) {
  if (!next || !next.page || next.route !== current.route) return "reload";
  if ((changed || []).some((p) => p.startsWith("static/"))) return "reload";
  const page = JSON.stringify(next.page) !== JSON.stringify(current.page);
  const components = JSON.stringify(next.components) !== JSON.stringify(current.components);
  // Functions, migrations, config: their effect is in the data. Unknown changes: refresh too.
  const data = !changed || changed.some((p) => !p.startsWith("components/") && !p.startsWith("pages/"));
  return { page, components, data };
}

/**
 * The boot JSON of the page at `url` as served now, and whether its shell (import map,
 * runtime, styles) still matches `shell` (this document's as served); a different shell
 * needs a reload.
 * @param {string} url
 * @param {string} shell what {@link shellOf} gave for this document
 * @returns {Promise<{boot: object | null, sameShell: boolean}>}
 */
export async function fetchBoot(url, shell) {
  const response = await fetch(url, { cache: "no-store", headers: { accept: "text/html" } });
  if (!response.ok) return { boot: null, sameShell: false };
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const script = doc.getElementById("atoll-boot");
  const boot = script ? JSON.parse(script.textContent) : null;
  return { boot, sameShell: shellOf(doc) === shell };
}

/**
 * The parts of a document's head a swap cannot change (read before components add any).
 * @param {Document} doc
 * @returns {string}
 */
export function shellOf(doc) {
  const parts = [...doc.querySelectorAll("script[type=importmap], script[type=module][src], link[rel=stylesheet], head > style")];
  return parts.map((el) => el.outerHTML).join("\n");
}

/**
 * Listen for the IDE's nudges (dev pages only); `tell(path)` reports where the page is.
 * @param {{ide: string[]}} dev the boot object's `dev`: the IDE origins allowed to nudge
 * @param {(nudge: {type: "rebuilt", revision: string, changed: string[] | null}) => void} onRebuilt
 * @returns {{tell: (path: string) => void}}
 */
export function listenForRebuilds(dev, onRebuilt) {
  const allowed = new Set(Array.isArray(dev.ide) ? dev.ide : []);
  let ide = null; // the origin that said hello: the only one this page talks back to
  let where = location.pathname + location.search;
  const tell = (path) => {
    where = path;
    if (ide) window.parent.postMessage({ atoll: 1, type: "location", path }, ide);
  };
  window.addEventListener("message", (event) => {
    if (window.parent === window || event.source !== window.parent || !allowed.has(event.origin)) return;
    const nudge = readNudge(event.data);
    if (!nudge) return;
    ide = event.origin;
    if (nudge.type === "hello") tell(where);
    else onRebuilt(nudge);
  });
  return { tell };
}
