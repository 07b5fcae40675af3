"""``GET /apps/{app}/envs/{env}/rollback-plan``: what a rollback would do to the database,
asked before it is done, by the same checks the rollback makes (the IDE's confirmation
shows it). Nothing changes when the plan is asked for."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tests.api.test_rollback_db import ADD, DROP, INIT, V1, _move, _release, _sql

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

PLAN = "/api/v1/apps/ledger/envs/prod/rollback-plan"


def _ledger(client: TestClient, headers: dict[str, str]) -> None:
    """v1 (a table), v2 (an added column), v3 (a dropped column); prod on v2."""
    assert client.post("/api/v1/apps", json={"name": "ledger"}, headers=headers).status_code == 201
    _release(client, headers, {"functions/v.py": V1, "migrations/0001_init.sql": INIT})
    _release(client, headers, {"migrations/0002_tag.sql": ADD})
    _release(client, headers, {"migrations/0003_drop_note.sql": DROP})
    assert _move(client, headers, "promote", {"release": "v1"}).status_code == 200
    _sql(client, headers, "INSERT INTO items (name, note) VALUES ('a', 'x')")
    assert _move(client, headers, "promote", {"release": "v2"}).status_code == 200


def test_an_additive_migration_leaves_the_older_release_compatible(
    client: TestClient, acme: dict[str, str]
) -> None:
    _ledger(client, acme)
    r = client.get(PLAN, params={"to": "v1"}, headers=acme)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "env": "prod",
        "release": "v1",
        "current": "v2",
        "compatible": True,
        "migrations_after": [{"file": "0002_tag.sql", "kind": "additive"}],
        "destructive": [],
        "blocking": None,
        "snapshot": None,
        "lost_rows": {},
        "would_lose": None,
    }
    # Without ?to, the release prod served before, as the rollback's default.
    assert client.get(PLAN, headers=acme).json()["release"] == "v1"
    assert client.get("/api/v1/apps/ledger/envs/prod", headers=acme).json()["release"] == "v2"


def test_a_destructive_migration_names_the_snapshot_and_what_restoring_loses(
    client: TestClient, acme: dict[str, str]
) -> None:
    _ledger(client, acme)
    assert _move(client, acme, "promote", {"release": "v3"}).status_code == 200
    _sql(client, acme, "INSERT INTO items (name, tag) VALUES ('b', 't')")

    r = client.get(PLAN, params={"to": "v1"}, headers=acme)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["compatible"] is False and plan["current"] == "v3"
    assert plan["migrations_after"] == [
        {"file": "0002_tag.sql", "kind": "additive"},
        {"file": "0003_drop_note.sql", "kind": "destructive"},
    ]
    assert plan["destructive"] == ["0003_drop_note.sql"]
    assert plan["blocking"] == "0003_drop_note.sql"
    assert plan["snapshot"]["id"].endswith("-before-migration-0003")
    assert plan["lost_rows"] == {"items": 1}  # 'b', written since
    assert plan["would_lose"].startswith("the data written in prod since ")
    assert "items: 1" in plan["would_lose"] and "0003_drop_note.sql" in plan["would_lose"]
    # Asking changed nothing: prod serves v3 and keeps its rows.
    assert client.get("/api/v1/apps/ledger/envs/prod", headers=acme).json()["release"] == "v3"
    assert _sql(client, acme, "SELECT count(*) FROM items") == [[2]]

    # The rollback agrees with the plan: refused alone, done with the named snapshot.
    blocked = _move(client, acme, "rollback", {"to": "v1"})
    assert blocked.status_code == 409
    assert blocked.json()["error"]["detail"]["snapshot"] == plan["snapshot"]["id"]
    done = _move(client, acme, "rollback", {"to": "v1", "restore_db": True})
    assert done.status_code == 200, done.text
    assert done.json()["restored_db"]["snapshot"] == plan["snapshot"]["id"]
    assert done.json()["restored_db"]["lost_rows"] == plan["lost_rows"]


def test_a_plan_the_rollback_would_refuse_is_refused_alike(
    client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "ledger"}, headers=acme).status_code == 201
    _release(client, acme, {"functions/v.py": V1})
    nothing = client.get(PLAN, params={"to": "v1"}, headers=acme)
    assert nothing.status_code == 409 and "nothing is deployed" in nothing.text
    assert _move(client, acme, "promote", {"release": "v1"}).status_code == 200
    same = client.get(PLAN, params={"to": "v1"}, headers=acme)
    assert same.status_code == 409 and "already serves v1" in same.text
    dev = client.get("/api/v1/apps/ledger/envs/dev/rollback-plan", headers=acme)
    assert dev.status_code == 409


def test_unknown_releases_apps_and_environments_are_404_and_bad_input_422(
    client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    _ledger(client, acme)
    assert client.get(PLAN, params={"to": "v9"}, headers=acme).status_code == 404
    assert client.get(PLAN, params={"to": "v1"}, headers=globex).status_code == 404
    other_env = "/api/v1/apps/ledger/envs/qa/rollback-plan"
    assert client.get(other_env, params={"to": "v1"}, headers=acme).status_code == 404
    assert client.get(PLAN, params={"to": "latest"}, headers=acme).status_code == 422
    assert client.get(PLAN, params={"to": "v" + "1" * 20}, headers=acme).status_code == 422
    bad_env = "/api/v1/apps/ledger/envs/Prod!/rollback-plan"
    assert client.get(bad_env, params={"to": "v1"}, headers=acme).status_code == 422
