"""Customers: GET lists them (filtered by ``q`` and ``stage``), POST adds one, DELETE removes one."""

from typing import Literal

from pydantic import BaseModel, Field

import atoll

Stage = Literal["lead", "qualified", "proposal", "won", "lost"]


class NewCustomer(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    company: str = Field("", max_length=120)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200)
    stage: Stage = "lead"
    value: int = Field(0, ge=0, le=10_000_000)


def get(q: str = "", stage: str = "") -> list[dict[str, object]]:
    like = f"%{q.strip()}%"
    rows = atoll.db.execute(
        "SELECT id, name, company, email, stage, value, owner, updated FROM customers"
        " WHERE (name LIKE ? OR company LIKE ? OR email LIKE ?) AND (? = '' OR stage = ?)"
        " ORDER BY updated DESC, id DESC",
        [like, like, like, stage, stage],
    )
    return [dict(r) for r in rows]


def post(body: NewCustomer) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO customers (name, company, email, stage, value, owner)"
        " VALUES (?, ?, ?, ?, ?, 'You') RETURNING id",
        [body.name, body.company, body.email, body.stage, body.value],
    )[0]
    return {"id": row["id"], **body.model_dump()}


def delete(id: int) -> dict[str, object]:
    atoll.db.execute("DELETE FROM customers WHERE id = ?", [id])
    return {"deleted": id}
