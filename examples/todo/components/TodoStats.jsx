import "./TodoStats.css";

export default function TodoStats({ todos = [] }) {
  const done = todos.filter((t) => t.done).length;
  return (
    <div className="stats">
      <strong>{done}</strong> of <strong>{todos.length}</strong> done
    </div>
  );
}
