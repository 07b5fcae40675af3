"""Books: list them, add one."""

from typing import Literal, Optional

from models import Book
from pydantic import BaseModel, Field

import atoll


class NewBook(BaseModel):
    """What adding a book takes."""

    title: str = Field(min_length=1, max_length=120, description="The book's title.")
    shelf_id: int
    tags: list[str] = []


def get(
    request: atoll.Request,
    shelf: int,
    order: Literal["title", "id"] = "title",
    limit: Optional[int] = None,  # noqa: UP045 (the older spelling is described too)
) -> list[Book]:
    """List the books of a shelf."""
    return []


def post(body: NewBook) -> Book:
    """Add a book."""
    return Book(id=1, title=body.title)
