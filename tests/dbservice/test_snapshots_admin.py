"""Snapshots (take, list, atomic restore) and the control plane's direct functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from atoll.dbservice import (
    DatabaseName,
    SqlError,
    create_database,
    database_path,
    delete_app_databases,
    exec_sql,
    list_tables,
    table_rows,
)
from atoll.dbservice.snapshots import (
    delete_snapshot,
    list_snapshots,
    parse_snapshot_id,
    prune_snapshots,
    restore_snapshot,
    snapshot_id,
    take_snapshot,
)
from atoll.errors import BadInput, InvalidName, NotFound

from .conftest import DATABASE, Service, stmt

DB = "acme--shop--dev"


def test_database_names() -> None:
    name = DatabaseName.parse("acme--shop--dev")
    assert (name.tenant, name.app, name.env) == ("acme", "shop", "dev")
    assert str(name) == "acme--shop--dev"
    assert name.path(Path("/d")) == Path("/d/databases/acme/shop/dev.sqlite")
    for bad in ("acme--shop", "Acme--shop--dev", "a--shop--dev", "acme--sh--op--dev", "../x--a--b"):
        with pytest.raises(InvalidName):
            DatabaseName.parse(bad)


def test_snapshot_ids() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    ident = snapshot_id(when, "Before Migration 0002!")
    assert ident == "20260102T030405000006Z-before-migration-0002"
    assert parse_snapshot_id(ident) == (when, "before-migration-0002")
    with pytest.raises(BadInput):
        parse_snapshot_id("../../etc/passwd")


def test_take_list_restore(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    exec_sql(tmp_path, DB, "CREATE TABLE t (x)")
    exec_sql(tmp_path, DB, "INSERT INTO t VALUES (1)")
    first = take_snapshot(tmp_path, DB, "manual")
    exec_sql(tmp_path, DB, "INSERT INTO t VALUES (2)")
    exec_sql(tmp_path, DB, "CREATE TABLE later (y)")
    assert [s.id for s in list_snapshots(tmp_path, DB)] == [first.id]
    safety = restore_snapshot(tmp_path, DB, first.id)
    assert exec_sql(tmp_path, DB, "SELECT x FROM t").rows == [[1]]
    assert [t.name for t in list_tables(tmp_path, DB)] == ["t"]
    assert exec_sql(tmp_path, DB, "PRAGMA journal_mode").rows == [["wal"]]
    assert safety is not None and safety.reason == "before-restore"
    restore_snapshot(tmp_path, DB, safety.id, keep_current=False)
    assert exec_sql(tmp_path, DB, "SELECT x FROM t ORDER BY x").rows == [[1], [2]]
    with pytest.raises(NotFound):
        restore_snapshot(tmp_path, DB, "20200101T000000000000Z-nope")


def test_prune_and_delete_snapshots(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    ids = [take_snapshot(tmp_path, DB, f"s{i}").id for i in range(4)]
    assert [s.id for s in list_snapshots(tmp_path, DB)] == ids[::-1]
    pruned = prune_snapshots(tmp_path, DB, keep=1, keep_ids=frozenset({ids[0]}))
    assert pruned == [ids[2], ids[1]]
    assert [s.id for s in list_snapshots(tmp_path, DB)] == [ids[3], ids[0]]
    delete_snapshot(tmp_path, DB, ids[0])
    assert [s.id for s in list_snapshots(tmp_path, DB)] == [ids[3]]
    with pytest.raises(NotFound):
        delete_snapshot(tmp_path, DB, ids[0])


def test_restore_under_a_running_service(service: Service) -> None:
    service.execute("CREATE TABLE t (x)")
    service.execute("INSERT INTO t VALUES ('before')")
    snap = take_snapshot(service.data_dir, DATABASE)
    service.execute("INSERT INTO t VALUES ('after')")
    restore_snapshot(service.data_dir, DATABASE, snap.id)
    result = service.execute("SELECT x FROM t")
    assert result["response"]["result"]["rows"] == [[{"type": "text", "value": "before"}]]
    assert service.execute("INSERT INTO t VALUES ('again')")["type"] == "ok"


def test_exec_sql_tables_rows(tmp_path: Path) -> None:
    create_database(tmp_path, DB)
    exec_sql(tmp_path, DB, "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, pic BLOB)")
    inserted = exec_sql(
        tmp_path, DB, "INSERT INTO people (name, pic) VALUES (?, ?)", ["ann", b"\x01"]
    )
    assert inserted.rows_affected == 1
    result = exec_sql(tmp_path, DB, "SELECT id, name, pic FROM people")
    assert result.columns == ["id", "name", "pic"]
    assert result.to_dict()["rows"] == [[1, "ann", {"base64": "AQ=="}]]
    empty = exec_sql(tmp_path, DB, "SELECT name FROM people WHERE id = 99")
    assert (empty.columns, empty.rows) == (["name"], [])
    several = exec_sql(
        tmp_path,
        DB,
        "CREATE TABLE log (x); INSERT INTO log VALUES (1); SELECT count(*) AS n FROM log;",
    )
    assert (several.columns, several.rows) == (["n"], [[1]])
    with pytest.raises(SqlError):
        exec_sql(tmp_path, DB, "SELECT ?; SELECT ?", [1, 2])
    with pytest.raises(SqlError):
        exec_sql(tmp_path, DB, "ATTACH 'x.db' AS x")
    exec_sql(tmp_path, DB, "DROP TABLE log")
    tables = list_tables(tmp_path, DB)
    assert [(t.name, t.row_count) for t in tables] == [("people", 1)]
    assert tables[0].columns == [("id", "INTEGER"), ("name", "TEXT"), ("pic", "BLOB")]
    page = table_rows(tmp_path, DB, "people", limit=10)
    assert page.columns == ["id", "name", "pic"] and len(page.rows) == 1
    with pytest.raises(NotFound):
        table_rows(tmp_path, DB, "nope")
    with pytest.raises(NotFound):
        exec_sql(tmp_path, "acme--shop--staging", "SELECT 1")


def test_delete_app_databases(tmp_path: Path) -> None:
    for env in ("dev", "prod"):
        create_database(tmp_path, f"acme--shop--{env}")
    create_database(tmp_path, "acme--other--dev")
    take_snapshot(tmp_path, "acme--shop--dev")
    delete_app_databases(tmp_path, "acme", "shop")
    assert not database_path(tmp_path, "acme--shop--dev").exists()
    assert not database_path(tmp_path, "acme--shop--prod").exists()
    assert list_snapshots(tmp_path, "acme--shop--dev") == []
    assert database_path(tmp_path, "acme--other--dev").exists()
    with pytest.raises(InvalidName):
        delete_app_databases(tmp_path, "..", "shop")


def test_deleted_database_is_gone_from_the_service(service: Service) -> None:
    token = service.token()
    assert service.execute("SELECT 1", token=token)["type"] == "ok"
    delete_app_databases(service.data_dir, "acme", "todo")
    response = service.post("/v2/pipeline", {"baton": None, "requests": []}, token)
    assert response.status_code == 404


def test_recreated_database_is_not_served_from_the_old_file(service: Service) -> None:
    service.execute("CREATE TABLE old (x)")
    held = service.pipeline([stmt("BEGIN"), stmt("INSERT INTO old VALUES (1)")])
    delete_app_databases(service.data_dir, "acme", "todo")
    create_database(service.data_dir, DATABASE)
    tables = service.execute("SELECT name FROM sqlite_schema")["response"]["result"]["rows"]
    assert tables == []
    # the stream that held a transaction on the deleted file ends with a clean error
    body = {"baton": held["baton"], "requests": [stmt("INSERT INTO old VALUES (2)")]}
    response = service.post("/v2/pipeline", body)
    assert response.status_code in (403, 404), response.text
    assert service.execute("CREATE TABLE fresh (x)")["type"] == "ok"


def test_snapshots_are_kept_to_a_count(tmp_path: Path) -> None:
    # Each snapshot is a whole copy: without a cap, snapshots would get around the quota.
    create_database(tmp_path, DB)
    exec_sql(tmp_path, DB, "CREATE TABLE t (x)")
    taken = [take_snapshot(tmp_path, DB, f"n{i}", keep=3).id for i in range(5)]
    assert [s.id for s in list_snapshots(tmp_path, DB)] == taken[:1:-1]
    # restoring the oldest kept one takes a safety snapshot, but never prunes the one restored
    oldest = taken[2]
    safety = restore_snapshot(tmp_path, DB, oldest, keep=3)
    assert safety is not None
    assert [s.id for s in list_snapshots(tmp_path, DB)] == [safety.id, taken[4], oldest]
