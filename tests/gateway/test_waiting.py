"""The gateway's HTTP server and the ledger of connections waiting for their client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from fastapi.testclient import TestClient

from atoll.config import HttpLimits
from atoll.gateway.app import Gateway
from atoll.gateway.http import GatewayServer
from atoll.http_heads import Waiting
from atoll.runtime import BwrapBackend, Runtime
from atoll.server import listen
from atoll.services import ControlPlane
from tests.conftest import commit_text

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not BwrapBackend.available(), reason="bubblewrap not installed"),
]

HOST = b"dev--shop--acme.localhost"
FUNCTIONS = {
    "functions/hello.py": "def get() -> str:\n    return 'hello'\n",
    "functions/slow.py": "import time\n\n\ndef get() -> str:\n    time.sleep(1.0)\n"
    "    return 'slow'\n",
}
LIMITS = HttpLimits(
    head_timeout_seconds=3,
    max_incomplete_per_address=3,
    max_idle_per_address=2,
    per_address_exempt=[],  # loopback clients are capped too
)


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture
async def gateway(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> AsyncIterator[GatewayServer]:
    """The gateway's HTTP server under ``LIMITS``, serving one app of tenant acme."""
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", FUNCTIONS)
    runtime = Runtime(cp.settings)
    await runtime.start()
    server = GatewayServer(Gateway(cp, runtime), limits=LIMITS)
    await server.start(listen("127.0.0.1", 0))
    try:
        yield server
    finally:
        await server.close()
        await runtime.shutdown()


def request(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: " + HOST + b"\r\n\r\n"


async def read_body(reader: asyncio.StreamReader) -> bytes:
    """The body of one response (with a content-length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await asyncio.wait_for(reader.readexactly(length), 20)


async def connect(
    server: GatewayServer, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert server.address is not None
    return await asyncio.open_connection("127.0.0.1", server.address[1], local_addr=(source, 0))


async def is_open(reader: asyncio.StreamReader, wait: float = 0.3) -> bool:
    """Whether the server keeps the connection open (nothing to read) for ``wait`` s."""
    try:
        data = await asyncio.wait_for(reader.read(1), wait)
    except TimeoutError:
        return True
    except ConnectionResetError:
        return False
    assert data == b"", data
    return False


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server ends the connection, without an answer, within ``seconds``."""
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_past_the_per_address_cap_the_oldest_incomplete_connection_is_closed(
    gateway: GatewayServer,
) -> None:
    first = await connect(gateway)
    await asyncio.sleep(0.05)
    second = await connect(gateway)
    second[1].write(b"GET /api/hello HTTP/1.1\r\n")  # a part-read head counts the same
    third = await connect(gateway)
    elsewhere = await connect(gateway, "127.0.0.2")
    await asyncio.sleep(0.1)
    assert gateway.ledger.count(Waiting.HEAD, "127.0.0.1") == 3
    newest = await connect(gateway)
    assert await closed_within(first[0], 2)  # at once, long before the 3 s head deadline
    assert all([await is_open(r) for r, _ in (second, third, elsewhere)])
    newest[1].write(request(b"/api/hello"))
    assert await read_body(newest[0]) == b'"hello"'
    for _, writer in (first, second, third, elsewhere, newest):
        writer.close()


async def test_connections_waiting_for_a_function_are_not_counted(
    gateway: GatewayServer,
) -> None:
    busy = [await connect(gateway) for _ in range(3)]
    for _, writer in busy:
        writer.write(request(b"/api/slow"))
    await asyncio.sleep(0.5)  # the three calls run
    assert gateway.ledger.count(Waiting.HEAD, "127.0.0.1") == 0
    silent = [await connect(gateway) for _ in range(3)]  # the cap, reached by others
    for reader, _ in busy:
        assert await read_body(reader) == b'"slow"'
    # Three kept-alive connections idle now, two allowed: the one idle longest is closed.
    still = [await is_open(reader, 0.5) for reader, _ in busy]
    assert still.count(True) == 2, still
    assert gateway.ledger.count(Waiting.IDLE, "127.0.0.1") == 2
    assert all([await is_open(r) for r, _ in silent])
    for _, writer in busy + silent:
        writer.close()


async def test_the_first_head_deadline_runs_from_the_opening(gateway: GatewayServer) -> None:
    reader, writer = await connect(gateway)
    opened = time.monotonic()
    await asyncio.sleep(2.5)  # silent for most of the 3 s, then trickle a head
    writer.write(b"GET /api/hello HTTP/1.1\r\n")
    status_line = b""
    while not status_line:
        writer.write(b"X: y\r\n")
        try:
            status_line = await asyncio.wait_for(reader.readline(), 0.2)
        except TimeoutError:
            continue
    assert status_line.startswith(b"HTTP/1.1 408")
    # Closed at 3 s after opening (the sweep runs each second), not 3 s after the first byte.
    assert time.monotonic() - opened < 5.3
    writer.close()
