"""Todo items kept in the app's database."""

import atoll


def get() -> list[dict]:
    atoll.db.execute("CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, title TEXT)")
    rows = atoll.db.execute("SELECT id, title FROM todos ORDER BY id").rows
    return [{"id": r[0], "title": r[1]} for r in rows]


def post(body: dict) -> dict:
    atoll.db.execute("CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, title TEXT)")
    atoll.db.execute("INSERT INTO todos (title) VALUES (?)", [body["title"]])
    return {"ok": True}
