"""Workspaces: an app's draft sources as content-addressed blobs and immutable revisions.

The names below load on first use, so that the CLI can read a local folder the way a push
sends it (``atoll.workspace.folders``) without loading the metadata store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atoll.workspace.blobs import BlobStore
    from atoll.workspace.diff import FileChange, diff_trees
    from atoll.workspace.ignore import IgnoreRules
    from atoll.workspace.paths import check_path
    from atoll.workspace.workspaces import Change, Workspaces

_HOMES = {
    "BlobStore": "atoll.workspace.blobs",
    "Change": "atoll.workspace.workspaces",
    "FileChange": "atoll.workspace.diff",
    "IgnoreRules": "atoll.workspace.ignore",
    "Workspaces": "atoll.workspace.workspaces",
    "check_path": "atoll.workspace.paths",
    "diff_trees": "atoll.workspace.diff",
}

__all__ = [
    "BlobStore",
    "Change",
    "FileChange",
    "IgnoreRules",
    "Workspaces",
    "check_path",
    "diff_trees",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'atoll.workspace' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
