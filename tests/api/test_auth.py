"""Tokens: required, hashed, listed by prefix, revocable; admin-only tenant creation."""

from __future__ import annotations

import stat

from fastapi.testclient import TestClient

from atoll.api.bootstrap import ensure_admin_token
from atoll.services import ControlPlane
from tests.conftest import make_tenant


def test_missing_malformed_and_unknown_tokens_are_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer atl_nope"}):
        r = client.get("/api/v1/apps", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


def test_admin_token_is_kept_0600_and_reused(cp: ControlPlane) -> None:
    first = ensure_admin_token(cp)
    path = cp.settings.admin_token_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert ensure_admin_token(cp) == first


def test_tokens_are_stored_hashed(
    cp: ControlPlane, client: TestClient, admin: dict[str, str]
) -> None:
    headers = make_tenant(client, admin, "acme")
    secret = headers["Authorization"].split()[1]
    with cp.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT prefix, hash FROM tokens").all()
    assert all(secret not in (prefix, digest) for prefix, digest in rows)
    assert any(secret.startswith(prefix) for prefix, _ in rows)


def test_only_admin_creates_tenants(
    client: TestClient, admin: dict[str, str], acme: dict[str, str]
) -> None:
    r = client.post("/api/v1/tenants", json={"name": "evil"}, headers=acme)
    assert r.status_code == 403
    r = client.post("/api/v1/tenants", json={"name": "acme"}, headers=admin)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_exists"
    r = client.post("/api/v1/tenants", json={"name": "Bad--Name"}, headers=admin)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_name"
    names = [t["name"] for t in client.get("/api/v1/tenants", headers=admin).json()]
    assert names == ["acme"]


def test_admin_token_owns_no_apps(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/apps", headers=admin)
    assert r.status_code == 403


def test_list_create_and_revoke_tokens(client: TestClient, acme: dict[str, str]) -> None:
    r = client.post("/api/v1/tokens", json={"name": "ci"}, headers=acme)
    assert r.status_code == 201
    second = {"Authorization": f"Bearer {r.json()['token']}"}
    listed = client.get("/api/v1/tokens", headers=acme).json()
    assert [t["name"] for t in listed] == ["default", "ci"]
    assert all("token" not in t and len(t["prefix"]) == 12 for t in listed)
    assert client.get("/api/v1/me", headers=second).json()["tenant"] == "acme"

    token_id = r.json()["token_info"]["id"]
    r = client.delete(f"/api/v1/tokens/{token_id}", headers=acme)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.get("/api/v1/apps", headers=second).status_code == 401
    assert client.get("/api/v1/apps", headers=acme).status_code == 200


def test_another_tenants_token_cannot_be_revoked(
    client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    theirs = client.get("/api/v1/tokens", headers=globex).json()[0]["id"]
    r = client.delete(f"/api/v1/tokens/{theirs}", headers=acme)
    assert r.status_code == 404
    assert client.get("/api/v1/apps", headers=globex).status_code == 200


def test_one_error_shape_everywhere(client: TestClient, acme: dict[str, str]) -> None:
    for r in (
        client.get("/api/v1/nope", headers=acme),
        client.put("/api/v1/apps", headers=acme),
        client.post(
            "/api/v1/apps",
            content=b"{not json",
            headers=acme | {"Content-Type": "application/json"},
        ),
        client.post("/api/v1/apps", json={"name": "x", "extra": 1}, headers=acme),
    ):
        err = r.json()["error"]
        assert r.status_code in (404, 405, 422)
        assert set(err) == {"code", "message", "detail"} and err["message"]


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/apps/{app}/revisions" in spec["paths"]
    assert client.get("/api/docs").status_code == 200


def test_tenants_have_an_isolation_tier_only_admin_sets(
    client: TestClient, admin: dict[str, str], acme: dict[str, str]
) -> None:
    r = client.post("/api/v1/tenants", json={"name": "vault", "isolation": "gvisor"}, headers=admin)
    assert r.status_code == 201 and r.json()["isolation"] == "gvisor", r.text
    r = client.post("/api/v1/tenants", json={"name": "odd", "isolation": "vm"}, headers=admin)
    assert r.status_code == 400, r.text
    r = client.post("/api/v1/tenants", json={"name": "x2", "isolation": "gvisor"}, headers=acme)
    assert r.status_code == 403, r.text
    tiers = {t["name"]: t["isolation"] for t in client.get("/api/v1/tenants", headers=admin).json()}
    assert tiers["vault"] == "gvisor" and tiers["acme"] == "default" and "odd" not in tiers
    r = client.post("/api/v1/tenants", json={"name": "box", "isolation": "bwrap"}, headers=admin)
    assert r.status_code == 201 and r.json()["isolation"] == "bwrap", r.text
