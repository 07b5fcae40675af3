// One app: the side bar of its panels and the chosen panel.
import { PANELS } from "./panels/index.js";
import { href } from "./route.js";
import { Empty } from "./ui.jsx";

export default function AppView({ app, panel, rest, session }) {
  const current = PANELS.find((p) => p.id === panel);
  const Panel = current ? current.component : null;
  return (
    <div className="app-view">
      <nav className="side" aria-label={`${app} panels`}>
        <div className="side-app" title={app}>
          {app}
        </div>
        <ul>
          {PANELS.map((p) => (
            <li key={p.id}>
              <a href={href(app, p.id)} aria-current={p.id === panel ? "page" : undefined} className={p.id === panel ? "active" : ""}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="panel" id="panel" data-panel={panel}>
        {Panel ? <Panel app={app} session={session} rest={rest} /> : <Empty title={`No panel "${panel}"`}>Pick one on the left.</Empty>}
      </main>
    </div>
  );
}
