// The Data panel: not built yet (see issue 13); its owner replaces this file.
import { Empty } from "../ui.jsx";

export default function DataPanel() {
  return <Empty title="Data: not built yet">This panel comes with a later change.</Empty>;
}
