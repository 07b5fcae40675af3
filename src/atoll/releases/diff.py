"""What differs between two releases of an app: files, migrations, Python dependencies and
``atoll.toml`` settings, read from the workspace revisions they were built from (a failed
release has one too).

``diff_releases`` is the I/O-free part: two revision trees and a way to read a blob in, one
plain ``ReleaseDiff`` out. ``release_diff`` finds the two releases of an app and their trees.
Everything here is tenant content, so sizes are capped: patches are made only on request,
only for files up to ``PATCH_INPUT_BYTES``, each cut at ``PATCH_BYTES`` and all of them
together at ``PATCHES_BYTES``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from atoll import dbservice
from atoll.builder.reports import MIGRATIONS_DIR
from atoll.services import ControlPlane
from atoll.store import releases as release_repo
from atoll.store.records import App, Release
from atoll.workspace.diff import FileChange, Tree, diff_trees, unified_diff

CONFIG_FILE = "atoll.toml"
DEPENDENCIES_KEY = ("python", "dependencies")  # shown as dependencies, not as config
PATCH_INPUT_BYTES = 64 * 1024  # larger files (either side) get no patch: diffing is costly
PATCH_BYTES = 64 * 1024  # one file's patch is cut after this many characters
PATCHES_BYTES = 1024 * 1024  # the patches of one diff together
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

Status = Literal["added", "removed", "changed"]
Reader = Callable[[str], bytes]  # a blob's content by its SHA-256


@dataclass(frozen=True)
class FileDifference:
    """A file added, removed or modified, with its sizes (None on the side without it)."""

    path: str
    status: Literal["added", "removed", "modified"]
    old_size: int | None
    new_size: int | None
    patch: str | None = None  # a unified diff, or why there is none; only when asked for


@dataclass(frozen=True)
class MigrationDifference:
    """A migration one release brings and the other does not (or brings changed)."""

    file: str
    status: Status
    kind: str  # additive or destructive: as the newer side has it (the older when removed)


@dataclass(frozen=True)
class DependencyDifference:
    """A ``[python] dependencies`` package added, removed or asked for differently."""

    name: str
    status: Status
    old: str | None  # its requirement(s) as listed, None when not listed
    new: str | None


@dataclass(frozen=True)
class ConfigDifference:
    """An ``atoll.toml`` setting that differs, by dotted key (``limits.memory_mb``)."""

    key: str
    old: Any  # a JSON value; None when not set
    new: Any


@dataclass(frozen=True)
class ReleaseDiff:
    """Everything that differs between two releases; ``notes`` say what could not be
    compared (an ``atoll.toml`` that does not parse, say)."""

    files: tuple[FileDifference, ...] = ()
    migrations: tuple[MigrationDifference, ...] = ()
    dependencies: tuple[DependencyDifference, ...] = ()
    config: tuple[ConfigDifference, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing differs."""
        return not (self.files or self.migrations or self.dependencies or self.config)


def release_diff(
    cp: ControlPlane, app: App, old: int, new: int, patch: bool = False
) -> tuple[Release, Release, ReleaseDiff]:
    """Releases ``v{old}`` and ``v{new}`` of ``app`` and what differs from one to the
    other; ``NotFound`` when the app has no such release."""
    with cp.engine.connect() as conn:
        first = release_repo.get_release(conn, app.id, old)
        second = release_repo.get_release(conn, app.id, new)
    workspaces = cp.workspaces
    a = workspaces.revision(app, first.revision)
    b = workspaces.revision(app, second.revision)
    names = (first.version, second.version)
    read = workspaces.blobs(app).get
    return first, second, diff_releases(a.tree, b.tree, read, patch=patch, names=names)


def diff_releases(
    old: Tree,
    new: Tree,
    read: Reader,
    *,
    patch: bool = False,
    names: tuple[str, str] = ("old", "new"),
) -> ReleaseDiff:
    """What differs from the release of tree ``old`` to that of tree ``new`` (``names``
    name them in notes); per-file unified diffs too when ``patch``."""
    notes: list[str] = []
    dependencies: tuple[DependencyDifference, ...] = ()
    config: tuple[ConfigDifference, ...] = ()
    configs = (
        [_config(old, read, names[0], notes), _config(new, read, names[1], notes)]
        if old.get(CONFIG_FILE) != new.get(CONFIG_FILE)
        else [None, None]  # the same file: nothing in it differs
    )
    if configs[0] is not None and configs[1] is not None:
        dependencies = diff_dependencies(configs[0], configs[1])
        config = diff_config(configs[0], configs[1])
    return ReleaseDiff(
        files=_files(old, new, read, patch),
        migrations=_migrations(old, new, read),
        dependencies=dependencies,
        config=config,
        notes=tuple(notes),
    )


# -- files ------------------------------------------------------------------------------


def _files(old: Tree, new: Tree, read: Reader, patch: bool) -> tuple[FileDifference, ...]:
    budget = PATCHES_BYTES
    found: list[FileDifference] = []
    for change in diff_trees(old, new):
        old_size = old[change.path][1] if change.old_sha256 else None
        new_size = new[change.path][1] if change.new_sha256 else None
        text: str | None = None
        if patch:
            if budget <= 0:
                text = f"not shown: the patches of this diff reached {PATCHES_BYTES} bytes"
            else:
                text = file_patch(change, old_size, new_size, read)
                budget -= len(text.encode())
        found.append(FileDifference(change.path, change.status, old_size, new_size, text))
    return tuple(found)


