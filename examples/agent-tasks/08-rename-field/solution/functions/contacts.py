"""Contacts: GET lists them, POST adds one."""

from pydantic import BaseModel, Field

import atoll


class NewContact(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    mobile: str = Field(min_length=3, max_length=30)


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, name, mobile FROM contacts ORDER BY name")]


def post(body: NewContact) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO contacts (name, mobile) VALUES (?, ?) RETURNING id", [body.name, body.mobile]
    )[0]
    return {"id": row["id"], "name": body.name, "mobile": body.mobile}
