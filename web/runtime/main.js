// The SDUI runtime: reads the boot JSON the page shell embeds, renders the page, and navigates
// between the app's pages on the client.
import { createElement as h, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ErrorBox } from "./boundary.js";
import { PageView } from "./page.js";
import { loadRich } from "./widgets.js";
import "./atoll.css";

export { BUILTINS } from "./nodes.js";
export { evaluate, parse, resolve } from "./expr.js";

const normalize = (path) => (path.length > 1 ? path.replace(/\/+$/, "") : path) || "/";

/** The URL of a page's JSON for a route: "/" -> {pagesBase}/index.json, "/about" -> .../about.json. */
export function pageUrl(boot, route) {
  const name = route === "/" ? "index" : route.replace(/^\//, "");
  return `${boot.pagesBase.replace(/\/$/, "")}/${name}.json`;
}

function App({ boot }) {
  const [current, setCurrent] = useState({ route: normalize(boot.route || location.pathname), page: boot.page, error: null, n: 0 });

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
    if (page.title) document.title = page.title;
    setCurrent((c) => ({ route, page, error: null, n: c.n + 1 }));
    window.scrollTo(0, 0);
  }, [boot]);

  useEffect(() => {
    const onPop = () => show(location.pathname + location.search, false);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [show]);

  const navigate = useCallback((to) => show(to, true), [show]);
  if (current.error || !current.page) return h(ErrorBox, { title: "Page failed", message: current.error || "no page" });
  return h(PageView, { key: current.n, page: current.page, boot, navigate, route: current.route });
}

/** Start the runtime on `element` with the boot object (page, routes, components, bases). */
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
