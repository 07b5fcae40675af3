"""Database identities: a random generation id per database, new each time it is created.

The id is kept beside the database file (``<env>.generation``), where tenant SQL cannot
reach it. Tokens carry it, so a token of a deleted database never opens the database
later created under the same name. Creating and deleting take one lock
(``databases/.lock``), so concurrent creators agree on one id and a deletion never leaves
an id behind for the next database of that name.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from atoll.errors import NotFound

from .names import DatabaseName, check_slug, databases_root, snapshots_root


def generation_path(data_dir: Path, name: DatabaseName) -> Path:
    """Where the generation id of ``name`` is kept."""
    return name.path(data_dir).with_suffix(".generation")


def read_generation(path: Path) -> str | None:
    """The id stored at ``path``; None if there is none."""
    try:
        return path.read_text("ascii").strip() or None
    except FileNotFoundError:
        return None


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    root = databases_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    # Outside every app folder, so deleting an app's folder never deletes a held lock.
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _new_generation(path: Path) -> str:
    value = secrets.token_urlsafe(16)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    tmp.write_text(value, "ascii")
    os.replace(tmp, path)  # readers see the old id or the new one, never a partial file
    return value


def create_with_generation(
    data_dir: Path, name: DatabaseName, create: Callable[[Path], None]
) -> None:
    """Run ``create(path)`` if the database file is missing, under a fresh generation id."""
    path = name.path(data_dir)
    marker = generation_path(data_dir, name)
    if path.exists() and read_generation(marker) is not None:
        return
    with _locked(data_dir):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _new_generation(marker)  # a new database never inherits a leftover id
            create(path)
        elif read_generation(marker) is None:  # created before databases had ids
            _new_generation(marker)


def database_generation(data_dir: Path, database: DatabaseName | str) -> str:
    """The generation id of an existing database; NotFound if there is no such database."""
    name = database if isinstance(database, DatabaseName) else DatabaseName.parse(database)
    path = name.path(data_dir)
    marker = generation_path(data_dir, name)
    value = read_generation(marker)
    if value is not None and path.exists():
        return value
    with _locked(data_dir):
        if not path.exists():
            raise NotFound(f"database {str(name)!r} does not exist", database=str(name))
        return read_generation(marker) or _new_generation(marker)


def delete_app_files(data_dir: Path, tenant: str, app: str) -> None:
    """Delete an app's databases with their ids, and its snapshots."""
    check_slug("tenant", tenant)
    check_slug("app", app)
    folder = databases_root(data_dir) / tenant / app
    with _locked(data_dir):
        # Ids first: should the deletion stop half-way, a database file left without its id
        # gets a new one, and no token of the deleted database opens it.
        for marker in folder.glob("*.generation"):
            marker.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(snapshots_root(data_dir) / tenant / app, ignore_errors=True)


def delete_database_files(data_dir: Path, name: DatabaseName) -> None:
    """Delete one database (its file and SQLite's side files) with its id, and its
    snapshots; the app's other databases stay."""
    path = name.path(data_dir)
    with _locked(data_dir):
        # The id first, as for a whole app: a file left behind never keeps the old id.
        generation_path(data_dir, name).unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(name.snapshot_dir(data_dir), ignore_errors=True)
