export default function Broken() {
  throw new Error("Broken component exploded on purpose");
}