def file_patch(change: FileChange, old_size: int | None, new_size: int | None, read: Reader) -> str:
    """A unified diff of one file's two versions, cut at ``PATCH_BYTES``; for a file too
    large to diff or not text, a line saying so (``binary, N bytes``)."""
    size = new_size if new_size is not None else old_size or 0
    if max(old_size or 0, new_size or 0) > PATCH_INPUT_BYTES:
        return f"not shown: too large to diff, {size} bytes"
    before = read(change.old_sha256) if change.old_sha256 else None
    after = read(change.new_sha256) if change.new_sha256 else None
    text = None
    if not any(b"\0" in side for side in (before, after) if side is not None):
        text = unified_diff(change.path, before, after)
    if text is None:
        return f"binary, {size} bytes"
    if len(text) > PATCH_BYTES:
        return text[:PATCH_BYTES] + f"\n... (cut: the patch is {len(text)} characters)\n"
    return text


# -- migrations -------------------------------------------------------------------------


def _migration_files(tree: Tree) -> dict[str, str]:
    """``migrations/*.sql`` -> SHA-256: the files the build reads as migrations."""
    prefix = f"{MIGRATIONS_DIR}/"
    return {
        path: sha
        for path, (sha, _size) in tree.items()
        if path.startswith(prefix) and path.endswith(".sql") and "/" not in path[len(prefix) :]
    }


def _migrations(old: Tree, new: Tree, read: Reader) -> tuple[MigrationDifference, ...]:
    before, after = _migration_files(old), _migration_files(new)
    found: list[MigrationDifference] = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        status: Status = "added" if a is None else "removed" if b is None else "changed"
        sha = b if b is not None else a
        assert sha is not None
        sql = read(sha).decode("utf-8", errors="replace")
        found.append(MigrationDifference(path, status, dbservice.classify_migration(sql).kind))
    return tuple(found)


# -- atoll.toml: dependencies and config ------------------------------------------------


def _config(tree: Tree, read: Reader, name: str, notes: list[str]) -> dict[str, Any] | None:
    """The parsed ``atoll.toml`` of a tree (empty without one); None, with a note, when it
    does not parse."""
    entry = tree.get(CONFIG_FILE)
    if entry is None:
        return {}
    try:
        return tomllib.loads(read(entry[0]).decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        notes.append(
            f"{name}'s {CONFIG_FILE} does not parse ({str(exc)[:200]}): "
            "its dependencies and config are not compared"
        )
        return None


def requirements_by_name(config: Mapping[str, Any]) -> dict[str, str]:
    """``[python] dependencies`` by normalized package name -> the entries that name it,
    normalized (``Foo_Bar>=1`` is ``foo-bar>=1``; an entry that does not parse stands for
    itself)."""
    python = config.get(DEPENDENCIES_KEY[0])
    entries = python.get(DEPENDENCIES_KEY[1]) if isinstance(python, dict) else None
    found: dict[str, list[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, str):
            continue
        name: str
        try:
            requirement = Requirement(entry)
            name = requirement.name = canonicalize_name(requirement.name)
            line = str(requirement)
        except InvalidRequirement:
            name, line = entry.strip(), entry.strip()
        found.setdefault(name, []).append(line)
    return {name: ", ".join(sorted(lines)) for name, lines in found.items()}


def diff_dependencies(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[DependencyDifference, ...]:
    """The ``[python] dependencies`` packages added, removed or changed between two parsed
    ``atoll.toml`` files."""
    before, after = requirements_by_name(old), requirements_by_name(new)
    found: list[DependencyDifference] = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        status: Status = "added" if a is None else "removed" if b is None else "changed"
        found.append(DependencyDifference(name, status, a, b))
    return tuple(found)


def diff_config(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[ConfigDifference, ...]:
    """The settings of two parsed ``atoll.toml`` files that differ, by dotted key, without
    ``[python] dependencies`` (compared on their own)."""
    before, after = flatten_config(old), flatten_config(new)
    return tuple(
        ConfigDifference(key, before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if _as_json(before.get(key)) != _as_json(after.get(key))
    )


def flatten_config(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Dotted key -> JSON value for every setting below ``table`` (arrays are values;
    empty tables set nothing)."""
    found: dict[str, Any] = {}
    for key, value in table.items():
        path = (*prefix, key)
        if path == DEPENDENCIES_KEY:
            continue
        if isinstance(value, dict):
            found.update(flatten_config(value, path))
        else:
            found[dotted_key(path)] = _plain(value)
    return found


def dotted_key(path: tuple[str, ...]) -> str:
    """A TOML key path as written in TOML: ``limits.memory_mb``, ``a."b.c"``."""
    return ".".join(k if _BARE_KEY.fullmatch(k) else json.dumps(k) for k in path)


def _as_json(value: Any) -> str:
    """``value`` as JSON text: what compares settings (``true`` is not ``1``, as in TOML)."""
    return json.dumps(value, sort_keys=True)


def _plain(value: Any) -> Any:
    """A TOML value as a JSON value: dates and times as ISO text, inf and nan as text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
