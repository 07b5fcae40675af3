import "./TodoStats.css";

// Reads the page's design tokens (custom properties cross the shadow root), so it follows
// the app's theme and the visitor's light or dark preference.
export default function TodoStats({ todos = [] }) {
  const done = todos.filter((t) => t.done).length;
  const share = todos.length ? Math.round((done / todos.length) * 100) : 0;
  return (
    <div className="stats">
      <span>
        <strong>{done}</strong> of <strong>{todos.length}</strong> done
      </span>
      <div className="track" role="progressbar" aria-label="Done" aria-valuemin={0} aria-valuemax={100} aria-valuenow={share}>
        <div className="bar" style={{ width: `${share}%` }} />
      </div>
    </div>
  );
}
