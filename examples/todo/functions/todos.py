"""The todo list: GET lists items, POST adds one, PATCH toggles, DELETE removes."""

from pydantic import BaseModel, Field

import atoll


class NewTodo(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class Toggle(BaseModel):
    id: int
    done: bool


def get() -> list[dict[str, object]]:
    rows = atoll.db.execute("SELECT id, title, done FROM todos ORDER BY id").rows
    return [{"id": r[0], "title": r[1], "done": bool(r[2])} for r in rows]


def post(body: NewTodo) -> dict[str, object]:
    result = atoll.db.execute("INSERT INTO todos (title) VALUES (?)", [body.title])
    atoll.log.info(f"added todo {result.last_insert_rowid}")
    return {"id": result.last_insert_rowid, "title": body.title, "done": False}


def patch(body: Toggle) -> dict[str, object]:
    atoll.db.execute("UPDATE todos SET done = ? WHERE id = ?", [int(body.done), body.id])
    return {"id": body.id, "done": body.done}


def delete(id: int) -> dict[str, object]:
    atoll.db.execute("DELETE FROM todos WHERE id = ?", [id])
    return {"deleted": id}
