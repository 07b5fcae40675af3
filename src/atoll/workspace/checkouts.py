"""Revisions written out as folders, for the builder and the runtime to read (never written)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from atoll.store.records import App, Revision
from atoll.workspace.workspaces import Workspaces


def checkout_dir(workspaces: Workspaces, app: App, revision_id: str) -> Path:
    """Where ``checkout`` keeps a revision's files (the folder may not exist)."""
    return workspaces.apps_root / str(app.id) / "checkouts" / revision_id


def checkout(workspaces: Workspaces, app: App, revision: Revision) -> Path:
    """The folder holding ``revision``'s files, written once and never changed after.

    Written into a temp folder and renamed into place, so a reader never sees a partial
    tree, and two concurrent callers both end up with the same complete folder.
    """
    target = checkout_dir(workspaces, app, revision.id)
    root = target.parent
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    try:
        blobs = workspaces.blobs(app)
        for path, (sha, _size) in revision.tree.items():
            dest = tmp / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(blobs.get(sha))
            os.chmod(dest, 0o644)
        # World-readable whatever the umask: sandboxes read the code as an unprivileged uid.
        for folder, _dirs, _files in os.walk(tmp):
            os.chmod(folder, 0o755)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # lost a race to an identical checkout: fine
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
