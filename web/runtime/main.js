// The SDUI runtime: reads the boot JSON the page shell embeds, renders the page, and navigates
// between the app's pages on the client.
/**
 * The page runtime: an app page's HTML embeds a {@link Boot} object (`<script id="atoll-boot">`)
 * and loads this module, which renders the page into `#atoll-root` and navigates between the
 * app's pages on the client. After start, `window.__atoll` is `{root, boot}`.
 *
 * @module runtime
 */

/**
 * A page document (`pages/<name>.json`); its JSON Schema is at `/api/v1/schemas/page.json`.
 * @typedef {object} Page
 * @property {1} schemaVersion the page format's version
 * @property {string} [title] the document title
 * @property {Record<string, object>} [data] named data sources, read as `data.<name>`
 * @property {Record<string, unknown>} [state] initial page state, read as `state.<name>`
 * @property {PageNode} root the node tree
 */

/**
 * One node of a page.
 * @typedef {object} PageNode
 * @property {string} type a built-in type (see {@link BUILTINS}) or `Component`
 * @property {Record<string, unknown>} [props] the type's props; values may be bindings
 * @property {PageNode[]} [children]
 * @property {string} [id]
 * @property {{over: string, as?: string, key?: string}} [repeat] render once per item
 * @property {string} [visibleWhen] render only while this expression is truthy
 * @property {string} [when] the same as `visibleWhen`
 * @property {Record<string, object[]>} [on] event name -> actions
 */

/**
 * What the page shell hands the runtime (JSON in `<script id="atoll-boot">`).
 * @typedef {object} Boot
 * @property {Page} page the page to show first
 * @property {string} route its route (`/`, `/about`)
 * @property {string[]} routes every route of the app (others are full navigations)
 * @property {Record<string, import("./component-host.js").ComponentEntry>} components the app's built components by name
 * @property {string} apiBase where the app's functions are served (`/api`)
 * @property {string} pagesBase where page JSON of this build is served
 * @property {{ide: string[]}} [dev] dev pages only: the IDE origins whose rebuild nudges count
 */import { createElement as h, useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { ErrorBox } from "./boundary.js";
import { fetchBoot, listenForRebuilds, rebuildPlan, shellOf } from "./dev.js";
import { PageView } from "./page.js";
import { loadRich } from "./widgets.js";
import "./atoll.css";

export { BUILTINS } from "./nodes.js";
export { evaluate, parse, resolve } from "./expr.js";

const normalize = (path) => (path.length > 1 ? path.replace(/\/+$/, "") : path) || "/";

/**
 * The URL of a page's JSON for a route: "/" -> {pagesBase}/index.json, "/about" -> .../about.json.
 * @param {Boot} boot
 * @param {string} route
 * @returns {string}
 */
export function pageUrl(boot, route) {
  const name = route === "/" ? "index" : route.replace(/^\//, "");
  return `${boot.pagesBase.replace(/\/$/, "")}/${name}.json`;
}

function App({ boot: firstBoot }) {
  const [boot, setBoot] = useState(firstBoot);
  const [current, setCurrent] = useState({ route: normalize(firstBoot.route || location.pathname), page: firstBoot.page, error: null, n: 0 });
  const [dataEpoch, setDataEpoch] = useState(0);
  const shown = useRef(null);
  shown.current = { route: current.route, page: current.page, components: boot.components };
  const dev = useDevRebuilds(firstBoot, shown, setBoot, setCurrent, setDataEpoch);

  const show = useCallback(async (target, push) => {
    const url = new URL(target, location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      console.error(`[atoll] refusing to navigate to ${url.protocol} URL`);
      return;
    }
    const route = normalize(url.pathname);
    if (url.origin !== location.origin || !(boot.routes || []).includes(route)) {
      location.assign(url.href);
      return;
    }
    let page;
    try {
      const response = await fetch(pageUrl(boot, route), { headers: { accept: "application/json" } });
      if (!response.ok) {
        // Most often a newer release is live (page URLs name their build): load it for real.
        location.assign(url.href);
        return;
      }
      page = await response.json();
    } catch {
      location.assign(url.href);
      return;
    }
    if (push) history.pushState({ route }, "", url.pathname + url.search + url.hash);
    if (dev) dev.tell(url.pathname + url.search);
    if (page.title) document.title = page.title;
    setCurrent((c) => ({ route, page, error: null, n: c.n + 1 }));
    window.scrollTo(0, 0);
  }, [boot, dev]);

  useEffect(() => {
    const onPop = () => show(location.pathname + location.search, false);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [show]);

  const navigate = useCallback((to) => show(to, true), [show]);
  if (current.error || !current.page) return h(ErrorBox, { title: "Page failed", message: current.error || "no page" });
  return h(PageView, { key: current.n, page: current.page, boot, navigate, route: current.route, dataEpoch });
}

// Dev pages only (`boot.dev`): swap in what a new build changed when the IDE says so.
function useDevRebuilds(firstBoot, shown, setBoot, setCurrent, setDataEpoch) {
  const [dev, setDev] = useState(null);
  useEffect(() => {
    if (!firstBoot.dev) return;
    const shell = shellOf(document);
    let latest = 0;
    setDev(listenForRebuilds(firstBoot.dev, async (nudge) => {
      const mine = ++latest;
      let found;
      try {
        found = await fetchBoot(location.pathname + location.search, shell);
      } catch {
        found = { boot: null, sameShell: false };
      }
      if (mine !== latest) return; // a newer build came meanwhile: its answer counts
      const plan = found.sameShell ? rebuildPlan(shown.current, found.boot, nudge.changed) : "reload";
      if (plan === "reload") return location.reload();
      setBoot(found.boot);
      if (plan.page) setCurrent((c) => ({ ...c, page: found.boot.page, n: c.n + 1 }));
      else if (plan.data) setDataEpoch((e) => e + 1);
      window.__atollSwaps = (window.__atollSwaps || 0) + 1; // how many builds swapped in (tests)
    }));
  }, [firstBoot]);
  return dev;
}

/**
 * Start the runtime on `element` with the boot object (page, routes, components, bases).
 * Called by this module itself when the document has `#atoll-boot`.
 * @param {Element} element where the page renders
 * @param {Boot} boot
 * @returns {object} the React root
 */
export function start(element, boot) {
  const root = createRoot(element);
  root.render(h(App, { boot }));
  window.__atoll = { root, boot };
  return root;
}

const bootScript = typeof document !== "undefined" ? document.getElementById("atoll-boot") : null;
if (bootScript) {
  const boot = JSON.parse(bootScript.textContent);
  // The page shell preloads the chunk of tables, dialogs and the shell when the page has one:
  // load it before the first render, so those nodes do not flash a skeleton first.
  const rich = [...document.querySelectorAll("link[rel=modulepreload]")].some((l) => /\/rich-[^/]*\.js$/.test(l.href));
  (rich ? loadRich().catch(() => null) : Promise.resolve()).then(() => start(document.getElementById("atoll-root"), boot));
}
