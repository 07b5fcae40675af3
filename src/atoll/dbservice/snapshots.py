"""Snapshots: online copies of a database (SQLite backup API), listed and restored atomically.

A snapshot is one file ``<data_dir>/snapshots/<tenant>/<app>/<env>/<id>.sqlite``; its id
is ``<UTC time>-<reason>``, so listing needs no index. Restoring copies the snapshot into
the live database with the backup API inside one write transaction: readers see the old
or the new content, never a mix, and open connections (the service's) stay valid.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import apsw

from atoll.errors import BadInput, Conflict, NotFound

from .names import DatabaseName

_ID = re.compile(r"^(\d{8}T\d{6}\d{6}Z)-([a-z0-9][a-z0-9-]{0,62})$")
#: Snapshots kept per database unless told otherwise (each is a whole copy of it).
KEEP_SNAPSHOTS = 20
_REASON_CHARS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of one database."""

    id: str
    database: str
    reason: str
    created_at: datetime
    size_bytes: int
    path: Path


def snapshot_id(created_at: datetime, reason: str) -> str:
    """The id of a snapshot taken at ``created_at`` for ``reason`` (sorts by time)."""
    slug = _REASON_CHARS.sub("-", reason.lower()).strip("-")[:63] or "manual"
    return f"{created_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{slug}"


def parse_snapshot_id(value: str) -> tuple[datetime, str]:
    """The time and reason in a snapshot id; BadInput if it is not one."""
    match = _ID.match(value)
    if not match:
        raise BadInput(f"invalid snapshot id {value!r}", snapshot=value)
    created = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    return created, match.group(2)


def _name(database: DatabaseName | str) -> DatabaseName:
    return database if isinstance(database, DatabaseName) else DatabaseName.parse(database)


def _info(database: DatabaseName, path: Path) -> SnapshotInfo:
    created, reason = parse_snapshot_id(path.stem)
    return SnapshotInfo(
        id=path.stem,
        database=str(database),
        reason=reason,
        created_at=created,
        size_bytes=path.stat().st_size,
        path=path,
    )


def _copy(source: apsw.Connection, dest: apsw.Connection) -> None:
    with dest.backup("main", source, "main") as backup:
        backup.step(-1)


def take_snapshot(
    data_dir: Path,
    database: DatabaseName | str,
    reason: str = "manual",
    *,
    keep: int = KEEP_SNAPSHOTS,
    protect: frozenset[str] = frozenset(),
) -> SnapshotInfo:
    """Copy the live database into a new snapshot (online; writers may continue).

    Then only the newest ``keep`` snapshots (the new one and those in ``protect`` among
    them) are kept: each is a whole copy, so unbounded snapshots would get around the
    database's size quota.
    """
    name = _name(database)
    live_path = name.path(data_dir)
    if not live_path.exists():
        raise NotFound(f"database {str(name)!r} does not exist", database=str(name))
    folder = name.snapshot_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    ident = snapshot_id(datetime.now(UTC), reason)
    final = folder / f"{ident}.sqlite"
    tmp = folder / f".{ident}.partial"
    source = apsw.Connection(str(live_path), flags=apsw.SQLITE_OPEN_READONLY)
    source.set_busy_timeout(5000)
    try:
        dest = apsw.Connection(str(tmp))
        try:
            _copy(source, dest)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)  # a snapshot appears whole or not at all
    except apsw.Error as exc:
        tmp.unlink(missing_ok=True)
        raise Conflict(f"snapshot failed: {exc}", database=str(name)) from exc
    finally:
        source.close()
    _keep_newest(data_dir, name, keep, protect | {ident})
    return _info(name, final)


def _keep_newest(data_dir: Path, name: DatabaseName, keep: int, protect: frozenset[str]) -> None:
    kept = set(protect)
    for snapshot in list_snapshots(data_dir, name):
        if snapshot.id in kept:
            continue
        if len(kept) < keep:
            kept.add(snapshot.id)
        else:
            snapshot.path.unlink(missing_ok=True)


def list_snapshots(data_dir: Path, database: DatabaseName | str) -> list[SnapshotInfo]:
    """The database's snapshots, newest first."""
    name = _name(database)
    folder = name.snapshot_dir(data_dir)
    if not folder.is_dir():
        return []
    found = [_info(name, p) for p in folder.glob("*.sqlite") if _ID.match(p.stem)]
    return sorted(found, key=lambda s: s.id, reverse=True)


