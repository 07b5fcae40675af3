"""The example apps that come with Atoll (``examples/`` of the source tree), which a new app
can start from."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from atoll.builder.esbuild import REPO_ROOT
from atoll.errors import NotFound

EXAMPLES_DIR = REPO_ROOT / "examples"
DESCRIPTIONS = {
    "todo": "a list with a form, a component and a database table",
    "crm": "contacts and deals, with the design system's tables, forms and charts",
}


@dataclass(frozen=True)
class Example:
    name: str
    description: str
    path: Path


class ExampleOut(BaseModel):
    name: str
    description: str


@functools.cache
def examples(root: Path = EXAMPLES_DIR) -> dict[str, Example]:
    """The examples by name: folders with an ``atoll.toml`` (none when not installed)."""
    found: dict[str, Example] = {}
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir()):
        toml = folder / "atoll.toml"
        if folder.is_symlink() or not toml.is_file():
            continue
        try:
            said = tomllib.loads(toml.read_text()).get("description")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        description = said if isinstance(said, str) else DESCRIPTIONS.get(folder.name, "")
        found[folder.name] = Example(folder.name, description, folder)
    return found


def find_example(name: str) -> Example:
    """An example by name; ``NotFound`` naming the ones there are."""
    found = examples().get(name)
    if found is None:
        names = ", ".join(examples()) or "none are installed"
        raise NotFound(f"no example {name!r} (the examples: {names})", example=name)
    return found
