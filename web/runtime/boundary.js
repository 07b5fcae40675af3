// One error boundary per node: a broken node shows its error in place, the rest of the page stays.
import { Component, createElement as h } from "react";

const BOX = {
  display: "block", border: "1px solid #d33", background: "#fff4f4", color: "#a11",
  padding: "8px 10px", borderRadius: "6px", font: "13px/1.4 system-ui, sans-serif",
  whiteSpace: "pre-wrap",
};

/** A visible error box with inline styles, so it reads the same inside a shadow root. */
export function ErrorBox({ title, message, onRetry }) {
  return h(
    "div",
    { role: "alert", className: "atoll-error", style: BOX },
    h("strong", null, title),
    message ? h("div", null, message) : null,
    onRetry ? h("button", { type: "button", onClick: onRetry, style: { marginTop: "6px" } }, "Retry") : null,
  );
}

/** Catches errors of one node's subtree and renders an ErrorBox instead. */
export class NodeBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null, resetKey: props.resetKey };
  }
  static getDerivedStateFromError(error) {
    return { error };
  }
  // A new page state or new data may fix what failed: try again when `resetKey` changes.
  static getDerivedStateFromProps(props, state) {
    if (props.resetKey !== state.resetKey) return { error: null, resetKey: props.resetKey };
    return null;
  }
  componentDidCatch(error) {
    console.error(`[atoll] ${this.props.label} failed:`, error);
  }
  render() {
    if (this.state.error) {
      const message = this.state.error && this.state.error.message ? this.state.error.message : String(this.state.error);
      return h(ErrorBox, { title: `${this.props.label} failed`, message });
    }
    return this.props.children;
  }
}
