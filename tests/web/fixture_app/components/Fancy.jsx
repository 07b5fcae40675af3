import "./Fancy.css";

export default function Fancy() {
  return (
    <div>
      <span id="narrow" className="fancy">iiiiiiiiii</span>
      <br />
      <span id="wide" className="fancy">WWWWWWWWWW</span>
    </div>
  );
}
