"""What a rollback asks of a database: which migration blocks older code, which snapshot
undoes it, and which rows restoring that snapshot would lose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atoll.dbservice import (
    AppliedMigration,
    SnapshotInfo,
    apply_migrations,
    blocking_migration,
    create_database,
    exec_sql,
    list_applied_migrations,
    list_snapshots,
    load_migrations,
    rows_since,
    snapshot_before,
)
from atoll.dbservice.snapshots import take_snapshot
from atoll.errors import NotFound

DB = "acme--shop--prod"


def applied(*kinds: str) -> list[AppliedMigration]:
    return [
        AppliedMigration(i, f"m{i}", "x", kind, "2026-01-01") for i, kind in enumerate(kinds, 1)
    ]


def test_only_a_destructive_migration_the_code_never_saw_blocks_it() -> None:
    history = applied("additive", "additive", "destructive", "destructive")
    assert blocking_migration(history, {1, 2, 3, 4}) is None  # it knows them all
    assert blocking_migration(history[:2], {1}) is None  # additive ones never block
    found = blocking_migration(history, {1})
    assert found is not None and found.filename == "0003_m3.sql"  # the first of the two
    # A kind the platform does not know is treated as destructive.
    assert (
        blocking_migration(applied("additive", "rename?"), {1}) == applied("additive", "rename?")[1]
    )


def _snap(minutes: int, reason: str) -> SnapshotInfo:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return SnapshotInfo(f"{minutes}-{reason}", DB, reason, at, 1, Path("/x"))


def test_the_snapshot_to_restore_is_the_newest_taken_in_the_gap() -> None:
    snaps = [
        _snap(1, "before-migration-0001"),
        _snap(2, "before-migration-0003"),
        _snap(3, "manual"),
        _snap(4, "before-migration-0002"),
        _snap(5, "before-restore"),
        _snap(6, "before-migration-0005"),
    ]
    # Code knows 1-2, migration 3 blocks: taken before 3 (or 3 with others) and after 2.
    assert snapshot_before(snaps, after=2, upto=3) == snaps[1]
    # Code knows 1, 4 blocks: the newest taken before one of 2-4.
    assert snapshot_before(snaps, after=1, upto=4) == snaps[3]
    assert snapshot_before(snaps, after=5, upto=6) is None  # none in the gap


def test_rows_since_counts_what_a_restore_would_lose(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    exec_sql(tmp_path, DB, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT)")
    exec_sql(tmp_path, DB, 'CREATE TABLE "odd ""name""" (v)')
    exec_sql(tmp_path, DB, "INSERT INTO items VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', 'z')")
    exec_sql(tmp_path, DB, 'INSERT INTO "odd ""name""" VALUES (1)')
    snap = take_snapshot(tmp_path, DB, "before-migration-0002")
    # A destructive change, then writes: one new row, one changed, one deleted (comes back).
    exec_sql(tmp_path, DB, "ALTER TABLE items DROP COLUMN note")
    exec_sql(tmp_path, DB, "INSERT INTO items VALUES (4, 'd')")
    exec_sql(tmp_path, DB, "UPDATE items SET name = 'B' WHERE id = 2")
    exec_sql(tmp_path, DB, "DELETE FROM items WHERE id = 3")
    exec_sql(tmp_path, DB, "CREATE TABLE later (v)")
    exec_sql(tmp_path, DB, "INSERT INTO later VALUES (1), (2)")
    assert rows_since(tmp_path, DB, snap.id) == {"items": 2, "later": 2}
    with pytest.raises(NotFound):
        rows_since(tmp_path, DB, "20200101T000000000000Z-nope")


def test_migrating_takes_the_snapshot_a_rollback_restores(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    first = load_migrations({"migrations/0001_init.sql": "CREATE TABLE t (a, b);"})
    apply_migrations(tmp_path, DB, first)
    both = first + load_migrations({"migrations/0002_drop_b.sql": "ALTER TABLE t DROP COLUMN b;"})
    apply_migrations(tmp_path, DB, both)
    history = list_applied_migrations(tmp_path, DB)
    assert [(m.filename, m.kind) for m in history] == [
        ("0001_init.sql", "additive"),
        ("0002_drop_b.sql", "destructive"),
    ]
    blocking = blocking_migration(history, {1})
    assert blocking is not None
    snap = snapshot_before(list_snapshots(tmp_path, DB), 1, blocking.version)
    assert snap is not None and snap.reason == "before-migration-0002"
