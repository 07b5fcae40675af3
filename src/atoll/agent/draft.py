"""A turn's edits to an app's workspace, kept apart until the turn commits them as one
revision, and what the agent has read.

The agent may change a file only when it read the file in this conversation and the file
did not change since: ``Draft.check_writable`` is the one place that rule is kept, so every
tool that writes goes through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from atoll.errors import Conflict, NotFound
from atoll.services import ControlPlane
from atoll.store.records import App, Revision
from atoll.workspace import Change
from atoll.workspace.paths import check_path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ReadLedger:
    """What the agent has read in a conversation: path -> SHA-256 of the content it saw.

    It outlives a turn (a conversation is many turns); its own edits count as read, since
    the model wrote them.
    """

    seen: dict[str, str] = field(default_factory=dict)

    def saw(self, path: str, data: bytes) -> None:
        self.seen[path] = sha256(data)

    def forget(self, path: str) -> None:
        self.seen.pop(path, None)


@dataclass
class Draft:
    """The workspace as a turn sees it: its base revision plus the turn's own changes."""

    cp: ControlPlane
    app: App
    base: Revision | None
    ledger: ReadLedger = field(default_factory=ReadLedger)
    changes: dict[str, bytes | None] = field(default_factory=dict)  # None: deleted

    @classmethod
    def of_head(cls, cp: ControlPlane, app: App, ledger: ReadLedger | None = None) -> Draft:
        """A draft on the app's current head."""
        return cls(cp, app, cp.workspaces.head(app), ledger or ReadLedger())

    # -- reading ---------------------------------------------------------------------

    def paths(self) -> list[str]:
        """Every file's path, sorted."""
        base = set(self.base.tree) if self.base is not None else set()
        added = {p for p, data in self.changes.items() if data is not None}
        removed = {p for p, data in self.changes.items() if data is None}
        return sorted((base | added) - removed)

    def size(self, path: str) -> int:
        if path in self.changes:
            data = self.changes[path]
            if data is None:
                raise NotFound(f"file {path!r} not found", path=path)
            return len(data)
        if self.base is None or path not in self.base.tree:
            raise NotFound(f"file {path!r} not found", path=path)
        return self.base.tree[path][1]

    def exists(self, path: str) -> bool:
        if path in self.changes:
            return self.changes[path] is not None
        return self.base is not None and path in self.base.tree

    def content(self, path: str) -> bytes:
        """A file's content as the turn sees it (not recorded as read)."""
        path = self._path(path)
        if path in self.changes:
            data = self.changes[path]
            if data is None:
                raise NotFound(f"file {path!r} not found (deleted in this turn)", path=path)
            return data
        if self.base is None or path not in self.base.tree:
            raise NotFound(f"file {path!r} not found", path=path)
        return self.cp.workspaces.blobs(self.app).get(self.base.tree[path][0])

    def read(self, path: str) -> bytes:
        """A file's content, recorded as read."""
        data = self.content(path)
        self.ledger.saw(self._path(path), data)
        return data

    # -- changing ---------------------------------------------------------------------

    def check_writable(self, path: str) -> bytes | None:
        """The current content of ``path`` if the agent may change it (None for a new file):
        ``Conflict`` when it exists but was not read in this conversation, or changed since."""
        path = self._path(path)
        if not self.exists(path):
            return None
        data = self.content(path)
        seen = self.ledger.seen.get(path)
        if seen is None:
            raise Conflict(
                f"{path} exists and was not read in this conversation: read it first "
                "(read_file), then change it",
                path=path,
            )
        if seen != sha256(data):
            raise Conflict(
                f"{path} changed since it was read: read it again, then change it", path=path
            )
        return data

    def write(self, path: str, data: bytes) -> None:
        """Set a file's content (after ``check_writable``); the agent knows what it wrote."""
        path = self._path(path)
        self.cp.workspaces.check_file_size(len(data), path)
        self.changes[path] = data
        self.ledger.saw(path, data)

    def delete(self, path: str) -> None:
        path = self._path(path)
        if not self.exists(path):
            raise NotFound(f"file {path!r} not found", path=path)
        self.changes[path] = None
        self.ledger.forget(path)

    def changed_paths(self) -> list[str]:
        """The paths this turn changed (written or deleted) compared with its base."""
        out = []
        for path, data in sorted(self.changes.items()):
            before = self.base.tree.get(path) if self.base is not None else None
            if data is None:
                if before is not None:
                    out.append(path)
            elif before is None or before[0] != sha256(data):
                out.append(path)
        return out

    def commit(self, author: str, message: str) -> Revision | None:
        """The turn's changes as one new revision on its base (None when nothing changed);
        ``StaleRevision`` when someone else committed since the turn began."""
        paths = self.changed_paths()
        if not paths:
            return None
        changes: list[Change] = []
        for path in paths:
            data = self.changes[path]
            if data is None:
                changes.append(Change(path, None))
            else:
                changes.append(Change(path, self.cp.workspaces.put_blob(self.app, data)))
        base = self.base.id if self.base is not None else None
        revision, _new = self.cp.workspaces.commit(self.app, base, changes, author, message)
        return revision

    def _path(self, path: str) -> str:
        return check_path(path, self.cp.workspaces.limits.max_path_length)


def texts(paths: Iterable[str]) -> list[str]:
    """Paths that hold text the tools show (not images or archives), by extension."""
    binary = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".zip")
    return [p for p in paths if not p.lower().endswith(binary)]
