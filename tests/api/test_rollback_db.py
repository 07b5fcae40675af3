"""Rollback with the database in mind, over HTTP: additive migrations never block; a
destructive one the older release never saw blocks it, named with the snapshot that
undoes it; ``restore_db`` restores that snapshot and counts the rows it loses."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tests.conftest import commit_text

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

V1 = "def get() -> str:\n    return 'v1'\n"
INIT = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT);\n"
ADD = "ALTER TABLE items ADD COLUMN tag TEXT;\n"
DROP = "ALTER TABLE items DROP COLUMN note;\n"


def _release(client: TestClient, headers: dict[str, str], files: dict[str, str | None]) -> str:
    commit_text(client, headers, "ledger", files)
    r = client.post("/api/v1/apps/ledger/releases", json={}, headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    version: str = r.json()["version"]
    return version


def _sql(client: TestClient, headers: dict[str, str], sql: str) -> list[list[object]]:
    r = client.post("/api/v1/apps/ledger/envs/prod/db/exec", json={"sql": sql}, headers=headers)
    assert r.status_code == 200, r.text
    rows: list[list[object]] = r.json()["rows"]
    return rows


def _move(client: TestClient, headers: dict[str, str], action: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/apps/ledger/envs/prod/{action}", json=body, headers=headers)


def test_rollback_checks_the_schema_and_restores_only_when_asked(
    client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "ledger"}, headers=acme).status_code == 201
    v1 = _release(client, acme, {"functions/v.py": V1, "migrations/0001_init.sql": INIT})
    v2 = _release(
        client, acme, {"functions/v.py": V1.replace("v1", "v2"), "migrations/0002_tag.sql": ADD}
    )
    v3 = _release(
        client,
        acme,
        {"functions/v.py": V1.replace("v1", "v3"), "migrations/0003_drop_note.sql": DROP},
    )
    assert (v1, v2, v3) == ("v1", "v2", "v3")

    assert _move(client, acme, "promote", {"release": "v1"}).status_code == 200
    _sql(client, acme, "INSERT INTO items (name, note) VALUES ('a', 'x'), ('b', 'y')")
    assert _move(client, acme, "promote", {"release": "v2"}).status_code == 200
    _sql(client, acme, "INSERT INTO items (name, note, tag) VALUES ('c', 'z', 't')")

    # Additive: v1 runs on v2's schema; the column and every row stay.
    back = _move(client, acme, "rollback", {})
    assert back.status_code == 200 and back.json()["restored_db"] is None, back.text
    assert _sql(client, acme, "SELECT count(*), count(tag) FROM items") == [[3, 1]]

    assert _move(client, acme, "promote", {"release": "v3"}).status_code == 200
    _sql(client, acme, "INSERT INTO items (name, tag) VALUES ('d', 'u')")
    _sql(client, acme, "UPDATE items SET name = 'A' WHERE name = 'a'")

    blocked = _move(client, acme, "rollback", {"to": "v2"})
    assert blocked.status_code == 409, blocked.text
    error = blocked.json()["error"]
    assert error["code"] == "rollback_blocked"
    assert error["detail"]["migration"] == "0003_drop_note.sql"
    snapshot = error["detail"]["snapshot"]
    assert snapshot.endswith("-before-migration-0003")
    assert "0003_drop_note.sql" in error["message"] and "--restore-db" in error["message"]
    # Nothing moved: v3 serves, the column is still gone, the rows are all there.
    envs = client.get("/api/v1/apps/ledger/envs/prod", headers=acme).json()
    assert envs["release"] == "v3"
    assert _sql(client, acme, "SELECT count(*) FROM items") == [[4]]

    done = _move(client, acme, "rollback", {"to": "v2", "restore_db": True})
    assert done.status_code == 200, done.text
    got = done.json()
    assert (got["release"], got["previous"]) == ("v2", "v3")
    restored = got["restored_db"]
    assert restored["snapshot"] == snapshot and restored["migration"] == "0003_drop_note.sql"
    assert restored["lost_rows"] == {"items": 2}  # 'd' written, 'a' changed since
    assert restored["safety_snapshot"].endswith("-before-restore")
    assert _sql(client, acme, "SELECT name, note FROM items ORDER BY id") == [
        ["a", "x"],
        ["b", "y"],
        ["c", "z"],
    ]
    applied = _sql(client, acme, "SELECT version, kind FROM _atoll_migrations ORDER BY version")
    assert applied == [[1, "additive"], [2, "additive"]]

    history = client.get("/api/v1/apps/ledger/envs/prod/history", headers=acme).json()["deploys"]
    assert [(d["action"], d["to_release"], d["result"]) for d in history[:2]] == [
        ("rollback", "v2", "ok"),
        ("rollback", "v2", "failed"),
    ]
    assert "rows lost: items 2" in history[0]["detail"]
    assert "0003_drop_note.sql" in history[1]["detail"]

    # Promoting v3 again applies its migration again, on the restored database.
    assert _move(client, acme, "promote", {"release": "v3"}).status_code == 200
    assert _sql(
        client, acme, "SELECT count(*) FROM pragma_table_info('items') WHERE name = 'note'"
    ) == [[0]]


def test_a_rollback_to_a_release_the_database_has_not_caught_up_with_is_refused(
    client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "ledger"}, headers=acme).status_code == 201
    _release(client, acme, {"functions/v.py": V1})
    _release(client, acme, {"migrations/0001_init.sql": INIT})
    assert _move(client, acme, "promote", {"release": "v1"}).status_code == 200
    # "Rolling back" to v2 would serve code whose migration never ran here.
    r = _move(client, acme, "rollback", {"to": "v2"})
    assert r.status_code == 409 and "promote it instead" in r.json()["error"]["message"], r.text
    assert _move(client, acme, "rollback", {"to": "v1", "restore_db": "yes"}).status_code == 422


def test_a_promotion_whose_migration_fails_moves_nothing_and_is_recorded(
    client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "ledger"}, headers=acme).status_code == 201
    _release(client, acme, {"functions/v.py": V1, "migrations/0001_init.sql": INIT})
    unique = "CREATE TABLE tags (t TEXT);\nCREATE UNIQUE INDEX items_name ON items (name);\n"
    _release(client, acme, {"migrations/0002_unique.sql": unique})
    assert _move(client, acme, "promote", {"release": "v1"}).status_code == 200
    _sql(client, acme, "INSERT INTO items (name) VALUES ('same'), ('same')")

    failed = _move(client, acme, "promote", {"release": "v2"})
    assert failed.status_code == 409, failed.text
    error = failed.json()["error"]
    assert error["code"] == "migration_error" and error["detail"]["migration"] == "0002_unique.sql"
    assert error["detail"]["line"] == 2  # the statement that failed
    # Nothing moved: prod serves v1, the migration's transaction left nothing behind.
    assert client.get("/api/v1/apps/ledger/envs/prod", headers=acme).json()["release"] == "v1"
    assert _sql(client, acme, "SELECT count(*) FROM sqlite_schema WHERE name = 'tags'") == [[0]]
    history = client.get("/api/v1/apps/ledger/envs/prod/history", headers=acme).json()["deploys"]
    latest = history[0]
    assert (latest["action"], latest["from_release"], latest["to_release"]) == (
        "promote",
        "v1",
        "v2",
    )
    assert latest["result"] == "failed" and "0002_unique.sql" in latest["detail"]
