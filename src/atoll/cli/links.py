"""Folders linked to an app: what a folder last synced, and which app a command means.

A folder remembers its app and what it last synced in ``.atoll-workspace.json`` (a
dot-file, so it is never pushed). Inside such a folder, or one holding an ``atoll.toml``
with a ``name``, ``--app`` defaults to that app.
"""

from __future__ import annotations

import json
import os
import tempfile

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = ".atoll-workspace.json"
MANIFEST = "atoll.toml"


class SyncState:
    """A folder's link: the app, the revision last synced, each file's SHA-256 then, and
    the files left in conflict by the last merge."""

    __slots__ = ("app", "revision", "files", "conflicts")

    def __init__(
        self,
        app: str,
        revision: str | None,
        files: dict[str, str],
        conflicts: list[str] | None = None,
    ) -> None:
        self.app = app
        self.revision = revision
        self.files = files
        self.conflicts = conflicts or []

    @classmethod
    def load(cls, folder: str) -> SyncState | None:
        """The folder's state, or None if it is not linked (or the file is unreadable)."""
        try:
            with open(os.path.join(folder, STATE_FILE), encoding="utf-8") as f:
                raw: Any = json.load(f)
            files = raw["files"]
            state = cls(
                app=str(raw["app"]),
                revision=raw["revision"] if isinstance(raw["revision"], str) else None,
                files={str(k): str(v) for k, v in files.items()},
                conflicts=[str(p) for p in raw.get("conflicts") or []],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return state

    def save(self, folder: str) -> None:
        """Write the state next to the files (atomically)."""
        data = {
            "app": self.app,
            "revision": self.revision,
            "files": self.files,
            "conflicts": self.conflicts,
        }
        atomic_write(os.path.join(folder, STATE_FILE), json.dumps(data, indent=1).encode())


def atomic_write(target: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``target`` with ``data`` so that a crash leaves the old file or the new one."""
    folder = os.path.dirname(target) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".atoll-tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)  # mkstemp makes 0600; pulled sources are ordinary files
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def manifest_name(folder: str) -> str | None:
    """The ``name`` in a folder's ``atoll.toml``, if it has one."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        return None
    import tomllib  # only here: most commands never read a manifest

    try:
        with open(path, "rb") as f:
            name = tomllib.load(f).get("name")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) and name else None


def folder_app(folder: str) -> str | None:
    """The app a folder is linked to, or names in its ``atoll.toml``."""
    state = SyncState.load(folder)
    return state.app if state else manifest_name(folder)


def find_linked(start: str) -> tuple[str, str] | None:
    """The nearest folder at or above ``start`` linked to an app: ``(folder, app)``."""
    current = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(current, STATE_FILE)) or os.path.isfile(
            os.path.join(current, MANIFEST)
        ):
            app = folder_app(current)
            if app:
                return current, app
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
