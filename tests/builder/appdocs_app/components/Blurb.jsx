/**
 * A short blurb.
 * @param {Object} props
 * @param {string} props.text - What the blurb says.
 * @param {boolean} [props.muted=false] - Whether it is shown muted.
 */
export default function Blurb(props) {
  return <p>{props.text}</p>;
}
