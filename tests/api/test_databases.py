"""An app environment's database through the control plane."""

from __future__ import annotations

import base64

import jwt
import pytest
from fastapi.testclient import TestClient

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


def test_db_url_token_names_one_database(client: TestClient, shop: dict[str, str]) -> None:
    got = client.get(f"{DB}/url", params={"read_only": "true"}, headers=shop).json()
    assert got["url"].startswith("http://") and got["read_only"] is True
    claims = jwt.decode(got["token"], options={"verify_signature": False})
    assert "acme--shop--dev" in str(claims)
    assert client.get(f"{DB}/url", params={"ttl": 1}, headers=shop).status_code == 422


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
