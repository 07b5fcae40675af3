// The IDE: a signed-in tenant's apps, and the panels of one app.
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { api, currentSession } from "./api.js";
import AppView from "./app-view.jsx";
import Dashboard from "./dashboard.jsx";
import "./ide.css";
import { href, useRoute } from "./route.js";
import { chooseTheme, storedTheme } from "./theme.js";
import { ErrorNote, Spinner } from "./ui.jsx";

function ThemeToggle() {
  const [theme, setTheme] = useState(storedTheme);
  useEffect(() => chooseTheme(theme), [theme]);
  const next = { system: "light", light: "dark", dark: "system" }[theme];
  return (
    <button type="button" className="btn ghost small" onClick={() => setTheme(next)} title={`Theme: ${theme} (switch to ${next})`}>
      {theme === "dark" ? "Dark" : theme === "light" ? "Light" : "Auto"}
    </button>
  );
}

function Header({ session, app }) {
  async function signOut() {
    try {
      await api("/session", { method: "DELETE" });
    } finally {
      location.assign("/");
    }
  }
  return (
    <header className="topbar">
      <a className="brand" href={href(null)}>
        <span className="logo" aria-hidden="true" />
        Atoll
      </a>
      <nav className="crumbs" aria-label="Breadcrumbs">
        <a href={href(null)}>Apps</a>
        {app ? (
          <>
            <span aria-hidden="true">/</span>
            <a href={href(app)}>{app}</a>
          </>
        ) : null}
      </nav>
      <div className="topbar-end">
        <ThemeToggle />
        <span className="tenant" title={`Signed in with token "${session.token_name}"`}>
          {session.tenant}
        </span>
        <button type="button" className="btn small" onClick={signOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Ide() {
  const [state, setState] = useState({ session: null, error: null, loading: true });
  const route = useRoute();
  useEffect(() => {
    currentSession().then(
      (session) => (session ? setState({ session, error: null, loading: false }) : location.assign("/")),
      (error) => setState({ session: null, error, loading: false }),
    );
    const onSignedOut = () => location.assign("/");
    window.addEventListener("atoll:signed-out", onSignedOut);
    return () => window.removeEventListener("atoll:signed-out", onSignedOut);
  }, []);
  if (state.loading) return <Spinner label="Opening the IDE" />;
  if (state.error) return <ErrorNote error={state.error} onRetry={() => location.reload()} />;
  const { session } = state;
  return (
    <div className="ide">
      <Header session={session} app={route.app} />
      {route.app ? <AppView key={route.app} app={route.app} panel={route.panel} rest={route.rest} session={session} /> : <Dashboard session={session} />}
    </div>
  );
}

createRoot(document.getElementById("ide")).render(
  <StrictMode>
    <Ide />
  </StrictMode>,
);
