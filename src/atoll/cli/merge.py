"""A three-way merge of file trees, per file, against the last synced tree (no I/O).

A tree maps a path to its content's SHA-256. For each path, with ``base`` the version both
sides last agreed on, ``local`` the folder's and ``remote`` the workspace's:

- the same on both sides, or changed only here: nothing to fetch;
- changed only in the workspace: fetch it (or delete it, if it was deleted there);
- changed on both sides, differently: a conflict. Neither version is lost: the local file
  stays, the workspace's is fetched next to it as ``PATH.remote``, and the new base is the
  workspace's version, so that once the local file is resolved a push sends it.
"""

from __future__ import annotations

from collections.abc import Mapping

CONFLICT_SUFFIX = ".remote"


class Plan:
    """What bringing the workspace's changes into a folder takes."""

    __slots__ = ("fetch", "delete", "conflicts", "local_changes", "base")

    def __init__(self) -> None:
        self.fetch: dict[str, str] = {}  # path -> remote sha to write into the folder
        self.delete: list[str] = []  # local files the workspace deleted (unchanged here)
        self.conflicts: dict[str, str | None] = {}  # path -> remote sha (None: deleted there)
        self.local_changes: list[str] = []  # changed only here: a push sends them
        self.base: dict[str, str] = {}  # what the folder agrees on with the workspace after

    @property
    def remote_changes(self) -> list[str]:
        """The paths the workspace changed that come into the folder."""
        return sorted([*self.fetch, *self.delete])


def plan_merge(
    base: Mapping[str, str], local: Mapping[str, str], remote: Mapping[str, str]
) -> Plan:
    """How to combine the workspace's changes with the folder's, file by file."""
    plan = Plan()
    for path in sorted({*base, *local, *remote}):
        was, here, there = base.get(path), local.get(path), remote.get(path)
        if here == there:
            agreed = there
        elif here == was:  # only the workspace changed it
            if there is None:
                plan.delete.append(path)
            else:
                plan.fetch[path] = there
            agreed = there
        elif there == was:  # only the folder changed it
            plan.local_changes.append(path)
            agreed = was
        else:
            plan.conflicts[path] = there
            agreed = there
        if agreed is not None:
            plan.base[path] = agreed
    return plan


def link_base(local: Mapping[str, str], remote: Mapping[str, str]) -> dict[str, str]:
    """The base of a folder newly linked to a workspace: its files are edits of the
    workspace's; files only the workspace has are yet to come (never deleted by a push)."""
    return {path: sha for path, sha in remote.items() if path in local}
