import { label } from "./lib/label.js";
import "./RedButton.css";

export default function RedButton({ text = "red" }) {
  return <button id="red">{label(text)}</button>;
}
