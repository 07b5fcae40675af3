// The Docs panel: the generated docs of what an environment serves (its functions with a
// try-it, components and their props, pages, database schema), the page the gateway serves
// at /_atoll/docs/ on the environment's own origin, in a frame. It reloads when the
// environment moves to another build.
import { api } from "../api.js";
import { building, Empty, ErrorNote, Spinner, useLoad, usePoll } from "../ui.jsx";
import { EnvTabs } from "./data.jsx";

export const DOCS_PATH = "/_atoll/docs/";

export default function DocsPanel({ app, rest }) {
  const name = rest[0] || "dev";
  const envs = useLoad(() => api(`/apps/${encodeURIComponent(app)}/envs`), [app]);
  usePoll(envs.reload, !envs.loading && building(envs.data));
  const env = (envs.data || []).find((e) => e.name === name);
  const serves = env && (env.release || (env.number ? `r${env.number}` : null));
  const src = env && serves ? `${new URL(env.url).origin}${DOCS_PATH}?build=${encodeURIComponent(serves)}` : null;
  return (
    <div className="docs-panel">
      <div className="panel-head">
        <h2 id="docs-title">Docs</h2>
        <EnvTabs app={app} panel="docs" env={name} envs={envs.data} />
        <span className="grow" />
        {serves ? <span className="muted">{serves}</span> : null}
        {src ? (
          <a className="btn ghost small" href={src} target="_blank" rel="noopener noreferrer" title="Open the docs in a new tab">
            ↗
          </a>
        ) : null}
      </div>
      <ErrorNote error={envs.error} onRetry={envs.reload} />
      {src ? (
        <iframe key={src} className="docs-frame" title={`Docs of ${name}`} src={src} sandbox="allow-scripts allow-same-origin allow-forms allow-popups" />
      ) : envs.loading ? (
        <Spinner label="Loading environments" />
      ) : (
        <Empty title={`Nothing is served in ${name} yet`}>Its docs appear once a build is deployed there.</Empty>
      )}
    </div>
  );
}
