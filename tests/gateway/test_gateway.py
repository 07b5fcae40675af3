"""The gateway serves each app environment's functions from its own origin."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from atoll.errors import NotFound
from atoll.gateway.app import Gateway
from atoll.gateway.http import GatewayServer
from atoll.names import AppEnv
from atoll.releases.deployments import Deployment
from atoll.runtime import BwrapBackend, Runtime
from atoll.server import listen
from atoll.services import ControlPlane
from tests.api.builds import build_done, env_of, wait_for_build
from tests.attacks import HOSTILE_HEADERS
from tests.conftest import commit_text

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not BwrapBackend.available(), reason="bubblewrap not installed"),
]

HELLO = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture(params=["http", "asgi"])
async def gateway(
    cp: ControlPlane, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway with a started runtime: over TCP to the gateway's own HTTP
    server (what ``atoll serve`` runs), or in-process through its ASGI app."""
    runtime = Runtime(cp.settings)
    await runtime.start()
    server = None
    gateway = Gateway(cp, runtime)
    if request.param == "http":
        server = GatewayServer(gateway)
        await server.start(listen("127.0.0.1", 0))
        assert server.address is not None
        base_url = f"http://127.0.0.1:{server.address[1]}"
        transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport()
    else:
        base_url = "http://gw"
        transport = httpx.ASGITransport(app=gateway.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
    finally:
        if server is not None:
            await server.close()
        await asyncio.to_thread(gateway.deployments.close)
        await runtime.shutdown()


def _origin(env: str, app: str, tenant: str) -> dict[str, str]:
    return {"Host": f"{env}--{app}--{tenant}.localhost:8080"}


async def test_functions_are_served_per_origin(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", {"functions/hello.py": HELLO})
    r = await gateway.get("/api/hello?name=atoll", headers=_origin("dev", "shop", "acme"))
    assert r.status_code == 200, r.text
    assert r.json() == {"hello": "atoll"}

    # A new revision is live in dev at once.
    commit_text(client, acme, "shop", {"functions/hello.py": HELLO.replace("hello", "hi")})
    r = await gateway.get("/api/hello", headers=_origin("dev", "shop", "acme"))
    assert r.json() == {"hi": "world"}

    for headers in (
        _origin("dev", "shop", "globex"),  # the other tenant has no such app
        _origin("prod", "shop", "acme"),  # nothing deployed to prod yet
        _origin("dev", "nope", "acme"),
        {"Host": "localhost:8080"},
        {"Host": "dev--shop--acme.evil.com"},
    ):
        r = await gateway.get("/api/hello", headers=headers)
        assert r.status_code == 404, (headers, r.text)
        assert r.json()["error"]["code"] == "not_found"


async def test_unknown_function_and_oversized_body(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", {"functions/hello.py": HELLO})
    r = await gateway.get("/api/missing", headers=_origin("dev", "shop", "acme"))
    assert r.status_code == 404
    r = await gateway.post(
        "/api/hello", content=b"x" * (7 * 1024 * 1024), headers=_origin("dev", "shop", "acme")
    )
    assert r.status_code == 413
    r = await gateway.get("/api/hello", headers=_origin("dev", "shop", "acme"))
    assert r.status_code == 200


PAGE = '{"schemaVersion": 1, "title": "%s", "root": {"type": "Heading", "props": {"text": "hi"}}}'


async def test_pages_and_assets_and_last_good_build(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    origin = _origin("dev", "shop", "acme")
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(
        client,
        acme,
        "shop",
        {
            "pages/index.json": PAGE % "First",
            "components/Hello.jsx": "export default function Hello() { return <b>hello</b>; }\n",
            "static/robots.txt": "User-agent: *\n",
        },
    )
    r = await gateway.get("/", headers=origin)
    assert r.status_code == 200 and "<title>First</title>" in r.text
    assert '<script type="importmap">' in r.text
    assert r.headers["cache-control"] == "no-cache"
    asset = next(p for p in r.text.split('"') if p.startswith("/_atoll/") and p.endswith(".js"))
    r = await gateway.get(asset, headers=origin)
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    assert (await gateway.get("/robots.txt", headers=origin)).text == "User-agent: *\n"
    assert (await gateway.get("/nope", headers=origin)).status_code == 404
    assert (await gateway.get("/_atoll/assets/../../etc/passwd", headers=origin)).status_code == 404

    # A revision that does not build is not deployed: dev keeps serving the last good one.
    commit_text(client, acme, "shop", {"pages/index.json": '{"schemaVersion": 1, "root": '})
    r = await gateway.get("/", headers=origin)
    assert r.status_code == 200 and "<title>First</title>" in r.text
    commit_text(client, acme, "shop", {"pages/index.json": PAGE % "Second"})
    r = await gateway.get("/", headers=origin)
    assert "<title>Second</title>" in r.text


async def _built(client: TestClient, headers: dict[str, str], revision: str) -> Any:
    """The dev environment once the build of ``revision`` finished (polled like the CLI)."""
    for _ in range(2400):
        found = env_of(client, headers, "shop")
        if build_done(found, revision):
            return found
        await asyncio.sleep(0.05)  # the gateway's loop runs meanwhile (build logs go through it)
    raise AssertionError(found)


async def test_a_function_that_does_not_compile_is_not_deployed(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    origin = _origin("dev", "shop", "acme")
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    good = commit_text(client, acme, "shop", {"functions/hello.py": HELLO})["revision"]
    assert isinstance(good, str)
    assert (await _built(client, acme, good))["build"]["state"] == "ready"
    assert (await gateway.get("/api/hello", headers=origin)).json() == {"hello": "world"}

    broken = commit_text(
        client, acme, "shop", {"functions/hello.py": "def get():\n    return {'hi':\n"}
    )["revision"]
    assert isinstance(broken, str)
    dev = await _built(client, acme, broken)
    assert dev["build"]["state"] == "failed" and dev["revision"] == good
    (error,) = dev["build"]["errors"]
    assert (error["file"], error["line"]) == ("functions/hello.py", 2)
    # Before this check the function deployed, and failed only when called.
    r = await gateway.get("/api/hello", headers=origin)
    assert r.status_code == 200 and r.json() == {"hello": "world"}
    await asyncio.sleep(0.1)
    r = client.get("/api/v1/apps/shop/envs/dev/logs", headers=acme)
    built = [e for e in r.json()["entries"] if e.get("kind") == "build"]
    assert [e["status"] for e in built] == ["ready", "failed"]
    assert "functions/hello.py:2:" in built[-1]["text"]


async def test_first_revision_that_does_not_build_is_an_error(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(
        client, acme, "shop", {"pages/index.json": '{"schemaVersion": 1, "root": {"type": 5}}'}
    )
    r = await gateway.get("/", headers=_origin("dev", "shop", "acme"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "build_failed"
    assert "index.json" in r.text


SLOW = "import time\n\n\ndef get() -> str:\n    time.sleep(1.5)\n    return 'done'\n"


async def test_full_queue_is_503_with_retry_after(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    toml = 'name = "shop"\n[limits]\nconcurrency = 1\nqueue = 1\n'
    commit_text(client, acme, "shop", {"atoll.toml": toml, "functions/slow.py": SLOW})
    origin = _origin("dev", "shop", "acme")
    first = await gateway.get("/api/slow", headers=origin)  # deploy and warm up
    assert first.status_code == 200, first.text
    replies = await asyncio.gather(*(gateway.get("/api/slow", headers=origin) for _ in range(4)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses[0] == 200 and statuses[-1] == 503, statuses
    busy = next(r for r in replies if r.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1
    assert busy.json()["error"]["code"] == "overloaded"


async def test_function_headers_cannot_act_beyond_the_apps_origin(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", {"functions/hostile.py": HOSTILE_HEADERS})
    origin = _origin("dev", "shop", "acme")
    for _ in range(2):  # the same connection serves on: the function set no framing
        r = await gateway.get("/api/hostile", headers=origin)
        assert r.status_code == 200, r.text
        assert r.text == "ok"
        assert sorted(r.headers.get_list("set-cookie")) == [
            "a=1; Path=/",
            "b=2; HttpOnly",
            "c=3; Path=/",
        ]
        assert r.headers["clear-site-data"] == '"storage"'
        for dropped in ("alt-svc", "x-inject", "x-atoll-revision", "transfer-encoding"):
            assert dropped not in r.headers, dropped
        assert r.headers.get("connection", "keep-alive") == "keep-alive"
        assert r.headers["content-length"] == "2"
        request_ids = r.headers.get_list("x-atoll-request-id")
        assert len(request_ids) == 1 and request_ids[0] != "forged"
        assert r.headers["server-timing"] == "db;dur=1"

    r = await gateway.get("/api/hostile?many=500", headers=origin)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "tenant_code_error"
    assert r.json()["error"]["detail"]["limit"] == "max_response_headers"
    assert "set-cookie" not in r.headers


async def test_static_files_and_errors_are_not_sniffed(
    gateway: httpx.AsyncClient, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", {"static/notes.txt": "<script>alert(1)</script>"})
    origin = _origin("dev", "shop", "acme")
    r = await gateway.get("/notes.txt", headers=origin)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    r = await gateway.get("/<script>alert(1)</script>", headers=origin)
    assert r.status_code == 404 and r.headers["x-content-type-options"] == "nosniff"


async def test_requests_arriving_while_a_lookup_runs_share_it(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    gateway = Gateway(cp, Runtime(cp.settings))
    revision = commit_text(client, acme, "shop", {"functions/hello.py": HELLO})["revision"]
    await asyncio.to_thread(wait_for_build, client, acme, "shop", str(revision))
    calls = 0
    resolve = gateway.deployments.resolve
    loop_thread = threading.get_ident()

    def counted(host: AppEnv) -> Deployment:
        nonlocal calls
        assert threading.get_ident() != loop_thread
        calls += 1
        time.sleep(0.05)  # a metadata query on a busy machine
        return resolve(host)

    gateway.deployments.resolve = counted  # type: ignore[method-assign]
    gateway.deployments._checked.clear()  # what the build confirmed has lapsed
    try:
        host = "dev--shop--acme.localhost:8080"
        found = await asyncio.gather(*(gateway.deployment(host) for _ in range(50)))
        assert calls == 1 and len({d.revision for d in found}) == 1
        missing = "dev--nope--acme.localhost:8080"
        results = await asyncio.gather(
            *(gateway.deployment(missing) for _ in range(5)), return_exceptions=True
        )
        assert calls == 2 and all(isinstance(r, NotFound) for r in results)
        # A request after a change (a promotion, a push) does not join a lookup begun
        # before it, which may answer what was deployed before.
        gateway.deployments._checked.clear()
        first = asyncio.ensure_future(gateway.deployment(host))
        await asyncio.sleep(0.01)  # its lookup is under way
        cp.workspaces.changed()
        await asyncio.gather(first, gateway.deployment(host))
        assert calls == 4
    finally:
        await asyncio.to_thread(gateway.deployments.close)
