"""The gateway's own HTTP/1.1 server, spoken to byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from atoll.config import HttpLimits
from atoll.gateway.app import MAX_FUNCTION_BODY, Gateway
from atoll.gateway.http import GatewayServer
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
    "functions/hello.py": 'def get(name: str = "world") -> dict[str, str]:\n'
    '    return {"hello": name}\n',
    "functions/echo.py": "from atoll import Request\n\n\n"
    "def post(request: Request) -> dict[str, int]:\n"
    "    return {'size': len(request.body)}\n",
    "functions/slow.py": "import time\n\n\ndef get() -> str:\n    time.sleep(0.5)\n"
    "    return 'done'\n",
    "static/robots.txt": "User-agent: *\n",
}


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@dataclass
class Served:
    server: GatewayServer
    port: int


@pytest.fixture
async def served(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> AsyncIterator[Served]:
    """The gateway's HTTP server with short timeouts, serving one app of tenant acme."""
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", FUNCTIONS)
    runtime = Runtime(cp.settings)
    await runtime.start()
    server = GatewayServer(Gateway(cp, runtime), idle_timeout=1.0, request_timeout=1.0)
    await server.start(listen("127.0.0.1", 0))
    assert server.address is not None
    try:
        yield Served(server, server.address[1])
    finally:
        await server.close()
        await runtime.shutdown()


def request(target: bytes, method: bytes = b"GET", extra: bytes = b"", body: bytes = b"") -> bytes:
    head = method + b" " + target + b" HTTP/1.1\r\nHost: " + HOST + b"\r\n" + extra
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


async def read_response(
    reader: asyncio.StreamReader, head_only: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = 0 if head_only else int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), 10)
    return status, headers, body


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 10) == b""


async def test_keep_alive_and_pipelined_requests_answer_in_order(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request(b"/api/slow") + request(b"/api/hello?name=a") + request(b"/robots.txt"))
    first = await read_response(reader)
    second = await read_response(reader)
    third = await read_response(reader)
    assert first[0] == 200 and json.loads(first[2]) == "done"
    assert second[0] == 200 and json.loads(second[2]) == {"hello": "a"}
    assert "x-atoll-request-id" in second[1] and "date" in second[1]
    assert third[0] == 200 and third[2] == b"User-agent: *\n"
    # The same connection keeps serving.
    writer.write(request(b"/api/echo", b"POST", body=b"x" * 1000))
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body) == {"size": 1000}
    writer.close()


async def test_chunked_body_and_expect_continue(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(
        request(b"/api/echo", b"POST", b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n")
    )
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) == (
        b"HTTP/1.1 100 Continue\r\n\r\n"
    )
    writer.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body) == {"size": 11}
    writer.close()


async def test_head_has_the_length_but_no_body(served: Served) -> None:
    reader, writer = await connect(served.port)
    get = request(b"/api/hello")
    writer.write(get.replace(b"GET", b"HEAD", 1) + get)
    status, headers, _ = await read_response(reader, head_only=True)
    assert status == 200 and int(headers["content-length"]) == len(b'{"hello":"world"}')
    status, _, body = await read_response(reader)  # the next response starts right after
    assert status == 200 and json.loads(body) == {"hello": "world"}
    writer.write(request(b"/robots.txt", b"HEAD"))
    status, headers, _ = await read_response(reader, head_only=True)
    assert status == 200 and headers["content-length"] == "14"
    writer.write(request(b"/api/hello"))
    assert (await read_response(reader))[0] == 200
    writer.close()


async def test_http_1_0_and_connection_close_end_the_connection(served: Served) -> None:
    for raw in (
        b"GET /api/hello HTTP/1.0\r\nHost: " + HOST + b"\r\n\r\n",
        request(b"/api/hello", extra=b"Connection: close\r\n"),
    ):
        reader, writer = await connect(served.port)
        writer.write(raw)
        status, headers, _ = await read_response(reader)
        assert status == 200 and headers["connection"] == "close"
        assert await closed_by_server(reader)
        writer.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET /api/hello HTTP/1.1\r\nHost: " + HOST + b"\r\nBad Header\r\n\r\n", 400),
        (request(b"/api/hello", extra=b"X-Big: " + b"a" * 70_000 + b"\r\n"), 431),
        (request(b"/api/hello", extra=b"".join(b"X-%d: 1\r\n" % i for i in range(300))), 431),
        (request(b"/api/echo", b"POST", b"Content-Length: %d\r\n" % (MAX_FUNCTION_BODY + 1)), 413),
    ],
)
async def test_bad_requests_get_an_error_and_the_connection_closes(
    served: Served, raw: bytes, status: int
) -> None:
    reader, writer = await connect(served.port)
    writer.write(raw)
    got, headers, body = await read_response(reader)
    assert got == status, body
    assert headers["connection"] == "close"
    assert "error" in json.loads(body)
    assert await closed_by_server(reader)
    writer.close()


async def test_oversized_chunked_body_is_refused_while_it_streams(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request(b"/api/echo", b"POST", b"Transfer-Encoding: chunked\r\n"))
    chunk = b"x" * (1 << 20)
    for _ in range(7):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
    status, _, body = await read_response(reader)
    assert status == 413 and json.loads(body)["error"]["detail"]["max"] == MAX_FUNCTION_BODY
    writer.close()


