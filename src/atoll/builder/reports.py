"""What a failed build reports: each error as a workspace file, line, column and message.

The parts of a build raise in their own shapes (``BuildFailed`` listing page and esbuild
errors, a ``MigrationError`` naming its file, a TOML error with the line in its text);
``build_errors`` turns any of them into one list of ``BuildError`` and ``build_failure``
turns such a list back into one ``BuildFailed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from atoll.errors import AtollError, BuildFailed
from atoll.store.records import BuildError

MIGRATIONS_DIR = "migrations"
_AT_LINE = re.compile(r"\bat line (\d+),? column (\d+)")


def _position(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _file(entry: Mapping[str, Any], default: str | None) -> str | None:
    file = entry.get("file")
    if isinstance(file, str) and file:
        return file
    files = entry.get("files")
    if isinstance(files, list) and files and isinstance(files[-1], str):
        return files[-1]
    migration = entry.get("migration")
    if isinstance(migration, str) and migration:
        # Migrations name themselves by file name (that is what a database records).
        prefix = f"{MIGRATIONS_DIR}/"
        return migration if migration.startswith(prefix) else prefix + migration
    return default


def _error(entry: Mapping[str, Any], message: str, default_file: str | None) -> BuildError:
    line, column = _position(entry.get("line")), _position(entry.get("column"))
    if line is None and (found := _AT_LINE.search(message)):
        line, column = int(found.group(1)), int(found.group(2))
    path = entry.get("path")
    if isinstance(path, str) and path not in ("", "$"):
        message = f"{path}: {message}"  # a page's JSON path: where in the file
    return BuildError(_file(entry, default_file), line, column, message)


def build_errors(exc: AtollError, file: str | None = None) -> list[BuildError]:
    """The errors ``exc`` reports; ``file`` names the file of those that name none."""
    listed = exc.detail.get("errors")
    if isinstance(listed, list) and listed:
        found = [
            _error(entry, str(entry.get("message") or exc.message), file)
            for entry in listed
            if isinstance(entry, Mapping)
        ]
        if found:
            return found
    return [_error(exc.detail, exc.message, file)]


def build_failure(summary: str, errors: Sequence[BuildError]) -> BuildFailed:
    """One ``BuildFailed`` listing ``errors``; its message shows the first few."""
    shown = "; ".join(str(e) for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return BuildFailed(
        f"{summary}: {shown}{more}" if shown else summary,
        errors=[
            {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
            for e in errors
        ],
    )
