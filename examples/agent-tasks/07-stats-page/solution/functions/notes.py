"""Notes: GET lists them, POST adds one."""

from pydantic import BaseModel, Field

import atoll


class NewNote(BaseModel):
    body: str = Field(min_length=1, max_length=2000)


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, body FROM notes ORDER BY id DESC")]


def post(body: NewNote) -> dict[str, object]:
    row = atoll.db.execute("INSERT INTO notes (body) VALUES (?) RETURNING id", [body.body])[0]
    return {"id": row["id"], "body": body.body}