async def test_slow_request_times_out_and_idle_connection_closes(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(b"GET /api/hello HTTP/1.1\r\nHost: ")  # and nothing more
    status, headers, _ = await read_response(reader)
    assert status == 408 and headers["connection"] == "close"
    writer.close()

    reader, writer = await connect(served.port)
    writer.write(request(b"/api/hello"))
    assert (await read_response(reader))[0] == 200
    assert await closed_by_server(reader)  # idle past idle_timeout
    writer.close()


async def test_client_gone_mid_request_leaves_the_server_serving(served: Served) -> None:
    for _ in range(3):
        _, writer = await connect(served.port)
        writer.write(request(b"/api/slow") + request(b"/api/slow"))
        await writer.drain()
        writer.close()  # gone while the function runs
    await asyncio.sleep(0.2)
    reader, writer = await connect(served.port)
    writer.write(request(b"/api/hello?name=after"))
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body) == {"hello": "after"}
    writer.close()


async def test_other_tenants_and_unknown_hosts_are_404(served: Served) -> None:
    reader, writer = await connect(served.port)
    for host in (b"dev--shop--globex.localhost", b"localhost", b"dev--shop--acme.evil.com", b""):
        writer.write(request(b"/api/hello").replace(b"Host: " + HOST, b"Host: " + host))
        status, _, body = await read_response(reader)
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found", host
    writer.close()


async def test_close_lets_requests_in_flight_finish(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request(b"/api/slow"))
    await asyncio.sleep(0.1)
    closing = asyncio.ensure_future(served.server.close())
    status, headers, body = await read_response(reader)
    assert status == 200 and json.loads(body) == "done"
    assert headers.get("connection") == "close" or await closed_by_server(reader)
    await closing
    with pytest.raises(OSError):
        await connect(served.port)
    writer.close()


async def test_many_pipelined_bodies_are_all_answered(served: Served) -> None:
    reader, writer = await connect(served.port)
    body = b"y" * (1 << 20)
    count = 20  # more requests and more bytes than one connection may have waiting
    writer.write(b"".join(request(b"/api/echo", b"POST", body=body) for _ in range(count)))
    for _ in range(count):
        status, _, answer = await read_response(reader)
        assert status == 200 and json.loads(answer) == {"size": len(body)}
    writer.close()


async def test_a_header_value_that_never_ends_is_refused_while_it_streams(served: Served) -> None:
    # httptools keeps a header value until the next line starts: count what arrives.
    reader, writer = await connect(served.port)
    writer.write(request(b"/api/hello").removesuffix(b"\r\n") + b"X-Big: ")
    with contextlib.suppress(ConnectionError):
        for _ in range(4):
            writer.write(b"a" * (64 * 1024))
            await writer.drain()
    status, headers, body = await read_response(reader)
    assert status == 431 and headers["connection"] == "close"
    assert json.loads(body)["error"]["detail"]["limit"] == "max_head_bytes"
    writer.close()


@pytest.fixture
async def patient(served: Served) -> AsyncIterator[int]:
    """A second server of the same gateway: long request timeouts, a short head deadline."""
    limits = HttpLimits(head_timeout_seconds=0.5)
    server = GatewayServer(served.server.gateway, 60.0, 60.0, limits=limits)
    await server.start(listen("127.0.0.1", 0))
    assert server.address is not None
    try:
        yield server.address[1]
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def trickling(writer: asyncio.StreamWriter, parts: list[bytes]) -> AsyncIterator[None]:
    """Send ``parts`` one every 0.2 s while the body runs; they must not all go through."""

    async def trickle() -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.2)

    task = asyncio.ensure_future(trickle())
    try:
        yield
        assert not task.done(), "everything went through: the test proves nothing"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


async def test_a_trickled_head_is_cut_off_at_the_head_deadline(patient: int) -> None:
    reader, writer = await connect(patient)
    head = request(b"/api/hello", extra=b"".join(b"X-%d: 1\r\n" % i for i in range(100)))
    # A header line every 0.2 s: 20 s for the whole head.
    async with trickling(writer, [line + b"\n" for line in head.split(b"\n")]):
        status, headers, body = await read_response(reader)
        assert status == 408 and headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "request_timeout"
    writer.close()


async def test_a_connection_that_never_asks_is_closed_and_a_quick_one_is_served(
    patient: int,
) -> None:
    silent_reader, silent = await connect(patient)
    reader, writer = await connect(patient)
    writer.write(request(b"/api/hello"))
    assert (await read_response(reader))[0] == 200
    assert await closed_by_server(silent_reader)  # without an answer
    silent.close()
    writer.close()


async def test_blank_lines_do_not_hold_a_connection(patient: int) -> None:
    # Blank lines before a request start no message, but they are the start of a head.
    for answered_first in (False, True):
        reader, writer = await connect(patient)
        if answered_first:
            writer.write(request(b"/api/hello"))
            assert (await read_response(reader))[0] == 200
        async with trickling(writer, [b"\r\n"] * 100):
            status, _, body = await read_response(reader)
            assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
        writer.close()
