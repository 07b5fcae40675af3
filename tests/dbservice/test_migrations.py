"""Migrations: naming, splitting, classification, planning (pure) and applying (real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atoll.dbservice import create_database, exec_sql
from atoll.dbservice.engine import split_statements
from atoll.dbservice.migrations import (
    AppliedMigration,
    Migration,
    MigrationError,
    apply_migrations,
    classify_migration,
    dry_run_migrations,
    list_applied_migrations,
    load_migrations,
    migration_problems,
    parse_migration_filename,
    plan_migrations,
)
from atoll.dbservice.snapshots import list_snapshots
from atoll.errors import BadInput

DB = "acme--shop--prod"


def test_parse_migration_filename() -> None:
    assert parse_migration_filename("0001_init.sql") == (1, "init")
    assert parse_migration_filename("migrations/0012_add_price.sql") == (12, "add_price")
    for bad in ("1_init.sql", "0001-init.sql", "0001_Init.sql", "0001_init.txt", "init.sql"):
        with pytest.raises(BadInput):
            parse_migration_filename(bad)


def test_load_migrations_orders_and_rejects_duplicates() -> None:
    loaded = load_migrations({"0002_b.sql": "SELECT 2", "0001_a.sql": "SELECT 1"})
    assert [m.filename for m in loaded] == ["0001_a.sql", "0002_b.sql"]
    with pytest.raises(BadInput):
        load_migrations({"0001_a.sql": "", "0001_b.sql": ""})


def test_split_statements_keeps_triggers_strings_and_comments_whole() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'y;' WHERE rowid = new.rowid;
        DELETE FROM t WHERE x IS NULL;
    END;
    /* trailing */
    """
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("CREATE TABLE t (x); CREATE INDEX i ON t (x); CREATE UNIQUE INDEX j ON t (x)", "additive"),
        ("ALTER TABLE t ADD COLUMN y TEXT; INSERT INTO t VALUES (1)", "additive"),
        (
            "CREATE VIEW v AS SELECT * FROM t; CREATE TRIGGER tr AFTER DELETE ON t BEGIN "
            "DELETE FROM u; END;",
            "additive",
        ),
        ("DROP TABLE t", "destructive"),
        ("ALTER TABLE t RENAME TO u", "destructive"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "destructive"),
        ("ALTER TABLE t DROP COLUMN a", "destructive"),
        ("CREATE TABLE n (x); UPDATE t SET x = 1", "destructive"),
        ("DELETE FROM t", "destructive"),
        ("INSERT OR REPLACE INTO t VALUES (1)", "destructive"),
        ("INSERT INTO t VALUES (1) ON CONFLICT (x) DO UPDATE SET y = 2", "destructive"),
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "additive"),
        ("ALTER TABLE address ADD COLUMN dropped_at TEXT", "additive"),
        ("DROP INDEX i", "destructive"),
    ],
)
def test_classify_migration(sql: str, kind: str) -> None:
    assert classify_migration(sql).kind == kind


def test_classification_names_its_reasons() -> None:
    result = classify_migration("CREATE TABLE a (x); DROP TABLE b; UPDATE c SET x = 1")
    assert result.reasons == ("DROP TABLE", "UPDATE C")


def test_migration_problems() -> None:
    assert migration_problems("CREATE TABLE t (x)") == []
    assert migration_problems("-- nothing") == ["the migration holds no SQL statement"]
    assert "BEGIN is not allowed" in migration_problems("BEGIN; CREATE TABLE t (x); COMMIT;")[0]


def applied(m: Migration) -> AppliedMigration:
    return AppliedMigration(m.version, m.name, m.checksum, "additive", "2026-01-01T00:00:00")


def test_plan_migrations() -> None:
    one, two, three = (Migration(i, f"m{i}", f"CREATE TABLE t{i} (x)") for i in (1, 2, 3))
    assert plan_migrations([], [one, two]) == [one, two]
    assert plan_migrations([applied(one)], [one, two, three]) == [two, three]
    edited = Migration(1, "m1", "CREATE TABLE t1 (x, y)")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        plan_migrations([applied(one)], [edited, two])
    with pytest.raises(MigrationError, match="missing"):
        plan_migrations([applied(one)], [two])
    with pytest.raises(MigrationError, match="comes before"):
        plan_migrations([applied(two)], [one, two])


