"""Shapes shared by the shelf's functions."""

from dataclasses import dataclass, field
from typing import TypedDict


@dataclass
class Book:
    """A book on a shelf."""

    id: int
    title: str
    tags: list[str] = field(default_factory=list)
    shelf_id: int | None = None


class Counts(TypedDict):
    books: int
    shelves: int
