"""Each database has a size quota that tenant SQL cannot lift or get around."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atoll.dbservice import (
    DatabaseFull,
    EngineLimits,
    MigrationError,
    ServiceOptions,
    apply_migrations,
    create_database,
    exec_sql,
    load_migrations,
)

from .conftest import DATABASE, OTHER_DATABASE, Service, stmt

MiB = 1024 * 1024
QUOTA = 2 * MiB
OPTIONS = ServiceOptions(limits=EngineLimits(max_database_bytes=QUOTA, statement_timeout=5.0))
FILL = "INSERT INTO t VALUES (randomblob(100000))"
BIG_FILL = (  # 10 MB in one statement
    "INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 100) SELECT randomblob(100000) FROM n"
)


def _error(result: dict[str, Any]) -> dict[str, Any]:
    assert result["type"] == "error", result
    return result["error"]  # type: ignore[no-any-return]


def _fill(service: Service, token: str | None = None) -> dict[str, Any]:
    """Insert 100 kB rows until the database refuses one; that refusal."""
    service.execute("CREATE TABLE IF NOT EXISTS t (b BLOB)", token=token)
    for _ in range(QUOTA // 100_000 + 5):
        result = service.execute(FILL, token=token)
        if result["type"] == "error":
            return result["error"]  # type: ignore[no-any-return]
    raise AssertionError("the quota was never reached")


def test_the_quota_is_a_clear_error_and_deletes_make_room(
    start_service: Callable[..., Service],
) -> None:
    service = start_service(OPTIONS)
    error = _fill(service)
    assert error["code"] == "SQLITE_FULL"
    assert "quota of 2 MB" in error["message"], error
    assert (service.data_dir / "databases/acme/todo/dev.sqlite").stat().st_size <= QUOTA
    # the database stays readable, and deleting rows makes room again
    assert service.execute("SELECT count(*) FROM t")["type"] == "ok"
    deleted = service.execute("DELETE FROM t WHERE rowid % 2 = 0")
    assert deleted["type"] == "ok", deleted
    assert service.execute(FILL)["type"] == "ok"
    # the quota is per database: the other environment still has all of its own
    other = service.token(database=OTHER_DATABASE)
    assert "quota of 2 MB" in _fill(service, other)["message"]


def test_the_quota_on_one_statement_and_on_v1(start_service: Callable[..., Service]) -> None:
    service = start_service(OPTIONS)
    service.execute("CREATE TABLE t (b BLOB)")
    response = service.post("/v1/execute", {"stmt": {"sql": BIG_FILL}})
    assert response.status_code == 507, response.text
    assert response.json()["code"] == "SQLITE_FULL"
    assert service.execute("SELECT count(*) FROM t")["response"]["result"]["rows"] == [
        [{"type": "integer", "value": "0"}]
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA max_page_count = 4294967294",
        "PRAGMA main.max_page_count = 4294967294",
        "SELECT * FROM pragma_max_page_count(4294967294)",
        "PRAGMA page_size = 65536",
        "PRAGMA journal_mode = MEMORY",
        "PRAGMA temp_store = MEMORY",
        "PRAGMA temp_store_directory = '/tmp'",
        "PRAGMA cache_size = -2000000",
        "PRAGMA mmap_size = 1000000000",
        "ATTACH DATABASE ':memory:' AS m",
        "ATTACH DATABASE '' AS m",
        "ATTACH DATABASE 'file:spill?mode=memory&cache=shared' AS m",
        "ATTACH DATABASE '../../acme/todo/prod.sqlite' AS m",
        "VACUUM INTO '/tmp/atoll-quota-escape.sqlite'",
        "VACUUM INTO 'file:escape?mode=memory'",
        "CREATE TEMP TABLE spill (b BLOB)",
        "CREATE TABLE temp.spill (b BLOB)",
        'CREATE TABLE "temp".spill (b BLOB)',
        "CREATE TABLE TEMP.spill (b BLOB)",
        "CREATE VIEW temp.v AS SELECT 1",
        "CREATE TRIGGER temp.tr AFTER INSERT ON main.t BEGIN SELECT 1; END",
        "CREATE VIRTUAL TABLE temp.f USING fts5(b)",
        "CREATE TABLE sqlite_temp_master (b BLOB)",
    ],
)
def test_tenant_sql_cannot_lift_or_leave_the_quota(
    start_service: Callable[..., Service], sql: str
) -> None:
    service = start_service(OPTIONS)
    service.execute("CREATE TABLE t (b BLOB)")
    error = _error(service.execute(sql))
    assert error["code"] in ("SQLITE_AUTH", "SQLITE_ERROR"), error
    assert not Path("/tmp/atoll-quota-escape.sqlite").exists()
    assert "quota of 2 MB" in _fill(service)["message"]


def test_vacuum_and_a_reopened_database_keep_the_quota(
    start_service: Callable[..., Service],
) -> None:
    service = start_service(ServiceOptions(limits=OPTIONS.limits, max_open_databases=1))
    pages = service.execute("PRAGMA max_page_count")["response"]["result"]["rows"]
    assert pages == [[{"type": "integer", "value": str(QUOTA // 4096)}]]
    service.execute("CREATE TABLE t (b BLOB)")
    assert service.execute("VACUUM")["type"] == "ok"
    # opening the other database closes this one; its next writer is opened afresh
    service.execute("SELECT 1", token=service.token(database=OTHER_DATABASE))
    assert "quota of 2 MB" in _fill(service)["message"]


def test_the_control_plane_paths_keep_the_quota(tmp_path: Path) -> None:
    limits = EngineLimits(max_database_bytes=QUOTA)
    create_database(tmp_path, DATABASE, limits)
    exec_sql(tmp_path, DATABASE, "CREATE TABLE t (b BLOB)", limits=limits)
    with pytest.raises(DatabaseFull) as caught:
        exec_sql(tmp_path, DATABASE, BIG_FILL, limits=limits)
    assert caught.value.status == 507 and "quota of 2 MB" in caught.value.message
    # a migration is tenant SQL too
    migrations = load_migrations({"0001_fill.sql": BIG_FILL + ";"})
    with pytest.raises(MigrationError) as migrated:
        apply_migrations(tmp_path, DATABASE, migrations, limits=limits)
    assert "quota of 2 MB" in migrated.value.message


PYTHON_CLIENT = textwrap.dedent(
    """
    import json, sys
    import libsql
    conn = libsql.connect(sys.argv[1], auth_token=sys.argv[2])
    conn.execute("CREATE TABLE t (b BLOB)")
    conn.commit()
    error = None
    for _ in range(100):
        try:
            conn.execute("INSERT INTO t VALUES (randomblob(100000))")
            conn.commit()
        except Exception as exc:
            error = str(exc)
            break
    print(json.dumps({"error": error}))
    """
)


def test_the_quota_reaches_the_official_python_client(
    start_service: Callable[..., Service],
) -> None:
    service = start_service(OPTIONS)
    proc = subprocess.run(
        [sys.executable, "-c", PYTHON_CLIENT, service.url, service.token()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error is not None and "quota of 2 MB" in error, error


def test_a_held_read_cannot_grow_the_log_past_the_quota(
    start_service: Callable[..., Service],
) -> None:
    service = start_service(OPTIONS)
    service.execute("CREATE TABLE t (b BLOB)")
    wal = service.data_dir / "databases/acme/todo/dev.sqlite-wal"
    # A read transaction keeps its snapshot, so the log cannot be checkpointed and reset
    # while it lasts: every write that follows is appended to it.
    held = service.pipeline([stmt("BEGIN TRANSACTION READONLY"), stmt("SELECT count(*) FROM t")])
    refusal = None
    for sql in [FILL, "DELETE FROM t"] * (3 * QUOTA // 100_000):
        result = service.execute(sql)
        if result["type"] == "error":
            refusal = result["error"]
            break
    assert refusal is not None, f"the log grew to {wal.stat().st_size} bytes"
    assert refusal["code"] == "SQLITE_FULL" and "read transaction" in refusal["message"]
    assert wal.stat().st_size <= QUOTA + 2 * 100_000
    # once the read ends, the log is checkpointed and writes go on
    service.pipeline([stmt("COMMIT"), {"type": "close"}], baton=held["baton"])
    assert service.execute(FILL)["type"] == "ok"
    assert wal.stat().st_size <= QUOTA
