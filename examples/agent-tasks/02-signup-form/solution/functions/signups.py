"""Sign-ups: POST checks and stores one, GET lists them."""

from pydantic import BaseModel, Field

import atoll


class Signup(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200)
    age: int = Field(ge=13, le=120)


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, name, email, age FROM signups ORDER BY id")]


def post(body: Signup) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO signups (name, email, age) VALUES (?, ?, ?) RETURNING id",
        [body.name, body.email, body.age],
    )[0]
    return {"id": row["id"], **body.model_dump()}
