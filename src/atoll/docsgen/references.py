"""The generated references: what each is, and writing or checking all of them at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atoll.docsgen import cli, configuration, http_api, javascript, page_schema, sdk


@dataclass(frozen=True)
class Reference:
    """One generated reference: its main file (or folder), title, and how it is made."""

    path: str
    title: str
    render: Callable[[Path], dict[str, str]]
    # Folders this reference owns whole: a file there it did not generate is stale.
    owns: tuple[str, ...] = ()


REFERENCES: tuple[Reference, ...] = (
    Reference(http_api.PATH, http_api.TITLE, lambda _root: http_api.render()),
    Reference(cli.PATH, cli.TITLE, lambda _root: cli.render()),
    Reference(
        page_schema.PATH,
        page_schema.TITLE,
        lambda _root: page_schema.render(),
        owns=(page_schema.GALLERY,),
    ),
    Reference(sdk.PATH, sdk.TITLE, lambda _root: sdk.render()),
    Reference(
        f"{javascript.FOLDER}/index.md",
        javascript.TITLE,
        javascript.render,
        owns=(javascript.FOLDER,),
    ),
    Reference(configuration.PATH, configuration.TITLE, lambda _root: configuration.render()),
)


@dataclass(frozen=True)
class Stale:
    """A generated file that differs from what the code generates now."""

    path: str
    reason: str  # "differs", "missing" or "not generated any more"


def generate(root: Path, references: tuple[Reference, ...] = REFERENCES) -> dict[str, str]:
    """Every generated file, by path relative to ``root``, as the code makes it now."""
    files: dict[str, str] = {}
    for reference in references:
        files.update(reference.render(root))
    return dict(sorted(files.items()))


def _owned_files(root: Path, references: tuple[Reference, ...]) -> set[str]:
    found = set()
    for reference in references:
        for folder in reference.owns:
            if (root / folder).is_dir():
                found |= {
                    p.relative_to(root).as_posix()
                    for p in (root / folder).rglob("*")
                    if p.is_file()
                }
    return found


def check(root: Path, references: tuple[Reference, ...] = REFERENCES) -> list[Stale]:
    """The generated files under ``root`` that are not what the code generates now."""
    files = generate(root, references)
    stale = []
    for path, text in files.items():
        target = root / path
        if not target.is_file():
            stale.append(Stale(path, "missing"))
        elif target.read_text() != text:
            stale.append(Stale(path, "differs"))
    for path in sorted(_owned_files(root, references) - set(files)):
        stale.append(Stale(path, "not generated any more"))
    return stale


def write(root: Path, references: tuple[Reference, ...] = REFERENCES) -> list[str]:
    """Write every generated file under ``root`` (removing owned leftovers); what changed."""
    files = generate(root, references)
    changed = []
    for path in sorted(_owned_files(root, references) - set(files)):
        (root / path).unlink()
        changed.append(path)
    for path, text in files.items():
        target = root / path
        if target.is_file() and target.read_text() == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        changed.append(path)
    return sorted(changed)
