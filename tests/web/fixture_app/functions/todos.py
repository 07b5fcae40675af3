"""Todo items kept in the app's database (GET lists them, POST adds one)."""

import atoll


def get() -> list[dict[str, object]]:
    rows = atoll.db.execute("SELECT id, title, done FROM todos ORDER BY id")
    return [{"id": r["id"], "title": r["title"], "done": bool(r["done"])} for r in rows]


def post(body: dict[str, object]) -> dict[str, object]:
    title = str(body.get("title") or "").strip()
    if not title:
        return atoll.Response({"error": {"message": "title: required"}}, status=422)
    row = atoll.db.execute("INSERT INTO todos (title) VALUES (?) RETURNING id", [title])[0]
    return {"id": row["id"], "title": title, "done": False}
