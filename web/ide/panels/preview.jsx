// The Preview panel: not built yet (see issue 13); its owner replaces this file.
import { Empty } from "../ui.jsx";

export default function PreviewPanel() {
  return <Empty title="Preview: not built yet">This panel comes with a later change.</Empty>;
}
