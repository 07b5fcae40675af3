"""Each app environment serves the generated docs of what it serves, at /_atoll/docs/."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from atoll.gateway.app import Gateway
from atoll.runtime import Runtime
from atoll.services import ControlPlane
from tests.api.builds import wait_for_build
from tests.conftest import commit_text

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]

V1 = (
    '"""Greetings."""\n\ndef get(name: str = "world") -> dict[str, str]:\n'
    '    return {"hello": name}\n'
)
V2 = (
    '"""Greetings."""\n\ndef get(name: str, times: int = 1) -> list[str]:\n'
    '    """Greet several times."""\n    return ["hello " + name] * times\n'
)
PAGE = '{"schemaVersion": 1, "title": "Hi", "root": {"type": "Heading", "props": {"text": "hi"}}}'
MIGRATION = "CREATE TABLE visits (id INTEGER PRIMARY KEY, who TEXT NOT NULL);\n"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture
async def gateway(cp: ControlPlane) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's ASGI app (the docs run no function: no runtime started).
    Made off the loop, as the test's synchronous API calls block it: a promotion then does
    not wait for the loop to start the new release's workers."""
    gateway = await asyncio.to_thread(Gateway, cp, Runtime(cp.settings))
    transport = httpx.ASGITransport(app=gateway.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client
    finally:
        await asyncio.to_thread(gateway.deployments.close)


def _origin(env: str, app: str = "shop", tenant: str = "acme") -> dict[str, str]:
    return {"Host": f"{env}--{app}--{tenant}.localhost:8080"}


def _release(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post("/api/v1/apps/shop/releases", json={}, headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    version: str = r.json()["version"]
    return version


def _promote(client: TestClient, headers: dict[str, str], env: str, version: str) -> None:
    r = client.post(
        f"/api/v1/apps/shop/envs/{env}/promote", json={"release": version}, headers=headers
    )
    assert r.status_code == 200, r.text


def _hello(doc: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = doc["functions"]["paths"]["/api/hello"]["get"]
    return op


async def test_each_release_documents_itself(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    files = {"pages/index.json": PAGE, "functions/hello.py": V1, "migrations/0001_v.sql": MIGRATION}
    commit_text(client, acme, "shop", files)
    v1 = _release(client, acme)
    r = client.get(f"/api/v1/apps/shop/releases/{v1}", headers=acme)
    assert "docs: 1 operation, 0 components, 1 page, 1 table" in r.json()["build_log"]
    _promote(client, acme, "prod", v1)

    revision = commit_text(client, acme, "shop", {"functions/hello.py": V2})["revision"]
    v2 = _release(client, acme)
    _promote(client, acme, "staging", v2)
    assert isinstance(revision, str)
    wait_for_build(client, acme, "shop", revision)

    prod = (await gateway.get("/_atoll/docs/docs.json", headers=_origin("prod"))).json()
    staging = (await gateway.get("/_atoll/docs/docs.json", headers=_origin("staging"))).json()
    dev = (await gateway.get("/_atoll/docs/docs.json", headers=_origin("dev"))).json()
    assert [p["name"] for p in _hello(prod)["parameters"]] == ["name"]
    assert _hello(prod)["parameters"][0]["required"] is False
    assert [p["name"] for p in _hello(staging)["parameters"]] == ["name", "times"]
    assert _hello(staging)["summary"] == "Greet several times."
    assert _hello(dev) == _hello(staging)  # dev: the same head, documented on request
    assert prod["revision"] != staging["revision"]
    assert [t["name"] for t in prod["database"]["tables"]] == ["visits"]

    r = await gateway.get("/_atoll/docs/openapi.json", headers=_origin("prod"))
    assert r.status_code == 200 and r.json()["paths"]["/api/hello"]["get"] == _hello(prod)
    r = await gateway.get("/_atoll/docs/", headers=_origin("prod"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self' http://" in policy
    assert "release v1" in r.text and "/api/hello" in r.text and "visits" in r.text
    staging_page = (await gateway.get("/_atoll/docs/", headers=_origin("staging"))).text
    assert "times" in staging_page and "times" not in r.text

    r = await gateway.get("/_atoll/docs", headers=_origin("prod"))
    assert r.status_code == 308 and r.headers["location"] == "/_atoll/docs/"
    r = await gateway.get("/_atoll/docs/try", headers=_origin("prod"))
    assert r.status_code == 200 and "swagger-ui-bundle.js" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for asset in ("appdocs.css", "try.js", "swagger-ui.css", "swagger-ui-bundle.js"):
        r = await gateway.get(f"/_atoll/docs/assets/{asset}", headers=_origin("prod"))
        assert r.status_code == 200, asset
    for missing in ("/_atoll/docs/nope", "/_atoll/docs/assets/index.html",
                    "/_atoll/docs/assets/../../../etc/passwd"):  # fmt: skip
        r = await gateway.get(missing, headers=_origin("prod"))
        assert r.status_code == 404, missing
    r = await gateway.post("/_atoll/docs/docs.json", headers=_origin("prod"))
    assert r.status_code == 404


async def test_another_tenants_docs_are_not_reachable(
    gateway: httpx.AsyncClient,
    client: TestClient,
    acme: dict[str, str],
    globex: dict[str, str],
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    revision = commit_text(client, acme, "shop", {"functions/hello.py": V1})["revision"]
    assert isinstance(revision, str)
    wait_for_build(client, acme, "shop", revision)
    r = await gateway.get("/_atoll/docs/docs.json", headers=_origin("dev"))
    assert r.status_code == 200 and "/api/hello" in r.json()["functions"]["paths"]
    for headers in (
        _origin("dev", tenant="globex"),  # the other tenant has no such app
        _origin("prod"),  # nothing deployed to prod
        {"Host": "dev--shop--acme.evil.com"},
        {"Host": "dev--shop--acme.localhost.evil.com:8080"},
        {"Host": "localhost:8080"},
        {"Host": "dev--shop--acme--globex.localhost:8080"},
        {"Host": ""},
    ):
        r = await gateway.get("/_atoll/docs/docs.json", headers=headers)
        assert r.status_code == 404, (headers, r.text)
        assert "/api/hello" not in r.text
    # An absolute URL naming acme's origin, sent to globex's: globex's Host decides.
    client.post("/api/v1/apps", json={"name": "shop"}, headers=globex)
    other = commit_text(client, globex, "shop", {"pages/index.json": PAGE})["revision"]
    assert isinstance(other, str)
    wait_for_build(client, globex, "shop", other)
    r = await gateway.get(
        "http://dev--shop--acme.localhost:8080/_atoll/docs/docs.json",
        headers=_origin("dev", tenant="globex"),
    )
    assert r.status_code == 200 and r.json()["functions"]["paths"] == {}


async def test_an_app_can_hide_its_docs_in_chosen_environments(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    files = {
        "atoll.toml": 'name = "shop"\n\n[docs]\nhide_in = ["prod"]\n',
        "functions/hello.py": V1,
    }
    revision = commit_text(client, acme, "shop", files)["revision"]
    assert isinstance(revision, str)
    _promote(client, acme, "prod", _release(client, acme))
    _promote(client, acme, "staging", "v1")
    wait_for_build(client, acme, "shop", revision)
    for path in ("/_atoll/docs/", "/_atoll/docs/docs.json", "/_atoll/docs/openapi.json",
                 "/_atoll/docs/try", "/_atoll/docs"):  # fmt: skip
        r = await gateway.get(path, headers=_origin("prod"))
        assert r.status_code == 404 and "/api/hello" not in r.text, path
    for env in ("dev", "staging"):
        r = await gateway.get("/_atoll/docs/docs.json", headers=_origin(env))
        assert r.status_code == 200 and "/api/hello" in r.json()["functions"]["paths"], env


@pytest.mark.parametrize(
    "table",
    ['hide_in = "prod"', 'hide_in = ["Prod"]', "hide_in = [1]", 'hidden = ["prod"]'],
)
async def test_a_bad_docs_table_fails_the_build_at_atoll_toml(
    client: TestClient, acme: dict[str, str], table: str
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(
        client, acme, "shop", {"atoll.toml": f"[docs]\n{table}\n", "functions/hello.py": V1}
    )
    r = client.post("/api/v1/apps/shop/releases", json={}, headers=acme)
    assert r.json()["status"] == "failed", r.text
    errors = r.json()["errors"]
    assert any(e.get("file") == "atoll.toml" and "[docs]" in e["message"] for e in errors), errors
