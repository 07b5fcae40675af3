"""Workspaces: an app's draft sources as content-addressed blobs and immutable revisions."""

from atoll.workspace.blobs import BlobStore
from atoll.workspace.diff import FileChange, diff_trees
from atoll.workspace.ignore import IgnoreRules
from atoll.workspace.paths import check_path
from atoll.workspace.workspaces import Change, Workspaces

__all__ = [
    "BlobStore",
    "Change",
    "FileChange",
    "IgnoreRules",
    "Workspaces",
    "check_path",
    "diff_trees",
]
