"""Headers every control-plane response carries, whatever produced it."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from atoll.config import MiB

STRICT = "default-src 'none'"


def _guarded(headers: httpx.Headers, strict: bool = True) -> None:
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    policy = headers.get("content-security-policy", "")
    assert (STRICT in policy and "frame-ancestors 'none'" in policy) == strict, policy


def test_api_answers_and_errors_are_not_sniffed_or_rendered(
    client: TestClient, acme: dict[str, str]
) -> None:
    for response, status in (
        (client.get("/healthz"), 200),
        (client.get("/api/v1/me", headers=acme), 200),
        (client.get("/api/v1/me"), 401),
        # Error messages echo what the caller sent: they are JSON, never a page.
        (client.get("/api/v1/apps/<script>alert(1)</script>", headers=acme), 404),
        (client.get("/<svg onload=alert(1)>"), 404),
        (client.post("/api/v1/apps", json={"name": "<b>x</b>"}, headers=acme), 400),
        (client.post("/api/v1/apps", json={"nom": 1}, headers=acme), 422),
        (client.delete("/healthz"), 405),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        _guarded(response.headers)


def test_body_size_refusals_carry_the_headers_too(client: TestClient, acme: dict[str, str]) -> None:
    big = b"{" + b" " * (9 * MiB) + b"}"
    r = client.post(
        "/api/v1/apps", content=big, headers={**acme, "content-type": "application/json"}
    )
    assert r.status_code == 413
    _guarded(r.headers)


def test_the_docs_page_still_loads(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200
    _guarded(client.get("/api/v1/openapi.json").headers)
    r = client.get("/api/docs")
    assert r.status_code == 200
    # The interactive docs run their own scripts under a policy of their own (the API's
    # strict one, with its sandbox, would stop them); tests/api/test_front_door.py has it.
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "sandbox" not in policy


def test_openapi_declares_the_bearer_token_for_the_docs_authorize_button(
    client: TestClient, acme: dict[str, str]
) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["token"]["description"],
    }
    assert {"token": []} in spec["paths"]["/api/v1/apps"]["get"]["security"]
    # The declared scheme changes nothing about who gets in.
    assert client.get("/api/v1/apps").status_code == 401
    assert client.get("/api/v1/apps", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert client.get("/api/v1/apps", headers={"Authorization": "Bearer  "}).status_code == 401
    assert client.get("/api/v1/apps", headers=acme).status_code == 200