def test_apply_records_snapshots_and_is_idempotent(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    migrations = load_migrations(
        {
            "0001_init.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);",
            "0002_seed.sql": "INSERT INTO items (name) VALUES ('a'); INSERT INTO items (name) "
            "VALUES ('b');",
        }
    )
    report = apply_migrations(tmp_path, DB, migrations)
    assert [(o.filename, o.ok, o.kind) for o in report.outcomes] == [
        ("0001_init.sql", True, "additive"),
        ("0002_seed.sql", True, "additive"),
    ]
    assert report.snapshot is not None and report.snapshot.reason == "before-migration-0001"
    assert exec_sql(tmp_path, DB, "SELECT count(*) FROM items").rows == [[2]]
    recorded = exec_sql(tmp_path, DB, "SELECT version, kind FROM _atoll_migrations").rows
    assert recorded == [[1, "additive"], [2, "additive"]]
    assert apply_migrations(tmp_path, DB, migrations).outcomes == []
    records = list_applied_migrations(tmp_path, DB)
    assert [(r.version, r.name, r.kind) for r in records] == [
        (1, "init", "additive"),
        (2, "seed", "additive"),
    ]
    assert records[0].checksum == migrations[0].checksum
    assert len(list_snapshots(tmp_path, DB)) == 1


def test_failed_migration_rolls_back_only_itself(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    migrations = load_migrations(
        {
            "0001_init.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY);",
            "0002_bad.sql": "CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);",
        }
    )
    with pytest.raises(MigrationError) as caught:
        apply_migrations(tmp_path, DB, migrations)
    assert "0002_bad.sql" in caught.value.message
    assert caught.value.detail["applied"] == ["0001_init.sql"]
    assert caught.value.detail["snapshot"]
    tables = exec_sql(tmp_path, DB, "SELECT name FROM sqlite_schema WHERE type = 'table'").rows
    assert ["half"] not in tables and ["items"] in tables


def test_editing_an_applied_migration_is_an_error(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    apply_migrations(tmp_path, DB, [Migration(1, "init", "CREATE TABLE t (x)")])
    with pytest.raises(MigrationError, match="changed"):
        apply_migrations(tmp_path, DB, [Migration(1, "init", "CREATE TABLE t (x, y)")])


def test_dry_run_reports_failures_and_leaves_the_database_alone(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    apply_migrations(tmp_path, DB, [Migration(1, "init", "CREATE TABLE t (x UNIQUE)")])
    exec_sql(tmp_path, DB, "INSERT INTO t VALUES (1)")
    pending = [
        Migration(1, "init", "CREATE TABLE t (x UNIQUE)"),
        Migration(2, "more", "ALTER TABLE t ADD COLUMN y"),
        Migration(3, "dup", "INSERT INTO t (x) VALUES (1)"),
    ]
    report = dry_run_migrations(tmp_path, DB, pending)
    assert not report.ok
    assert [(o.filename, o.ok) for o in report.outcomes] == [
        ("0002_more.sql", True),
        ("0003_dup.sql", False),
    ]
    assert "UNIQUE" in (report.outcomes[1].error or "")
    columns = exec_sql(tmp_path, DB, "SELECT name FROM pragma_table_info('t')").rows
    assert columns == [["x"]]
    assert dry_run_migrations(None, None, pending[:2]).ok


def test_table_rebuild_recipe_and_foreign_key_check(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    base = [
        Migration(
            1,
            "init",
            "CREATE TABLE a (id INTEGER PRIMARY KEY);"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id REFERENCES a (id));"
            "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1, 1);",
        ),
    ]
    rebuild = Migration(
        2,
        "rebuild_b",
        "PRAGMA foreign_keys = OFF;"
        "CREATE TABLE b_new (id INTEGER PRIMARY KEY, a_id REFERENCES a (id), note TEXT);"
        "INSERT INTO b_new (id, a_id) SELECT id, a_id FROM b;"
        "DROP TABLE b; ALTER TABLE b_new RENAME TO b;"
        "PRAGMA foreign_keys = ON;",
    )
    report = apply_migrations(tmp_path, DB, [*base, rebuild])
    assert [o.kind for o in report.outcomes] == ["additive", "destructive"]
    dangling = Migration(3, "dangling", "INSERT INTO b (id, a_id) VALUES (2, 99);")
    with pytest.raises(MigrationError, match="(?i)foreign key"):
        apply_migrations(tmp_path, DB, [*base, rebuild, dangling])
    assert exec_sql(tmp_path, DB, "SELECT count(*) FROM b").rows == [[1]]
