// The panels of an app, in the order of the side bar. A panel is a React component that
// gets { app, session, rest } (rest: the route's parts after the panel's id); each lives
// in its own file here.
import Agent from "./agent.jsx";
import Data from "./data.jsx";
import Docs from "./docs.jsx";
import Editor from "./editor.jsx";
import Logs from "./logs.jsx";
import Overview from "./overview.jsx";
import Preview from "./preview.jsx";
import Releases from "./releases.jsx";
import Variables from "./vars.jsx";

export const PANELS = [
  { id: "overview", title: "Overview", component: Overview },
  { id: "editor", title: "Editor", component: Editor },
  { id: "preview", title: "Preview", component: Preview },
  { id: "agent", title: "Agent", component: Agent },
  { id: "data", title: "Data", component: Data },
  { id: "docs", title: "Docs", component: Docs },
  { id: "logs", title: "Logs", component: Logs },
  { id: "releases", title: "Releases", component: Releases },
  { id: "vars", title: "Variables", component: Variables },
];
