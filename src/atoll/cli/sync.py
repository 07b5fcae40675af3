"""``atoll push``, ``pull`` and ``link``: keep a local folder and an app's workspace in step.

Both directions merge per file against what the folder last synced (``atoll.cli.merge``):
changes to different files combine; a file changed on both sides is a conflict that keeps
both versions (``PATH`` and ``PATH.remote``). Nothing is overwritten silently: a push from
a folder linked to another app, or from an unlinked folder into an app that has content,
is refused unless forced.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from atoll.cli.client import ApiClient, ApiError
from atoll.cli.links import STATE_FILE, SyncState, atomic_write
from atoll.cli.merge import CONFLICT_SUFFIX, Plan, link_base, plan_merge
from atoll.errors import Conflict, InvalidPath
from atoll.workspace.folders import scan_folder
from atoll.workspace.paths import check_path

Progress = Callable[[str], None]

# What the folder is checked against before anything is sent (the server's defaults; the
# server checks its own limits again on upload).
LOCAL_LIMITS = SimpleNamespace(max_file_bytes=5 * 1024 * 1024, max_files=5000, max_path_length=1024)


class SyncConflict(Conflict):
    """Files changed on both sides; both versions are kept in the folder."""

    code = "sync_conflict"


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_url(app: str, path: str) -> str:
    return f"/apps/{app}/files/{quote(path, safe='/')}"


def _names(paths: Iterable[str], limit: int = 10) -> str:
    paths = sorted(paths)
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class _Folder:
    """The local side: safe paths inside one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder.resolve()

    def target(self, path: str) -> Path:
        """Where ``path`` lives locally; never outside the folder, never through a link."""
        check_path(path)  # never trust a server with where to write
        target = self.folder / path
        resolved = target.resolve()
        if self.root not in resolved.parents or target.is_symlink():
            raise InvalidPath(f"refusing to write outside {self.folder}: {path}", path=path)
        return target

    def shas(self, paths: Iterable[str]) -> dict[str, str]:
        """The SHA-256 of each of ``paths`` that is a regular file here."""
        found = {}
        for path in paths:
            target = self.target(path)
            if target.is_file():
                found[path] = _sha_file(target)
        return found


def _remote_tree(client: ApiClient, app: str, revision: str | None = None) -> dict[str, Any]:
    params = {"revision": revision} if revision else {}
    remote: dict[str, Any] = client.json("GET", f"/apps/{app}/files", params=params)
    for entry in remote["files"]:
        check_path(entry["path"])
    return remote


def _download(
    client: ApiClient, app: str, revision: str, path: str, sha: str, target: Path
) -> None:
    data = client.request("GET", _files_url(app, path), params={"revision": revision}).content
    if hashlib.sha256(data).hexdigest() != sha:
        raise Conflict(f"the workspace sent {path} with a different SHA-256 than it listed")
    atomic_write(str(target), data)


def _apply(
    client: ApiClient, app: str, revision: str, local: _Folder, plan: Plan, progress: Progress
) -> None:
    """Bring the workspace's side of ``plan`` into the folder."""
    for path, sha in plan.fetch.items():
        progress(f"fetching {path}")
        _download(client, app, revision, path, sha, local.target(path))
    for path in plan.delete:
        local.target(path).unlink(missing_ok=True)
    for path, theirs in plan.conflicts.items():
        if theirs is not None:
            progress(f"fetching {path} as {path}{CONFLICT_SUFFIX}")
            _download(client, app, revision, path, theirs, local.target(path + CONFLICT_SUFFIX))


def _conflict_error(plan: Plan, what: str) -> SyncConflict:
    kept = [p for p, sha in plan.conflicts.items() if sha is not None]
    gone = [p for p, sha in plan.conflicts.items() if sha is None]
    parts = [f"{what}: {len(plan.conflicts)} file(s) changed both here and in the workspace"]
    if kept:
        parts.append(
            f"{_names(kept)} (yours is untouched, the workspace's is next to it as "
            f"FILE{CONFLICT_SUFFIX})"
        )
    if gone:
        parts.append(f"{_names(gone)} (deleted in the workspace; yours is kept)")
    parts.append(f"merge them, delete the {CONFLICT_SUFFIX} files, then push")
    return SyncConflict("; ".join(parts), paths=sorted(plan.conflicts)[:50])


def _check_link(state: SyncState | None, app: str, folder: Path, force: bool) -> None:
    if state is not None and state.app != app and not force:
        raise Conflict(
            f"{folder} is linked to app {state.app!r}, not {app!r}; use --app {state.app}, "
            f"or --force to make it {app!r}'s (its files then replace {app!r}'s workspace)",
            linked=state.app,
        )


def _pending(state: SyncState | None, local: _Folder) -> list[str]:
    if state is None:
        return []
    return [p for p in state.conflicts if local.target(p + CONFLICT_SUFFIX).exists()]


