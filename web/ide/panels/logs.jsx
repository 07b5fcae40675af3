// The Logs panel: not built yet (see issue 13); its owner replaces this file.
import { Empty } from "../ui.jsx";

export default function LogsPanel() {
  return <Empty title="Logs: not built yet">This panel comes with a later change.</Empty>;
}
