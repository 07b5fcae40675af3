"""Differences between two revision trees, and unified text diffs of changed files."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Tree = dict[str, tuple[str, int]]


@dataclass(frozen=True)
class FileChange:
    """One path that differs between two trees."""

    path: str
    status: Literal["added", "removed", "modified"]
    old_sha256: str | None
    new_sha256: str | None


def diff_trees(old: Tree, new: Tree) -> list[FileChange]:
    """The paths that were added, removed or modified going from ``old`` to ``new``."""
    changes: list[FileChange] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        if before is None:
            assert after is not None
            changes.append(FileChange(path, "added", None, after[0]))
        elif after is None:
            changes.append(FileChange(path, "removed", before[0], None))
        elif before[0] != after[0]:
            changes.append(FileChange(path, "modified", before[0], after[0]))
    return changes


def unified_diff(path: str, old: bytes | None, new: bytes | None) -> str | None:
    """A unified diff of two versions of a text file; None if either side is not UTF-8."""
    try:
        a = old.decode("utf-8").splitlines(keepends=True) if old is not None else []
        b = new.decode("utf-8").splitlines(keepends=True) if new is not None else []
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(
        a,
        b,
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    # A last line without a newline is marked as git and patch do, not run into the next.
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )
