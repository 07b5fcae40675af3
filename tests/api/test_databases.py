"""An app environment's database through the control plane."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from atoll.api import make_app
from atoll.api.bootstrap import ensure_admin_token
from atoll.config import DatabaseSettings, Settings
from atoll.services import ControlPlane
from tests.conftest import make_tenant
from tests.dbservice.running import Service, running_service, stmt

Headers = dict[str, str]
DB = "/api/v1/apps/shop/envs/dev/db"


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> dict[str, str]:
    """Tenant acme with an empty app ``shop``."""
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    return acme


def _exec(client: TestClient, headers: dict[str, str], sql: str, args: list[object] | None = None):  # type: ignore[no-untyped-def]
    return client.post(f"{DB}/exec", json={"sql": sql, "args": args or []}, headers=headers)


def test_exec_tables_rows(client: TestClient, shop: dict[str, str]) -> None:
    r = _exec(client, shop, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)")
    assert r.status_code == 200, r.text
    blob = base64.b64encode(b"\x00\x01").decode()
    r = _exec(client, shop, "INSERT INTO t (name, data) VALUES (?, ?)", ["a", {"base64": blob}])
    assert r.json()["rows_affected"] == 1
    _exec(client, shop, "INSERT INTO t (name, data) VALUES (NULL, NULL)")
    r = _exec(client, shop, "SELECT id, name, data FROM t ORDER BY id")
    assert r.json()["columns"] == ["id", "name", "data"]
    assert r.json()["rows"] == [[1, "a", {"base64": blob}], [2, None, None]]
    tables = client.get(f"{DB}/tables", headers=shop).json()
    assert tables == [
        {
            "name": "t",
            "columns": [
                {"name": "id", "type": "INTEGER"},
                {"name": "name", "type": "TEXT"},
                {"name": "data", "type": "BLOB"},
            ],
            "row_count": 2,
        }
    ]
    page = client.get(f"{DB}/tables/t/rows", params={"limit": 1, "offset": 1}, headers=shop)
    assert page.json()["rows"] == [[2, None, None]]
    assert client.get(f"{DB}/tables/nope/rows", headers=shop).status_code == 404


def test_environments_have_separate_databases(client: TestClient, shop: dict[str, str]) -> None:
    _exec(client, shop, "CREATE TABLE only_dev (x)")
    r = client.post(
        "/api/v1/apps/shop/envs/prod/db/exec", json={"sql": "SELECT * FROM only_dev"}, headers=shop
    )
    assert r.status_code == 400 and "only_dev" in r.json()["error"]["message"]
    r = client.post("/api/v1/apps/shop/envs/qa/db/exec", json={"sql": "SELECT 1"}, headers=shop)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/apps/shop/envs/Bad_Env/db/exec", json={"sql": "SELECT 1"}, headers=shop
    )
    assert r.status_code == 400


def test_bad_sql_and_refused_statements(client: TestClient, shop: dict[str, str]) -> None:
    r = _exec(client, shop, "SELEKT 1")
    assert r.status_code == 400 and r.json()["error"]["code"] == "sql_error"
    for sql in (
        "ATTACH DATABASE '/etc/passwd' AS x",
        "SELECT load_extension('x')",
        "PRAGMA writable_schema = ON",
        "VACUUM INTO '/tmp/copy.db'",
    ):
        r = _exec(client, shop, sql)
        assert 400 <= r.status_code < 500, (sql, r.text)
    assert _exec(client, shop, "SELECT 1", [{"nope": "x"}]).status_code == 422
    assert _exec(client, shop, "SELECT 1", [{"base64": "!!"}]).status_code == 422
    assert _exec(client, shop, "SELECT 1").status_code == 200


def test_read_only_exec_reads_and_refuses_every_write(
    client: TestClient, shop: dict[str, str]
) -> None:
    _exec(client, shop, "CREATE TABLE t (x INTEGER)")
    _exec(client, shop, "INSERT INTO t VALUES (1)")

    def ro(sql: str):  # type: ignore[no-untyped-def]
        return client.post(f"{DB}/exec", json={"sql": sql, "read_only": True}, headers=shop)

    r = ro("SELECT count(*) AS n FROM t")
    assert r.status_code == 200 and r.json()["rows"] == [[1]]
    for sql in (
        "INSERT INTO t VALUES (2)",
        "DELETE FROM t",
        "DROP TABLE t",
        "CREATE TABLE u (y)",
        "SELECT 1; UPDATE t SET x = 3",  # a write after a read in one request
        "UPDATE t SET x = 4; SELECT 1",  # and before one
    ):
        r = ro(sql)
        assert r.status_code == 403, (sql, r.text)
        error = r.json()["error"]
        assert error["code"] == "write_refused" and "read-only" in error["message"], sql
    # Nothing changed, and without the flag the same write goes through.
    assert _exec(client, shop, "SELECT x FROM t").json()["rows"] == [[1]]
    assert _exec(client, shop, "INSERT INTO t VALUES (2)").json()["rows_affected"] == 1


def test_db_url_token_names_one_database(client: TestClient, shop: dict[str, str]) -> None:
    got = client.get(f"{DB}/url", params={"read_only": "true"}, headers=shop).json()
    assert got["url"].startswith("http://") and got["read_only"] is True
    claims = jwt.decode(got["token"], options={"verify_signature": False})
    assert "acme--shop--dev" in str(claims)
    assert client.get(f"{DB}/url", params={"ttl": 1}, headers=shop).status_code == 422


def test_db_url_tokens_are_short_lived_unless_asked(
    client: TestClient, shop: dict[str, str]
) -> None:
    got = client.get(f"{DB}/url", headers=shop).json()
    claims = jwt.decode(got["token"], options={"verify_signature": False})
    assert got["expires_in"] == 3600 and claims["exp"] - claims["iat"] == 3600
    week = 7 * 24 * 3600
    got = client.get(f"{DB}/url", params={"ttl": week}, headers=shop).json()
    claims = jwt.decode(got["token"], options={"verify_signature": False})
    assert got["expires_in"] == week and claims["exp"] - claims["iat"] == week
    r = client.get(f"{DB}/url", params={"ttl": week + 1}, headers=shop)
    assert r.status_code == 422 and str(week) in r.text


@pytest.fixture
def dbservice(cp: ControlPlane) -> Iterator[Service]:
    """A real DB service serving the control plane's data dir."""
    with running_service(cp.settings.data_dir) as service:
        yield service


