"""Slow and oversized request heads against real uvicorn servers on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from atoll.config import HttpLimits
from atoll.dbservice.server import make_server
from atoll.errors import AtollError
from atoll.http_heads import GuardedConfig, HeadBudget, HeadTooLarge
from atoll.server import listen

pytestmark = pytest.mark.anyio

LIMITS = HttpLimits(head_timeout_seconds=0.5, max_head_bytes=4096, max_headers=20)


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


async def _hello(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def small_app_server(_tmp: Path) -> uvicorn.Server:
    """A tiny app behind ``GuardedConfig`` (what ``atoll serve`` runs the control plane on)."""
    app = Starlette(routes=[Route("/", _hello), Route("/echo", _echo, methods=["POST"])])
    return uvicorn.Server(GuardedConfig(app, LIMITS, log_level="error", lifespan="off"))


def db_service_server(tmp: Path) -> uvicorn.Server:
    """The DB service as ``atoll.dbservice.serve`` runs it."""
    (tmp / "data").mkdir()
    return make_server(tmp / "data", limits=LIMITS)


@pytest.fixture(params=[small_app_server, db_service_server], ids=["guarded", "dbservice"])
async def port(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[int]:
    """The port of a real uvicorn server with a 0.5 s head deadline, 4 KiB heads, 20 lines."""
    factory: Callable[[Path], uvicorn.Server] = request.param
    server = factory(tmp_path)
    sock = listen("127.0.0.1", 0)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))), 20)
    return int(lines[0].split(" ")[1]), headers, body


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server ends the connection (EOF or reset) with nothing more to read."""
    try:
        return await asyncio.wait_for(reader.read(), 20) == b""
    except ConnectionResetError:
        return True


def get(target: bytes = b"/", extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


@contextlib.asynccontextmanager
async def trickling(writer: asyncio.StreamWriter, data: bytes, size: int) -> AsyncIterator[None]:
    """Send ``data`` ``size`` bytes every 0.2 s while the body runs; the head must not end."""

    async def trickle() -> None:
        for at in range(0, len(data), size):
            writer.write(data[at : at + size])
            await writer.drain()
            await asyncio.sleep(0.2)

    task = asyncio.ensure_future(trickle())
    try:
        yield
        assert not task.done(), "the whole head went through: the test proves nothing"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


@pytest.mark.parametrize(
    ("data", "size"),
    [
        # a byte every 0.2 s: the 60-byte start of a head takes 12 s
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 20, 1),
        # a header line every 0.2 s (each line is 8 bytes)
        (
            b"GET / HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"X-%02d: 1\r\n" % i for i in range(19)),
            8,
        ),
    ],
    ids=["byte", "line"],
)
async def test_a_trickled_head_is_answered_408_and_closed(
    port: int, data: bytes, size: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    async with trickling(writer, data, size):
        status, headers, body = await read_response(reader)
        assert status == 408 and headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "request_timeout"
        assert await closed_by_server(reader)
    writer.close()


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await closed_by_server(reader)  # and without an answer: nothing was asked
    writer.close()


async def test_well_behaved_clients_are_served_and_keep_alive_is_not_head_time(
    port: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(get())
    first = await read_response(reader)
    assert first[0] in (200, 404)  # the DB service has no "/": any answer will do
    await asyncio.sleep(1.0)  # idle between requests, longer than the head deadline
    writer.write(get())
    assert (await read_response(reader))[0] in (200, 404)
    # A head sent in parts, well within the deadline, is fine.
    request = get()
    writer.write(request[:10])
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.write(request[10:])
    assert (await read_response(reader))[0] in (200, 404)
    writer.close()


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        (get(extra=b"X-Big: " + b"a" * 5000 + b"\r\n"), "max_head_bytes"),
        (get(b"/" + b"a" * 5000), "max_head_bytes"),
        (get(extra=b"".join(b"X-%d: 1\r\n" % i for i in range(25))), "max_headers"),
    ],
    ids=["header", "target", "lines"],
)
async def test_an_oversized_head_is_431(port: int, raw: bytes, limit: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    status, headers, body = await read_response(reader)
    assert status == 431 and headers["connection"] == "close"
    assert json.loads(body)["error"]["detail"]["limit"] == limit
    assert await closed_by_server(reader)
    writer.close()


async def test_a_header_value_that_never_ends_is_refused_while_it_streams(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
    with contextlib.suppress(ConnectionError):
        for _ in range(8):
            writer.write(b"a" * 1024)
            await writer.drain()
    status, _, body = await read_response(reader)
    assert status == 431 and json.loads(body)["error"]["detail"]["limit"] == "max_head_bytes"
    writer.close()


@pytest.mark.parametrize("port", [small_app_server], indirect=True)
async def test_bodies_and_pipelined_requests_do_not_count_as_head(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b"x" * 20_000  # five times the head limit, in the same writes as the heads
    post = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)
    writer.write((post + body) * 3 + get())
    for _ in range(3):
        status, _, answer = await read_response(reader)
        assert status == 200 and json.loads(answer) == {"size": len(body)}
    assert (await read_response(reader))[2] == b"hello"
    writer.close()


def test_head_budget_cuts_data_at_the_limit() -> None:
    budget = HeadBudget(10)
    assert list(budget.pieces(b"abcd")) == [b"abcd"]
    pieces = budget.pieces(b"efghijklmn")
    assert next(pieces) == b"efghij"  # up to the limit, then the parser's turn
    with pytest.raises(HeadTooLarge):
        next(pieces)
    budget = HeadBudget(10)
    pieces = budget.pieces(b"head\r\n\r\n" + b"body" * 10)
    assert next(pieces) == b"head\r\n\r\nbo"
    budget.head_complete()  # the parser saw the end of the head
    assert next(pieces) == b"dy" + b"body" * 9
    budget.next_request()
    assert list(budget.pieces(b"a" * 10)) == [b"a" * 10]


def test_head_budget_knows_when_a_part_read_head_began() -> None:
    budget = HeadBudget(1000)
    budget.mark(1.0)
    assert budget.started is None  # nothing read: no head, no deadline
    list(budget.pieces(b"\r\n"))
    budget.mark(2.0)
    budget.mark(3.0)
    assert budget.started == 2.0  # from the first byte, blank lines included
    budget.head_complete()
    assert budget.started is None
    budget.next_request()
    list(budget.pieces(b"GET / HTTP/1.1\r\n"))
    budget.mark(4.0)
    assert budget.started == 4.0
    assert isinstance(HeadTooLarge("x"), AtollError) and HeadTooLarge.status == 431


async def test_blank_lines_after_a_response_do_not_hold_the_connection(port: int) -> None:
    # Blank lines before a request start no message, but they are the start of a head.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(get())
    assert (await read_response(reader))[0] in (200, 404)
    async with trickling(writer, b"\r\n" * 100, 2):
        status, _, body = await read_response(reader)
        assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
        assert await closed_by_server(reader)
    writer.close()
