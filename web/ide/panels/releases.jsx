// The Releases panel: not built yet (see issue 13); its owner replaces this file.
import { Empty } from "../ui.jsx";

export default function ReleasesPanel() {
  return <Empty title="Releases: not built yet">This panel comes with a later change.</Empty>;
}