def _hrana(service: Service, token: str, *requests: dict[str, Any]) -> Any:
    body = {"baton": None, "requests": [*requests, {"type": "close"}]}
    return service.post("/v2/pipeline", body, token)


def test_db_token_dies_with_its_app(
    client: TestClient, shop: dict[str, str], dbservice: Service
) -> None:
    _exec(client, shop, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('old')")
    old = client.get(f"{DB}/url", headers=shop).json()["token"]
    assert "old" in _hrana(dbservice, old, stmt("SELECT body FROM notes")).text
    assert client.delete("/api/v1/apps/shop", headers=shop).status_code == 200
    assert _hrana(dbservice, old, stmt("SELECT 1")).status_code == 404
    # A new app of the same name gets a new database, which the old token cannot open.
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=shop).status_code == 201
    _exec(client, shop, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('new data')")
    for sql in ("SELECT body FROM notes", "INSERT INTO notes VALUES ('planted')"):
        r = _hrana(dbservice, old, stmt(sql))
        assert r.status_code == 401 and r.json()["code"] == "TOKEN_INVALID", r.text
        assert "new data" not in r.text
    assert _exec(client, shop, "SELECT body FROM notes").json()["rows"] == [["new data"]]
    fresh = client.get(f"{DB}/url", headers=shop).json()["token"]
    assert "new data" in _hrana(dbservice, fresh, stmt("SELECT body FROM notes")).text


def test_revoking_an_api_token_revokes_its_db_tokens(
    client: TestClient, shop: dict[str, str], dbservice: Service
) -> None:
    _exec(client, shop, "CREATE TABLE notes (body TEXT)")
    r = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=shop)
    laptop = {"Authorization": f"Bearer {r.json()['token']}"}
    laptop_id = r.json()["token_info"]["id"]
    minted = client.get(f"{DB}/url", params={"ttl": 86400}, headers=laptop).json()["token"]
    kept = client.get(f"{DB}/url", headers=shop).json()["token"]
    assert _hrana(dbservice, minted, stmt("SELECT 1")).status_code == 200
    assert client.delete(f"/api/v1/tokens/{laptop_id}", headers=shop).status_code == 200
    r = _hrana(dbservice, minted, stmt("INSERT INTO notes VALUES ('after revocation')"))
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED", r.text
    assert _hrana(dbservice, kept, stmt("SELECT 1")).status_code == 200
    assert _exec(client, shop, "SELECT count(*) FROM notes").json()["rows"] == [[0]]


