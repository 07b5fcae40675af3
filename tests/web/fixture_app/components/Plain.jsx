import { label } from "./lib/label.js";

export default function Plain() {
  return <button id="plain">{label("plain")}</button>;
}