def push(
    client: ApiClient,
    app: str,
    folder: Path,
    message: str,
    force: bool = False,
    progress: Progress = lambda _: None,
    remember: bool = True,
) -> dict[str, Any]:
    """Send ``folder`` as the app's new tree in one revision, after merging in whatever the
    workspace changed since the folder last synced; returns the commit result plus
    ``merged`` (the paths that came from the workspace). Unless ``remember``, the folder
    is left as it was (no link written: ``app create --from`` imports a template)."""
    local = _Folder(folder)
    state = SyncState.load(str(folder))
    _check_link(state, app, folder, force)
    if pending := _pending(state, local):
        raise SyncConflict(
            f"resolve the conflicts first: {_names(pending)} (delete each "
            f"FILE{CONFLICT_SUFFIX} once FILE holds what you want)",
            paths=pending[:50],
        )
    files = scan_folder(folder, LOCAL_LIMITS)
    shas = {f.path: _sha_file(f.source) for f in files}
    head = client.json("GET", f"/apps/{app}")["head_revision"]
    merged: list[str] = []
    linked = state is not None and state.app == app
    if head and not force and not linked:
        raise Conflict(
            f"{folder} is not linked to app {app!r}, which already has files; link it "
            f"first ('atoll link --app {app} {folder}': your files become edits of the "
            f"workspace's), or push with --force to replace the workspace with this folder",
            app=app,
        )
    if head and not force and state is not None and linked and state.revision != head:
        remote = _remote_tree(client, app, head)
        tree = {e["path"]: e["sha256"] for e in remote["files"]}
        plan = plan_merge(state.files, shas, tree)
        _apply(client, app, head, local, plan, progress)
        if plan.conflicts:
            SyncState(app, head, plan.base, sorted(plan.conflicts)).save(str(folder))
            raise _conflict_error(plan, "not pushed")
        merged = plan.remote_changes
        for path in plan.delete:
            shas.pop(path, None)
        shas.update(plan.fetch)
        files = scan_folder(folder, LOCAL_LIMITS)
    _upload(client, app, files, shas, progress)
    changes = [{"path": p, "sha256": s} for p, s in sorted(shas.items())]
    try:
        result: dict[str, Any] = client.json(
            "POST",
            f"/apps/{app}/revisions",
            json={"base": head, "message": message, "replace": True, "changes": changes},
        )
    except ApiError as exc:
        if exc.error_code == "stale_revision":
            raise Conflict(
                f"somebody changed {app!r}'s workspace during this push; push again to "
                "merge their change",
                app=app,
            ) from exc
        raise
    if remember:
        SyncState(app, result["revision"], shas).save(str(folder))
    return {**result, "merged": merged}


def _upload(
    client: ApiClient, app: str, files: list[Any], shas: dict[str, str], progress: Progress
) -> None:
    missing = client.json(
        "POST", f"/apps/{app}/blobs/missing", json={"sha256": sorted(set(shas.values()))}
    )["missing"]
    todo = set(missing)
    done = 0
    for f in files:
        sha = shas.get(f.path)
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


def pull(
    client: ApiClient,
    app: str,
    folder: Path,
    revision: str | None = None,
    force: bool = False,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Bring a revision of the app (the head by default) into ``folder``, keeping local
    edits; with ``force``, local edits to the workspace's files are overwritten."""
    if folder.exists() and not folder.is_dir():
        raise InvalidPath(f"{folder} is not a folder", path=str(folder))
    state = SyncState.load(str(folder)) if folder.is_dir() else None
    _check_link(state, app, folder, force)
    remote = _remote_tree(client, app, revision)
    tree = {e["path"]: e["sha256"] for e in remote["files"]}
    folder.mkdir(parents=True, exist_ok=True)
    local = _Folder(folder)
    base = state.files if state is not None and state.app == app else {}
    here = local.shas({*base, *tree})
    if force:
        plan = plan_merge(here, here, tree)  # as if nothing had changed here
        plan.delete = [p for p in plan.delete if p in base]
    else:
        plan = plan_merge(base, here, tree)
    _apply(client, app, remote["revision"], local, plan, progress)
    conflicts = sorted(plan.conflicts)
    SyncState(app, remote["revision"], plan.base, conflicts).save(str(folder))
    if conflicts:
        raise _conflict_error(plan, f"pulled r{remote['number']}, but")
    return {
        "revision": remote["revision"],
        "number": remote["number"],
        "files": len(tree),
        "written": len(plan.fetch),
        "removed": plan.delete,
        "kept": plan.local_changes,
    }


def link(client: ApiClient, app: str, folder: Path) -> dict[str, Any]:
    """Link ``folder`` to the app: its files count as edits of the workspace's head."""
    if not folder.is_dir():
        raise InvalidPath(f"{folder} is not a folder", path=str(folder))
    before = SyncState.load(str(folder))
    head = client.json("GET", f"/apps/{app}")["head_revision"]
    files = scan_folder(folder, LOCAL_LIMITS)
    shas = {f.path: _sha_file(f.source) for f in files}
    tree: dict[str, str] = {}
    number = None
    if head:
        remote = _remote_tree(client, app, head)
        tree = {e["path"]: e["sha256"] for e in remote["files"]}
        number = remote["number"]
    base = link_base(shas, tree)
    SyncState(app, head, base).save(str(folder))
    return {
        "app": app,
        "folder": os.path.abspath(folder),
        "revision": head,
        "number": number,
        "state_file": STATE_FILE,
        "previous": before.app if before is not None and before.app != app else None,
        "edited": sorted(p for p in base if shas[p] != base[p]),
        "to_pull": sorted(p for p in tree if p not in shas),
    }
