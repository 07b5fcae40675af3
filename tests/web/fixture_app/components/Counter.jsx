import { useState } from "react";
import { label } from "./lib/label.js";
import "./Counter.css";

export default function Counter({ start = 0, emit }) {
  const [n, setN] = useState(start);
  const [text, setText] = useState("");
  return (
    <div className="counter">
      <output id="count">{n}</output>
      <button id="inc" onClick={() => { setN(n + 1); emit && emit("change", n + 1); }}>{label("+1")}</button>
      <input id="field" value={text} onChange={(e) => setText(e.target.value)} />
      <span id="echo">{text}</span>
    </div>
  );
}
