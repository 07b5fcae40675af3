"""Contacts: GET lists them, POST adds one."""

from pydantic import BaseModel, Field

import atoll


class NewContact(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=3, max_length=30)


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, name, phone FROM contacts ORDER BY name")]


def post(body: NewContact) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO contacts (name, phone) VALUES (?, ?) RETURNING id", [body.name, body.phone]
    )[0]
    return {"id": row["id"], "name": body.name, "phone": body.phone}
