"""``atoll push`` and ``atoll pull``: keep a local folder and an app's workspace in step.

A folder remembers what it last synced in ``.atoll-workspace.json`` (a dot-file, so it is
never pushed). Push refuses when the workspace moved since then, and pull refuses to
overwrite local edits, unless forced: neither side ever loses work silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from atoll.cli.client import ApiClient
from atoll.config import Limits
from atoll.errors import Conflict, InvalidPath
from atoll.workspace.folders import scan_folder
from atoll.workspace.paths import check_path

STATE_FILE = ".atoll-workspace.json"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SyncState:
    """What a folder last synced: the app, the revision, and each file's SHA-256 then."""

    app: str
    revision: str
    files: dict[str, str]

    @classmethod
    def load(cls, folder: Path, app: str) -> SyncState | None:
        """The folder's state for ``app``, or None if it never synced with it."""
        try:
            raw = json.loads((folder / STATE_FILE).read_text("utf-8"))
            state = cls(app=raw["app"], revision=raw["revision"], files=dict(raw["files"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return state if state.app == app else None

    def save(self, folder: Path) -> None:
        """Write the state next to the files."""
        data = {"app": self.app, "revision": self.revision, "files": self.files}
        _atomic_write(folder / STATE_FILE, json.dumps(data, indent=1).encode())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".atoll-tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; pulled sources are ordinary files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _files_url(app: str, path: str) -> str:
    return f"/apps/{app}/files/{quote(path, safe='/')}"


def push(
    client: ApiClient,
    app: str,
    folder: Path,
    message: str,
    force: bool = False,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Send ``folder`` as the app's new tree in one revision; returns the commit result."""
    files = scan_folder(folder, Limits())
    shas = {f.path: _sha(f.source) for f in files}
    head = client.json("GET", f"/apps/{app}")["head_revision"]
    state = SyncState.load(folder, app)
    if state and head and state.revision != head and not force:
        raise Conflict(
            f"the workspace of {app!r} moved since this folder last synced; run "
            "'atoll pull' first, or push with --force to overwrite it",
            synced=state.revision,
            head=head,
        )
    missing = client.json(
        "POST", f"/apps/{app}/blobs/missing", json={"sha256": sorted(set(shas.values()))}
    )["missing"]
    todo = set(missing)
    done = 0
    for f in files:
        sha = shas[f.path]
        if sha not in todo:
            continue
        todo.discard(sha)
        done += 1
        progress(f"uploading {done}/{len(missing)}: {f.path}")
        client.request(
            "POST",
            f"/apps/{app}/blobs",
            content=f.source.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
    changes = [{"path": p, "sha256": s} for p, s in shas.items()]
    result: dict[str, Any] = client.json(
        "POST",
        f"/apps/{app}/revisions",
        json={"base": head, "message": message, "replace": True, "changes": changes},
    )
    SyncState(app=app, revision=result["revision"], files=shas).save(folder)
    return result


def pull(
    client: ApiClient,
    app: str,
    folder: Path,
    revision: str | None = None,
    force: bool = False,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Make ``folder`` match a revision of the app (the head by default)."""
    params = {"revision": revision} if revision else {}
    remote = client.json("GET", f"/apps/{app}/files", params=params)
    tree = {f["path"]: f["sha256"] for f in remote["files"]}
    for path in tree:
        check_path(path)  # never trust a server with where to write
    folder.mkdir(parents=True, exist_ok=True)
    state = SyncState.load(folder, app)
    synced = state.files if state else {}
    root = folder.resolve()

    def local(path: str) -> Path:
        target = (folder / path).resolve()
        if root not in target.parents:
            raise InvalidPath(f"refusing to write outside {folder}: {path}", path=path)
        return target

    conflicts = []
    for path, sha in tree.items():
        target = local(path)
        if target.is_file() and not force:
            have = _sha(target)
            if have != sha and have != synced.get(path):
                conflicts.append(path)
    if conflicts:
        raise Conflict(
            f"local changes would be overwritten in {len(conflicts)} file(s); push them, "
            "move them away, or pull with --force",
            paths=conflicts[:20],
        )
    written = 0
    for path, sha in tree.items():
        target = local(path)
        if target.is_file() and _sha(target) == sha:
            continue
        written += 1
        progress(f"downloading {path}")
        data = client.request(
            "GET", _files_url(app, path), params={"revision": remote["revision"]}
        ).content
        _atomic_write(target, data)
    removed = []
    for path, sha in synced.items():
        target = local(path)
        if path not in tree and target.is_file() and (force or _sha(target) == sha):
            target.unlink()
            removed.append(path)
    SyncState(app=app, revision=remote["revision"], files=tree).save(folder)
    return {
        "revision": remote["revision"],
        "number": remote["number"],
        "files": len(tree),
        "written": written,
        "removed": removed,
    }
