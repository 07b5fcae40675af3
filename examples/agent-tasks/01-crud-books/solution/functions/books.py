"""The reading list: list, add, mark read, delete."""

from pydantic import BaseModel, Field

import atoll


class NewBook(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=200)


class Read(BaseModel):
    id: int
    read: bool


def _book(row: dict[str, object]) -> dict[str, object]:
    return {"id": row["id"], "title": row["title"], "author": row["author"], "read": bool(row["read"])}


def get() -> list[dict[str, object]]:
    return [_book(r) for r in atoll.db.execute("SELECT * FROM books ORDER BY id")]


def post(body: NewBook) -> dict[str, object]:
    row = atoll.db.execute(
        "INSERT INTO books (title, author) VALUES (?, ?) RETURNING *", [body.title, body.author]
    )[0]
    return _book(row)


def patch(body: Read) -> dict[str, object]:
    rows = atoll.db.execute(
        "UPDATE books SET read = ? WHERE id = ? RETURNING *", [int(body.read), body.id]
    )
    if not rows:
        return atoll.Response({"error": "no such book"}, status=404)
    return _book(rows[0])


def delete(id: int) -> dict[str, object]:
    atoll.db.execute("DELETE FROM books WHERE id = ?", [id])
    return {"deleted": id}
