"""The workspace service: commit changes as immutable revisions, read files, history, diffs."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from atoll.config import Limits
from atoll.errors import BadRequest, LimitExceeded, NotFound
from atoll.store import apps as app_repo
from atoll.store.records import App, Revision
from atoll.store.tenants import now
from atoll.workspace.blobs import BlobStore, check_sha, sha256_hex
from atoll.workspace.diff import FileChange, Tree, diff_trees, unified_diff
from atoll.workspace.paths import check_path

log = logging.getLogger("atoll.workspace")

# Told of every new revision: the app (its head already moved) and the revision.
CommitListener = Callable[[App, Revision], None]


@dataclass(frozen=True)
class Change:
    """Set ``path`` to the blob ``sha256``, or delete it when ``sha256`` is None."""

    path: str
    sha256: str | None


def revision_id(
    app_id: int, parent: str | None, tree: Tree, author: str, message: str, at: str
) -> str:
    """The content address of a revision."""
    canonical = json.dumps(
        {
            "app": app_id,
            "parent": parent,
            "tree": sorted(tree.items()),
            "author": author,
            "message": message,
            "at": at,
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_tree_limits(tree: Tree, limits: Limits) -> None:
    """Raise ``LimitExceeded`` if ``tree`` has too many files or bytes."""
    if len(tree) > limits.max_files:
        raise LimitExceeded(
            f"a workspace may hold at most {limits.max_files} files (this one would hold "
            f"{len(tree)})",
            limit="max_files",
            max=limits.max_files,
            actual=len(tree),
        )
    total = sum(size for _, size in tree.values())
    if total > limits.max_workspace_bytes:
        raise LimitExceeded(
            f"a workspace may hold at most {limits.max_workspace_bytes} bytes (this one would "
            f"hold {total})",
            limit="max_workspace_bytes",
            max=limits.max_workspace_bytes,
            actual=total,
        )


def check_no_file_dir_clash(tree: Tree) -> None:
    """Raise ``BadRequest`` if a path is both a file and a folder of another file."""
    for path in tree:
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in tree:
                raise BadRequest(
                    f"{prefix!r} is a file, so {path!r} cannot be inside it",
                    path=path,
                    conflicts_with=prefix,
                )


# An upload that no revision names (a push that never committed, a commit that failed) is
# kept at least this long after it was last uploaded or asked about, then collected when
# the app needs the room.
UNNAMED_UPLOAD_SECONDS = 3600.0


class Workspaces:
    """Workspaces of all apps: revisions in the metadata store, blobs on disk per app.

    An app keeps at most ``limits.max_app_store_bytes`` of blobs: when an upload would go
    over, uploads no revision names are collected first, then the upload is refused.
    """

    def __init__(self, engine: sa.Engine, apps_root: Path, limits: Limits) -> None:
        self.engine = engine
        self.apps_root = apps_root
        self.limits = limits
        self._changes = itertools.count(1)
        # Bumped whenever any workspace head moves or an app goes away, so readers in this
        # process (the gateway) know when what they cached may be stale.
        self.generation = 0
        # Per app: blob writes, collection and the blob checks of a commit never interleave
        # (a commit naming an old upload must not lose it to a collection in between).
        self._locks: dict[int, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._store_bytes: dict[int, int] = {}  # per app, counted once, then kept up to date
        self._listeners: list[CommitListener] = []
        self._listeners_lock = threading.Lock()

    def subscribe(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener`` after every commit that makes a revision (on the committing
        thread, so it must be quick); returns the function that unsubscribes it."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _committed(self, app: App, revision: Revision) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(app, revision)
            except Exception:  # the revision is committed: the commit must still succeed
                log.exception("a commit listener failed on %s r%s", app.slug, revision.number)

    def _lock(self, app: App) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(app.id, threading.Lock())

    def _stored_bytes(self, app: App, store: BlobStore) -> int:
        total = self._store_bytes.get(app.id)
        if total is None:
            total = sum(size for _, size, _ in store.stored())
            self._store_bytes[app.id] = total
        return total

    def _collect(self, app: App, store: BlobStore) -> int:
        """Delete the app's uploads no revision names and nobody used for an hour; the
        bytes freed. Called holding the app's lock."""
        with self.engine.connect() as conn:
            named = app_repo.referenced_blobs(conn, app.id)
        cutoff = time.time() - UNNAMED_UPLOAD_SECONDS
        freed = 0
        for sha, size, mtime in list(store.stored()):
            if sha not in named and mtime < cutoff:
                store.remove(sha)
                freed += size
        self._store_bytes[app.id] = self._stored_bytes(app, store) - freed
        return freed

    def blobs(self, app: App) -> BlobStore:
        """The blob store of ``app``."""
        return BlobStore(self.apps_root / str(app.id) / "blobs")

    def check_file_size(self, size: int, path: str | None = None) -> None:
        """Raise ``LimitExceeded`` if a file of ``size`` bytes is too large."""
        if size > self.limits.max_file_bytes:
            raise LimitExceeded(
                f"files may be at most {self.limits.max_file_bytes} bytes",
                limit="max_file_bytes",
                max=self.limits.max_file_bytes,
                actual=size,
                **({"path": path} if path else {}),
            )

    def put_blob(self, app: App, data: bytes) -> str:
        """Store file content for a later commit; returns its SHA-256."""
        self.check_file_size(len(data))
        sha = sha256_hex(data)
        store = self.blobs(app)
        most = self.limits.max_app_store_bytes
        with self._lock(app):
            if store.has(sha):
                store.touch(sha)
                return sha
            if self._stored_bytes(app, store) + len(data) > most:
                self._collect(app, store)
            total = self._stored_bytes(app, store) + len(data)
            if total > most:
                raise LimitExceeded(
                    f"app {app.slug!r} may keep at most {most} bytes of file content (every "
                    f"revision and upload together); this upload would make it {total}",
                    limit="max_app_store_bytes",
                    max=most,
                    actual=total,
                )
            store.put(data, sha)
            self._store_bytes[app.id] = total
        return sha

    def missing_blobs(self, app: App, shas: Iterable[str]) -> list[str]:
        """Those of ``shas`` not yet stored for ``app`` (the others count as just used, so
        they are still there for the commit that names them)."""
        store = self.blobs(app)
        missing = []
        with self._lock(app):
            for sha in shas:
                if store.has(check_sha(sha)):
                    store.touch(sha)
                else:
                    missing.append(sha)
        return missing

    def head(self, app: App) -> Revision | None:
        """The app's current revision, or None before the first commit."""
        if app.head_revision is None:
            return None
        with self.engine.connect() as conn:
            return app_repo.get_revision(conn, app.id, app.head_revision)

    def revision(self, app: App, ref: str | None = None) -> Revision:
        """A revision by id, id prefix or ``rN``; the head when ``ref`` is None."""
        if ref is None:
            head = self.head(app)
            if head is None:
                raise NotFound(f"app {app.slug!r} has no revision yet", app=app.slug)
            return head
        with self.engine.connect() as conn:
            return app_repo.get_revision(conn, app.id, ref)

    def commit(
        self,
        app: App,
        base: str | None,
        changes: list[Change],
        author: str,
        message: str,
        replace: bool = False,
    ) -> tuple[Revision, bool]:
        """Apply ``changes`` on top of revision ``base`` as one new revision.

        ``base`` must be the current head (None only for an app without revisions), else
        ``StaleRevision``. With ``replace`` the new tree holds exactly the changed paths.
        Returns the revision and whether it is new (an unchanged tree creates nothing).
        """
        paths = [check_path(c.path, self.limits.max_path_length) for c in changes]
        if len(set(paths)) != len(paths):
            dupes = sorted({p for p in paths if paths.count(p) > 1})
            raise BadRequest("a path appears more than once in one commit", paths=dupes[:10])
        # The blob checks through the insert under the app's lock: a collection in between
        # could delete an old upload this commit names.
        with self._lock(app):
            base_rev = self.revision(app, base) if base is not None else None
            tree: Tree = {} if replace or base_rev is None else dict(base_rev.tree)
            store = self.blobs(app)
            for change in changes:
                if change.sha256 is None:
                    if change.path not in tree:
                        raise NotFound(f"file {change.path!r} not found", path=change.path)
                    del tree[change.path]
                    continue
                if not store.has(check_sha(change.sha256)):
                    raise BadRequest(
                        f"content of {change.path!r} was not uploaded",
                        path=change.path,
                        sha256=change.sha256,
                    )
                size = store.size(change.sha256)
                self.check_file_size(size, change.path)
                tree[change.path] = (change.sha256, size)
            check_no_file_dir_clash(tree)
            check_tree_limits(tree, self.limits)
            if base_rev is not None and tree == base_rev.tree and base_rev.id == app.head_revision:
                return base_rev, False
            at = now()
            parent = base_rev.id if base_rev else None
            with self.engine.begin() as conn:
                fresh = app_repo.get_app(conn, app.tenant_id, app.slug)
                rev = Revision(
                    id=revision_id(app.id, parent, tree, author, message, at.isoformat()),
                    app_id=app.id,
                    number=fresh.revision_count + 1,
                    parent_id=parent,
                    author=author,
                    message=message,
                    created_at=at,
                    tree=tree,
                    file_count=len(tree),
                    total_bytes=sum(size for _, size in tree.values()),
                )
                app_repo.insert_revision(conn, fresh, rev)
            self.generation = next(self._changes)
        moved = dataclasses.replace(fresh, head_revision=rev.id, revision_count=rev.number)
        self._committed(moved, rev)
        return rev, True

    def changed(self) -> None:
        """Something readers cache beside the heads moved (an environment's release)."""
        self.generation = next(self._changes)

    def read(self, app: App, path: str, ref: str | None = None) -> tuple[bytes, str, Revision]:
        """The content and SHA-256 of ``path`` at a revision (the head by default)."""
        check_path(path, self.limits.max_path_length)
        rev = self.revision(app, ref)
        entry = rev.tree.get(path)
        if entry is None:
            raise NotFound(f"file {path!r} not found", path=path, revision=rev.id)
        return self.blobs(app).get(entry[0]), entry[0], rev

    def history(self, app: App, limit: int = 50, before: int | None = None) -> list[Revision]:
        """Revisions newest first."""
        with self.engine.connect() as conn:
            return app_repo.list_revisions(conn, app.id, limit, before)

    def diff(
        self, app: App, old_ref: str, new_ref: str, with_text: bool = True
    ) -> tuple[Revision, Revision, list[tuple[FileChange, str | None]]]:
        """The changes from one revision to another, with unified diffs of text files."""
        old, new = self.revision(app, old_ref), self.revision(app, new_ref)
        store = self.blobs(app)
        out: list[tuple[FileChange, str | None]] = []
        for change in diff_trees(old.tree, new.tree):
            text = None
            if with_text:
                text = unified_diff(
                    change.path,
                    store.get(change.old_sha256) if change.old_sha256 else None,
                    store.get(change.new_sha256) if change.new_sha256 else None,
                )
            out.append((change, text))
        return old, new, out

    def destroy(self, app: App) -> None:
        """Remove the app's blobs from disk."""
        self.generation = next(self._changes)
        with self._lock(app):
            self.blobs(app).destroy()
            self._store_bytes.pop(app.id, None)
