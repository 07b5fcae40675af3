"""Bring pages written for an older ``schemaVersion`` forward, one version at a time.

Each step is a pure function from a page of version ``n`` to version ``n + 1``; old pages
are migrated when they are built, so the renderer only ever sees the current version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from atoll.sdui.page import SCHEMA_VERSION

PageJson = dict[str, Any]
Migration = Callable[[PageJson], PageJson]


class PageVersionError(ValueError):
    """A page's schemaVersion cannot be migrated to the current one."""


def _from_0(page: PageJson) -> PageJson:
    """Version 0 is a draft written before versioning: same shape, no ``schemaVersion``."""
    return {**page, "schemaVersion": 1}


MIGRATIONS: Mapping[int, Migration] = {0: _from_0}


def page_version(page: Mapping[str, Any]) -> int:
    """The schemaVersion a page says it has (0 when it says nothing)."""
    version = page.get("schemaVersion", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise PageVersionError("schemaVersion must be a non-negative integer")
    return version


def migrate_page(
    page: PageJson,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> tuple[PageJson, list[int]]:
    """Migrate a page forward to ``target``; returns the page and the versions it passed."""
    version = page_version(page)
    if version > target:
        raise PageVersionError(
            f"schemaVersion {version} is newer than this Atoll understands ({target})"
        )
    passed: list[int] = []
    while version < target:
        step = migrations.get(version)
        if step is None:
            raise PageVersionError(f"no migration from schemaVersion {version}")
        page = step(page)
        passed.append(version)
        new_version = page_version(page)
        if new_version != version + 1:
            raise PageVersionError(f"migration from {version} produced version {new_version}")
        version = new_version
    return page, passed
