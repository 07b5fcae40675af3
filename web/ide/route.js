// The IDE's place is in the URL's hash: "#/" the dashboard, "#/apps/NAME/PANEL" an app.
import { useEffect, useState } from "react";

export function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "apps" && parts[1]) return { app: parts[1], panel: parts[2] || "overview", rest: parts.slice(3) };
  return { app: null, panel: null, rest: [] };
}

export function href(app, panel, ...rest) {
  if (!app) return "#/";
  return "#/" + ["apps", app, panel || "overview", ...rest].map(encodeURIComponent).join("/");
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