def test_another_tenant_cannot_revoke_db_tokens(
    client: TestClient, shop: dict[str, str], globex: dict[str, str], dbservice: Service
) -> None:
    mine = client.get(f"{DB}/url", headers=shop).json()["token"]
    mine_id = client.get("/api/v1/tokens", headers=shop).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{mine_id}", headers=globex).status_code == 404
    assert _hrana(dbservice, mine, stmt("SELECT 1")).status_code == 200


@contextlib.contextmanager
def shop_with(tmp_path: Path, databases: DatabaseSettings) -> Iterator[tuple[TestClient, Headers]]:
    """A control plane with these database settings, and tenant acme's token for app shop."""
    plane = ControlPlane.open(Settings(data_dir=tmp_path / "data", databases=databases))
    try:
        with TestClient(make_app(plane)) as client:
            admin = {"Authorization": f"Bearer {ensure_admin_token(plane)}"}
            acme = make_tenant(client, admin, "acme")
            client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
            _exec(client, acme, "CREATE TABLE t (b BLOB)")
            yield client, acme
    finally:
        plane.close()


def test_db_exec_reports_the_quota(tmp_path: Path) -> None:
    with shop_with(tmp_path, DatabaseSettings(max_database_mb=1)) as (client, acme):
        fill = (
            "INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
            "FROM n WHERE i < 20) SELECT randomblob(100000) FROM n"
        )
        r = _exec(client, acme, fill)
        assert r.status_code == 507, r.text
        assert r.json()["error"]["code"] == "database_full"
        assert "quota of 1 MB" in r.json()["error"]["message"]
        assert _exec(client, acme, "SELECT count(*) FROM t").json()["rows"] == [[0]]


def test_snapshots_and_atomic_restore(client: TestClient, shop: dict[str, str]) -> None:
    _exec(client, shop, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('before')")
    r = client.post(f"{DB}/snapshots", json={"reason": "pre-change"}, headers=shop)
    assert r.status_code == 201, r.text
    snap = r.json()
    assert snap["reason"] == "pre-change" and snap["size_bytes"] > 0
    _exec(client, shop, "UPDATE t SET v = 'after'")
    listed = client.get(f"{DB}/snapshots", headers=shop).json()
    assert [s["id"] for s in listed] == [snap["id"]]
    r = client.post(f"{DB}/snapshots/{snap['id']}/restore", headers=shop)
    assert r.status_code == 200, r.text
    assert r.json()["restored"]["id"] == snap["id"]
    assert r.json()["safety_snapshot"] is not None
    assert _exec(client, shop, "SELECT v FROM t").json()["rows"] == [["before"]]
    # The content the restore replaced was kept, so the restore itself can be undone.
    safety = r.json()["safety_snapshot"]["id"]
    client.post(f"{DB}/snapshots/{safety}/restore", headers=shop)
    assert _exec(client, shop, "SELECT v FROM t").json()["rows"] == [["after"]]
    for bad in ("nope", "../../etc/passwd", "20200101T000000000000Z-x"):
        r = client.post(f"{DB}/snapshots/{bad}/restore", headers=shop)
        assert r.status_code in (404, 422), (bad, r.text)
    r = client.post(f"{DB}/snapshots", json={"reason": "Bad Reason!"}, headers=shop)
    assert r.status_code == 422


def test_snapshots_are_kept_to_the_setting(tmp_path: Path) -> None:
    with shop_with(tmp_path, DatabaseSettings(max_snapshots=2)) as (client, acme):
        ids = [client.post(f"{DB}/snapshots", json={}, headers=acme).json()["id"] for _ in range(4)]
        listed = client.get(f"{DB}/snapshots", headers=acme).json()
        assert [s["id"] for s in listed] == ids[:1:-1]
        r = client.post(f"{DB}/snapshots/{ids[2]}/restore", headers=acme)
        assert r.status_code == 200, r.text
        listed = client.get(f"{DB}/snapshots", headers=acme).json()
        assert len(listed) == 2 and ids[2] in [s["id"] for s in listed]
