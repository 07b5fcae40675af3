"""Releases over HTTP: the head built into v1, v2, ...; failed builds kept; never changed."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from atoll.releases import Releases
from atoll.releases.releases import INTERRUPTED
from atoll.services import ControlPlane
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from tests.conftest import commit_text

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

PAGE = '{"schemaVersion": 1, "title": "Shop", "root": {"type": "Heading", "props": {"text": "hi"}}}'
HELLO = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'
BROKEN = "def get(:\n    return 1\n"


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> str:
    """App ``shop`` of acme with one revision; its id."""
    r = client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    assert r.status_code == 201, r.text
    files = {"pages/index.json": PAGE, "functions/hello.py": HELLO}
    revision = commit_text(client, acme, "shop", files)["revision"]
    assert isinstance(revision, str)
    return revision


def _create(client: TestClient, headers: dict[str, str], notes: str = "") -> dict[str, object]:
    r = client.post("/api/v1/apps/shop/releases", json={"notes": notes}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_releases_are_numbered_built_once_and_listed_newest_first(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], shop: str
) -> None:
    first = _create(client, acme, notes="first cut")
    assert first["version"] == "v1" and first["status"] == "ready", first
    assert first["revision"] == shop and first["errors"] == [] and first["notes"] == "first cut"
    assert first["created_by"] == "acme/default"  # the tenant/token that built it
    built = cp.workspaces.apps_root.glob(f"*/builds/{shop}")
    artifacts = next(iter(built))
    stamp = artifacts.stat().st_mtime_ns

    # The same revision again: a new release, its artifacts reused, not rebuilt.
    again = _create(client, acme)
    assert again["version"] == "v2" and again["revision"] == shop
    assert artifacts.stat().st_mtime_ns == stamp

    broken = commit_text(client, acme, "shop", {"functions/hello.py": BROKEN})["revision"]
    failed = _create(client, acme)
    assert failed["version"] == "v3" and failed["status"] == "failed"
    assert failed["revision"] == broken
    errors = failed["errors"]
    assert isinstance(errors, list) and errors[0]["file"] == "functions/hello.py"
    assert errors[0]["line"] == 1

    listed = client.get("/api/v1/apps/shop/releases", headers=acme).json()["releases"]
    assert [r["version"] for r in listed] == ["v3", "v2", "v1"]
    assert [r["status"] for r in listed] == ["failed", "ready", "ready"]
    for version in ("v1", "1"):
        one = client.get(f"/api/v1/apps/shop/releases/{version}", headers=acme)
        assert one.status_code == 200 and one.json()["notes"] == "first cut"


def test_releases_never_change(client: TestClient, acme: dict[str, str], shop: str) -> None:
    _create(client, acme)
    for method in ("PUT", "PATCH", "DELETE"):
        r = client.request(method, "/api/v1/apps/shop/releases/v1", json={}, headers=acme)
        assert r.status_code == 405, (method, r.text)
        assert "immutable" in r.json()["error"]["message"]
    assert client.get("/api/v1/apps/shop/releases/v1", headers=acme).json()["status"] == "ready"


def test_bad_input_and_another_tenant(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], shop: str
) -> None:
    _create(client, acme)
    bad = [
        ("get", "/api/v1/apps/shop/releases/vx", None, 422),
        ("get", "/api/v1/apps/shop/releases/v0", None, 422),
        ("get", "/api/v1/apps/shop/releases/v99", None, 404),
        ("get", "/api/v1/apps/nope/releases", None, 404),
        ("post", "/api/v1/apps/shop/releases", {"notes": "x" * 2001}, 422),
        ("post", "/api/v1/apps/shop/releases", {"notes": "x", "extra": 1}, 422),
        ("post", "/api/v1/apps/shop/releases", {"notes": 3}, 422),
    ]
    for method, path, body, status in bad:
        r = client.request(method.upper(), path, json=body, headers=acme)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["error"]["code"], r.text
    # Another tenant sees no such app, and cannot build one.
    assert client.get("/api/v1/apps/shop/releases", headers=globex).status_code == 404
    assert client.get("/api/v1/apps/shop/releases/v1", headers=globex).status_code == 404
    r = client.post("/api/v1/apps/shop/releases", json={}, headers=globex)
    assert r.status_code == 404
    assert client.get("/api/v1/apps/shop/releases", headers={}).status_code == 401


def test_an_app_with_nothing_pushed_has_nothing_to_release(
    client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "empty"}, headers=acme)
    r = client.post("/api/v1/apps/empty/releases", json={}, headers=acme)
    assert r.status_code == 409 and "push first" in r.json()["error"]["message"]
    assert client.get("/api/v1/apps/empty/releases", headers=acme).json() == {"releases": []}


def test_a_build_cut_short_by_a_stop_is_recorded_failed(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], shop: str
) -> None:
    with cp.engine.begin() as conn:
        app_id = conn.exec_driver_sql("SELECT id FROM apps WHERE slug = 'shop'").scalar()
        assert isinstance(app_id, int)
        release_repo.start_release(conn, app_id, shop, 1, "", "acme/test", tenant_repo.now())
    listed = client.get("/api/v1/apps/shop/releases", headers=acme).json()["releases"]
    assert listed[0]["status"] == "building"
    assert Releases(cp).recover() == 1  # what the server does when it starts
    release = client.get("/api/v1/apps/shop/releases/v1", headers=acme).json()
    assert release["status"] == "failed" and release["errors"][0]["message"] == INTERRUPTED
    assert Releases(cp).recover() == 0
    # The next release takes the next number.
    assert _create(client, acme)["version"] == "v2"


def test_promotion_input_is_checked_before_anything_moves(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    _create(client, acme)
    for body, status in (
        ({"release": "vx"}, 422),
        ({"release": "v1", "from": "Not An Env"}, 422),
        ({"release": "v1", "extra": True}, 422),
        ({"release": 1}, 422),
        ({"release": "v1" * 10}, 422),
    ):
        r = client.post("/api/v1/apps/shop/envs/prod/promote", json=body, headers=acme)
        assert r.status_code == status, (body, r.text)
    r = client.post("/api/v1/apps/shop/envs/PROD!/promote", json={}, headers=acme)
    assert r.status_code == 422
    r = client.post("/api/v1/apps/shop/envs/prod/rollback", json={"to": "v-1"}, headers=acme)
    assert r.status_code == 422
    r = client.post("/api/v1/apps/shop/envs/prod/rollback", json={}, headers=acme)
    assert r.status_code == 409 and "nothing is deployed to prod" in r.text
    assert client.get("/api/v1/apps/shop/envs/prod/history", headers=acme).json() == {"deploys": []}
    envs = client.get("/api/v1/apps/shop/envs", headers=acme).json()
    assert [e["release"] for e in envs] == [None, None, None]  # nothing moved


def test_a_deleted_app_takes_its_releases_along(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    _create(client, acme)
    r = client.delete("/api/v1/apps/shop", headers=acme)
    assert r.status_code in (200, 204), r.text
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    assert client.get("/api/v1/apps/shop/releases", headers=acme).json() == {"releases": []}
