"""Which local files a push leaves out: defaults plus ``.atollignore`` (gitignore-like)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_IGNORED_NAMES = frozenset({"node_modules", ".venv", "venv", "__pycache__"})
IGNORE_FILE = ".atollignore"


@dataclass(frozen=True)
class IgnoreRules:
    """Patterns deciding which relative paths a push skips; dot-files are always skipped."""

    patterns: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        """Rules from the text of an ignore file: one glob per line, ``#`` comments."""
        lines = (line.strip() for line in text.splitlines())
        return cls(tuple(line for line in lines if line and not line.startswith("#")))

    @classmethod
    def for_folder(cls, folder: Path) -> IgnoreRules:
        """The rules for a local folder: defaults plus its ``.atollignore`` if present."""
        path = folder / IGNORE_FILE
        return cls.parse(path.read_text("utf-8")) if path.is_file() else cls()

    def is_ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether ``relpath`` (``/``-separated, relative to the folder) is left out."""
        parts = relpath.split("/")
        for part in parts:
            if part.startswith(".") or part in DEFAULT_IGNORED_NAMES:
                return True
        for pattern in self.patterns:
            dir_only = pattern.endswith("/")
            pat = pattern.rstrip("/")
            if dir_only and not is_dir:
                # A "dir/" pattern matches the files below such a directory via a parent.
                if any(fnmatch.fnmatchcase(p, pat) for p in parts[:-1]):
                    return True
                continue
            if "/" in pat.lstrip("/"):
                if fnmatch.fnmatchcase(relpath, pat.lstrip("/")):
                    return True
            elif any(fnmatch.fnmatchcase(p, pat) for p in parts):
                return True
        return False