def get_snapshot(data_dir: Path, database: DatabaseName | str, ident: str) -> SnapshotInfo:
    """One snapshot by id; NotFound if there is none."""
    name = _name(database)
    parse_snapshot_id(ident)
    path = name.snapshot_dir(data_dir) / f"{ident}.sqlite"
    if not path.is_file():
        raise NotFound(f"snapshot {ident!r} does not exist", snapshot=ident)
    return _info(name, path)


def restore_snapshot(
    data_dir: Path,
    database: DatabaseName | str,
    ident: str,
    *,
    keep_current: bool = True,
    keep: int = KEEP_SNAPSHOTS,
) -> SnapshotInfo | None:
    """Replace the live content with a snapshot, atomically; the safety snapshot taken first."""
    name = _name(database)
    snapshot = get_snapshot(data_dir, name, ident)
    safety = None
    if keep_current:
        protect = frozenset({ident})
        safety = take_snapshot(data_dir, name, "before-restore", keep=keep, protect=protect)
    source = apsw.Connection(str(snapshot.path), flags=apsw.SQLITE_OPEN_READONLY)
    live = apsw.Connection(str(name.path(data_dir)))
    live.set_busy_timeout(5000)
    try:
        _copy(source, live)
    except apsw.Error as exc:
        raise Conflict(
            f"restore failed (is a write transaction open?): {exc}", database=str(name)
        ) from exc
    finally:
        live.close()
        source.close()
    return safety


def rows_since(data_dir: Path, database: DatabaseName | str, ident: str) -> dict[str, int]:
    """Per table, the rows the live database holds that the snapshot does not: written or
    changed since it was taken, so lost if it were restored. Rows are compared on the
    columns both versions of a table share; a table the snapshot lacks counts whole.
    Tables without a lost row are left out.
    """
    name = _name(database)
    snapshot = get_snapshot(data_dir, name, ident)
    conn = apsw.Connection(str(name.path(data_dir)), flags=apsw.SQLITE_OPEN_READONLY)
    conn.set_busy_timeout(5000)
    try:
        conn.execute("ATTACH DATABASE ? AS snap", (str(snapshot.path),))
        then = {t: _columns(conn, "snap", t) for t in _tables(conn, "snap")}
        lost = {}
        for table in _tables(conn, "main"):
            shared = [c for c in _columns(conn, "main", table) if c in then.get(table, ())]
            quoted = _quote(table)
            if shared:
                cols = ", ".join(_quote(c) for c in shared)
                sql = (
                    f"SELECT count(*) FROM (SELECT {cols} FROM main.{quoted} "
                    f"EXCEPT SELECT {cols} FROM snap.{quoted})"
                )
            else:
                sql = f"SELECT count(*) FROM main.{quoted}"
            count = conn.execute(sql).fetchall()[0][0]
            if count:
                lost[table] = int(count)
        return lost
    except apsw.Error as exc:
        raise Conflict(f"could not compare with snapshot {ident}: {exc}", snapshot=ident) from exc
    finally:
        conn.close()


def _tables(conn: apsw.Connection, schema: str) -> list[str]:
    """The app's own ordinary tables in ``schema`` (not SQLite's, not the platform's)."""
    rows = conn.execute(
        f"SELECT name FROM {schema}.sqlite_schema WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_atoll\\_%' ESCAPE '\\' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _columns(conn: apsw.Connection, schema: str, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA {schema}.table_info({_quote(table)})")]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def delete_snapshot(data_dir: Path, database: DatabaseName | str, ident: str) -> None:
    """Delete one snapshot; NotFound if there is none."""
    get_snapshot(data_dir, database, ident).path.unlink()


def prune_snapshots(
    data_dir: Path,
    database: DatabaseName | str,
    *,
    keep: int,
    keep_ids: frozenset[str] = frozenset(),
) -> list[str]:
    """Delete all but the newest ``keep`` snapshots (and those in ``keep_ids``); their ids."""
    if keep < 0:
        raise BadInput("keep must be 0 or more", keep=keep)
    doomed = [s for s in list_snapshots(data_dir, database)[keep:] if s.id not in keep_ids]
    for snapshot in doomed:
        snapshot.path.unlink(missing_ok=True)
    return [s.id for s in doomed]
