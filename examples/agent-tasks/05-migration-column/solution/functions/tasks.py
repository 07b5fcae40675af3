"""Tasks: GET lists them, POST adds one."""

from pydantic import BaseModel, Field

import atoll


class NewTask(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    priority: int = Field(2, ge=1, le=3)


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, title, priority FROM tasks ORDER BY id")]


def post(body: NewTask) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO tasks (title, priority) VALUES (?, ?) RETURNING id", [body.title, body.priority]
    )[0]
    return {"id": row["id"], "title": body.title, "priority": body.priority}
