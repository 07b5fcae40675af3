// The panels of an app, in the order of the side bar. A panel is a React component that
// gets { app, session, rest } (rest: the route's parts after the panel's id).
import Overview from "./overview.jsx";

export const PANELS = [{ id: "overview", title: "Overview", key: "o", component: Overview }];
