"""The IDE's sessions: a token exchanged for an HttpOnly, SameSite=Strict cookie; changes
need the session's CSRF token and the same origin; sign-out, expiry and a revoked token
end a session."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from atoll.services import ControlPlane
from atoll.store.tables import ide_sessions
from atoll.store.tenants import now

SESSION = "/api/v1/session"


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _sign_in(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post(SESSION, json={"token": _token(headers)})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def test_signing_in_sets_a_strict_http_only_cookie_and_changes_need_the_csrf_token(
    client: TestClient, acme: dict[str, str]
) -> None:
    r = client.post(SESSION, json={"token": _token(acme)})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("atoll_session=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/" in cookie and "Max-Age=604800" in cookie
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["tenant"] == "acme" and body["token_name"] == "default"
    csrf = body["csrf_token"]
    assert len(csrf) >= 40 and csrf not in cookie

    assert client.get("/api/v1/apps").status_code == 200  # reading needs the cookie only
    assert client.get(SESSION).json()["csrf_token"] == csrf
    refused = client.post("/api/v1/apps", json={"name": "shop"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.text
    wrong = client.post("/api/v1/apps", json={"name": "shop"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/apps", json={"name": "shop"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    for other in (
        {"Origin": "http://dev--shop--acme.localhost:8080"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        r = client.delete("/api/v1/apps/shop", headers={"X-CSRF-Token": csrf, **other})
        assert r.status_code == 403 and "another origin" in r.text, other
    same = {"X-CSRF-Token": csrf, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.get("/api/v1/apps/shop", headers=same).status_code == 200


def test_a_session_sees_only_its_tenant_and_a_bearer_token_wins(
    client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "secret"}, headers=globex).status_code == 201
    _sign_in(client, acme)
    assert client.get("/api/v1/apps/secret").status_code == 404
    assert client.get("/api/v1/apps/secret", headers=globex).status_code == 200
    assert client.get(SESSION, headers=globex).status_code == 403  # not a session call


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"token": "atl_not-a-real-token"}, 401),
        ({"token": ""}, 422),
        ({"token": "x" * 201}, 422),
        ({"token": "t", "remember": True}, 422),
        ({}, 422),
    ],
)
def test_bad_sign_ins(
    client: TestClient, acme: dict[str, str], body: dict[str, object], status: int
) -> None:
    r = client.post(SESSION, json=body)
    assert r.status_code == status, r.text
    assert "set-cookie" not in r.headers


def test_sign_in_takes_json_from_this_origin_and_no_admin_token(
    client: TestClient, acme: dict[str, str], admin: dict[str, str]
) -> None:
    form = client.post(SESSION, data={"token": _token(acme)})
    assert form.status_code == 422 and "as JSON" in form.text
    admin_in = client.post(SESSION, json={"token": _token(admin)})
    assert admin_in.status_code == 403 and "tenant's token" in admin_in.text
    elsewhere = client.post(
        SESSION, json={"token": _token(acme)}, headers={"Origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403 and "set-cookie" not in elsewhere.headers


def test_sign_out_ends_the_session(client: TestClient, acme: dict[str, str]) -> None:
    csrf = _sign_in(client, acme)
    cookie = client.cookies.get("atoll_session")
    assert client.delete(SESSION).status_code == 403  # a change like any other: needs CSRF
    r = client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and 'atoll_session=""' in r.headers["set-cookie"]
    client.cookies.set("atoll_session", str(cookie))  # a copy kept by someone
    ended = client.get("/api/v1/apps")
    assert ended.status_code == 401 and "sign in again" in ended.text


def test_revoking_the_token_ends_its_sessions(client: TestClient, acme: dict[str, str]) -> None:
    made = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=acme).json()
    client.post(SESSION, json={"token": made["token"]})
    assert client.get("/api/v1/apps").status_code == 200
    token_id = made["token_info"]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=acme).status_code == 200
    assert client.get("/api/v1/apps").status_code == 401


@pytest.mark.parametrize("column", ["seen_at", "expires_at"])
def test_idle_and_old_sessions_end(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], column: str
) -> None:
    _sign_in(client, acme)
    assert client.get("/api/v1/apps").status_code == 200
    back = now() - timedelta(days=400)
    with cp.engine.begin() as conn:
        conn.execute(sa.update(ide_sessions).values({column: back}))
    assert client.get("/api/v1/apps").status_code == 401
    with cp.engine.connect() as conn:  # an ended session's row goes with it
        assert conn.execute(sa.select(sa.func.count()).select_from(ide_sessions)).scalar() == 0
