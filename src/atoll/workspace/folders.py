"""Reading a local folder the way a push sends it: ignore rules, and refusals of unsafe names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from atoll.errors import InvalidPath, LimitExceeded
from atoll.workspace.ignore import IgnoreRules
from atoll.workspace.paths import check_path


class FolderLimits(Protocol):
    """The limits a folder is checked against (``config.Limits`` has them; the CLI passes
    its own copy so that it does not load the server's settings)."""

    @property
    def max_file_bytes(self) -> int: ...
    @property
    def max_files(self) -> int: ...
    @property
    def max_path_length(self) -> int: ...


@dataclass(frozen=True)
class LocalFile:
    """A file of a local folder: its workspace path, where it is, and its size."""

    path: str
    source: Path
    size: int


def _rel(root: str, full: str) -> str:
    rel = os.path.relpath(full, root).replace(os.sep, "/")
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(
            "file name is not valid UTF-8", path=rel.encode("utf-8", "surrogateescape").hex()
        ) from None
    return rel


def scan_folder(folder: Path, limits: FolderLimits) -> list[LocalFile]:
    """Every file a push of ``folder`` sends, sorted; refuses symlinks and unsafe names."""
    if not folder.is_dir():
        raise InvalidPath(f"{folder} is not a folder", path=str(folder))
    root = str(folder)
    rules = IgnoreRules.for_folder(folder)
    found: list[LocalFile] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        kept = []
        for name in sorted(dirs):
            full = os.path.join(current, name)
            rel = _rel(root, full)
            if rules.is_ignored(rel, is_dir=True):
                continue
            if os.path.islink(full):
                raise InvalidPath(f"symlinks are not allowed in an app: {rel}", path=rel)
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            full = os.path.join(current, name)
            rel = _rel(root, full)
            if rules.is_ignored(rel):
                continue
            if os.path.islink(full):
                raise InvalidPath(f"symlinks are not allowed in an app: {rel}", path=rel)
            if not os.path.isfile(full):
                raise InvalidPath(f"not a regular file: {rel}", path=rel)
            check_path(rel, limits.max_path_length)
            size = os.path.getsize(full)
            if size > limits.max_file_bytes:
                raise LimitExceeded(
                    f"{rel} is {size} bytes; files may be at most {limits.max_file_bytes}",
                    limit="max_file_bytes",
                    max=limits.max_file_bytes,
                    actual=size,
                    path=rel,
                )
            found.append(LocalFile(rel, Path(full), size))
        if len(found) > limits.max_files:
            raise LimitExceeded(
                f"{folder} has more than {limits.max_files} files",
                limit="max_files",
                max=limits.max_files,
            )
    return sorted(found, key=lambda f: f.path)
