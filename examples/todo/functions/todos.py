"""The todo list: GET lists items, POST adds one, PATCH toggles, DELETE removes."""

from pydantic import BaseModel, Field

import atoll


class NewTodo(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class Toggle(BaseModel):
    id: int
    done: bool


def get() -> list[dict[str, object]]:
    rows = atoll.db.execute("SELECT id, title, done FROM todos ORDER BY id")
    return [{"id": r["id"], "title": r["title"], "done": bool(r["done"])} for r in rows]


def post(body: NewTodo) -> dict[str, object]:
    row = atoll.db.execute("INSERT INTO todos (title) VALUES (?) RETURNING id", [body.title])[0]
    atoll.log.info("added todo", id=row["id"])
    return {"id": row["id"], "title": body.title, "done": False}


def patch(body: Toggle) -> dict[str, object]:
    atoll.db.execute("UPDATE todos SET done = ? WHERE id = ?", [int(body.done), body.id])
    return {"id": body.id, "done": body.done}


def delete(id: int) -> dict[str, object]:
    atoll.db.execute("DELETE FROM todos WHERE id = ?", [id])
    return {"deleted": id}
