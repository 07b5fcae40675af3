"""Slow and oversized request heads against real uvicorn servers on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from ipaddress import IPv4Network
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
from atoll.http_heads import (
    ConnectionLedger,
    GuardedConfig,
    HeadBudget,
    HeadTooLarge,
    Waiting,
    waiting_for,
)
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


def test_head_budget_can_start_the_first_deadline_at_the_opening() -> None:
    budget = HeadBudget(1000, opened=1.0)
    list(budget.pieces(b"GET"))
    budget.mark(5.0)
    assert budget.started == 1.0  # a late first byte does not restart the clock
    budget.head_complete()
    budget.next_request()
    list(budget.pieces(b"GET"))
    budget.mark(9.0)
    assert budget.started == 9.0  # a later request's head: from its first byte


# -- what a connection waits for, and the ledger that counts them ------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, Waiting.HEAD),  # new: nothing sent yet
        ({"head_bytes": 10}, Waiting.HEAD),  # a head part-read
        ({"answered": True}, Waiting.IDLE),  # kept alive after an answer
        ({"answered": True, "head_bytes": 1}, Waiting.HEAD),  # the next head started
        ({"in_head": False}, None),  # a body is arriving
        ({"busy": True}, None),  # a function runs / a response is written
        ({"busy": True, "head_bytes": 10}, None),  # ... with the next request part-read
        ({"refused": True, "answered": True}, Waiting.HEAD),  # answered an error, draining
        ({"refused": True, "busy": True}, None),  # the error waits behind an answer
    ],
)
def test_what_a_connection_waits_for(state: dict[str, object], expected: Waiting | None) -> None:
    full: dict[str, object] = {
        "in_head": True, "head_bytes": 0, "answered": False, "busy": False, "refused": False,
    }  # fmt: skip
    full.update(state)
    assert waiting_for(**full) is expected  # type: ignore[arg-type]


class Conn:
    """A connection as the ledger sees one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True

    def __repr__(self) -> str:
        return self.name


def ledger(**caps: object) -> ConnectionLedger:
    settings: dict[str, object] = {
        "max_incomplete_per_address": 3, "max_incomplete": 5,
        "max_idle_per_address": 2, "max_idle": 4,
    }  # fmt: skip
    settings.update(caps)
    return ConnectionLedger(HttpLimits(**settings))  # type: ignore[arg-type]


def enter(book: ConnectionLedger, names: str, address: str | None, kind: Waiting) -> list[Conn]:
    """Connections ``names`` (one per letter) entering ``book``; none may be evicted."""
    conns = [Conn(name) for name in names]
    for conn in conns:
        assert book.update(conn, address, kind) == ()
    return conns


def test_past_an_addresss_cap_its_oldest_incomplete_connection_goes() -> None:
    book = ledger()
    a, b, c = enter(book, "abc", "192.0.2.1", Waiting.HEAD)
    (x,) = enter(book, "x", "192.0.2.2", Waiting.HEAD)  # another address: its own count
    d = Conn("d")
    assert book.update(d, "192.0.2.1", Waiting.HEAD) == (a,)  # the oldest, not the newest
    assert book.count(Waiting.HEAD, "192.0.2.1") == 3 and book.count(Waiting.HEAD) == 4
    # The evicted one is gone: closing it later changes nothing.
    assert book.update(a, "192.0.2.1", None) == ()
    assert book.count(Waiting.HEAD) == 4
    # One that leaves (its head arrived) makes room without evicting anyone.
    assert book.update(b, "192.0.2.1", None) == ()
    assert book.update(Conn("e"), "192.0.2.1", Waiting.HEAD) == ()
    assert not (b.evicted or c.evicted or x.evicted)  # the ledger never closes anything


def test_past_the_overall_cap_the_oldest_anywhere_goes() -> None:
    book = ledger()
    first = enter(book, "ab", "192.0.2.1", Waiting.HEAD)
    enter(book, "cd", "192.0.2.2", Waiting.HEAD)
    enter(book, "e", None, Waiting.HEAD)  # an exempt address still counts in all
    assert book.update(Conn("f"), None, Waiting.HEAD) == (first[0],)
    assert book.update(Conn("g"), "192.0.2.3", Waiting.HEAD) == (first[1],)
    assert book.count(Waiting.HEAD) == 5


def test_room_made_under_the_address_cap_is_room_in_all() -> None:
    book = ledger(max_incomplete_per_address=2, max_incomplete=3)
    (x,) = enter(book, "x", "192.0.2.9", Waiting.HEAD)
    a, _ = enter(book, "ab", "192.0.2.1", Waiting.HEAD)
    assert book.update(Conn("c"), "192.0.2.1", Waiting.HEAD) == (a,)  # x stays
    assert book.count(Waiting.HEAD) == 3


def test_idle_connections_have_caps_of_their_own() -> None:
    book = ledger()
    heads = enter(book, "abc", "192.0.2.1", Waiting.HEAD)
    p, q = enter(book, "pq", "192.0.2.1", Waiting.IDLE)  # not counted against the heads
    assert book.update(Conn("r"), "192.0.2.1", Waiting.IDLE) == (p,)
    assert book.count(Waiting.HEAD, "192.0.2.1") == 3
    # Idle -> its next head starts: it counts as the newest incomplete one.
    assert book.update(q, "192.0.2.1", Waiting.HEAD) == (heads[0],)
    assert book.count(Waiting.IDLE, "192.0.2.1") == 1


def test_a_connection_keeps_its_age_while_it_waits_for_the_same_thing() -> None:
    book = ledger()
    a, b, c = enter(book, "abc", "192.0.2.1", Waiting.HEAD)
    assert book.update(a, "192.0.2.1", Waiting.HEAD) == ()  # more bytes of the same head
    assert book.update(Conn("d"), "192.0.2.1", Waiting.HEAD) == (a,)
    # Answered, then a new head: it starts again as the newest.
    assert book.update(b, "192.0.2.1", None) == ()
    assert book.update(b, "192.0.2.1", Waiting.HEAD) == ()
    assert book.update(Conn("e"), "192.0.2.1", Waiting.HEAD) == (c,)


def test_client_groups_and_exempt_networks() -> None:
    book = ledger()
    assert book.address_key("192.0.2.7") == "192.0.2.7"
    assert book.address_key("::ffff:192.0.2.7") == "192.0.2.7"  # dual-stack socket
    same = book.address_key("2001:db8:1:2::1")
    assert same == book.address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert book.address_key("2001:db8:1:3::1") != same
    assert book.address_key("fe80::1%eth0") == "fe80::/64"
    for uncapped in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", None, "", "nonsense"):
        assert book.address_key(uncapped) is None, uncapped
    book = ledger(per_address_exempt=[])
    assert book.address_key("127.0.0.1") == "127.0.0.1"
    book = ledger(per_address_exempt=[IPv4Network("10.0.0.0/8")])
    assert book.address_key("10.1.2.3") is None and book.address_key("::1") == "::/64"


def test_the_overall_caps_stay_within_a_quarter_of_the_open_file_limit() -> None:
    limits = HttpLimits(max_incomplete=4096, max_idle=8192)
    book = ConnectionLedger(limits, open_files=20_000)
    assert book.overall == {Waiting.HEAD: 4096, Waiting.IDLE: 5000}
    assert ConnectionLedger(limits).overall == {Waiting.HEAD: 4096, Waiting.IDLE: 8192}
    assert ConnectionLedger(limits, open_files=2).overall[Waiting.HEAD] == 1


def test_default_head_deadline_and_caps() -> None:
    limits = HttpLimits()
    assert limits.head_timeout_seconds == 5.0
    assert (limits.max_incomplete_per_address, limits.max_incomplete) == (64, 4096)
    assert (limits.max_idle_per_address, limits.max_idle) == (1024, 4096)
    # Loopback (a reverse proxy on this host, a load test) is one address for many clients.
    assert ConnectionLedger(limits).address_key("127.0.0.1") is None


# -- the ledger on real servers ------------------------------------------------------------

CAPPED = HttpLimits(
    head_timeout_seconds=5,
    max_incomplete_per_address=3,
    max_idle_per_address=2,
    per_address_exempt=[],
)


async def _slow(_request: Request) -> PlainTextResponse:
    await asyncio.sleep(1.0)
    return PlainTextResponse("slow")


@contextlib.asynccontextmanager
async def capped_servers(count: int, limits: HttpLimits = CAPPED) -> AsyncIterator[list[int]]:
    """``count`` small app servers sharing one ledger (as ``atoll serve``'s ports do)."""
    shared = ConnectionLedger(limits)
    app = Starlette(routes=[Route("/", _hello), Route("/slow", _slow)])
    servers = [
        uvicorn.Server(GuardedConfig(app, limits, shared, log_level="error", lifespan="off"))
        for _ in range(count)
    ]
    socks = [listen("127.0.0.1", 0) for _ in servers]
    tasks = [
        asyncio.ensure_future(s.serve(sockets=[k])) for s, k in zip(servers, socks, strict=True)
    ]
    while not all(s.started for s in servers):
        assert not any(t.done() for t in tasks), tasks
        await asyncio.sleep(0.01)
    try:
        yield [k.getsockname()[1] for k in socks]
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
        for sock in socks:
            sock.close()


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


async def test_past_the_per_address_cap_the_oldest_silent_connection_is_closed() -> None:
    async with capped_servers(2) as (one, two):
        # Three waiting heads from 127.0.0.1, on two ports sharing the ledger.
        first = await asyncio.open_connection("127.0.0.1", one)
        await asyncio.sleep(0.05)  # so that the server sees them in this order
        others = [await asyncio.open_connection("127.0.0.1", port) for port in (two, one)]
        # From another address: its own count.
        elsewhere = await asyncio.open_connection("127.0.0.1", two, local_addr=("127.0.0.2", 0))
        assert all([await is_open(r) for r, _ in [first, *others, elsewhere]])
        started = time.monotonic()
        newest = await asyncio.open_connection("127.0.0.1", two)
        assert await closed_by_server(first[0])
        assert time.monotonic() - started < 2  # at once, not at the head deadline
        assert all([await is_open(r) for r, _ in [*others, elsewhere]])
        # The newest one is served; its answer makes room (it is idle now, not incomplete).
        newest[1].write(get())
        assert (await read_response(newest[0]))[2] == b"hello"
        for _, writer in [first, *others, elsewhere, newest]:
            writer.close()


async def test_connections_being_answered_do_not_count_and_idle_ones_have_their_own_cap() -> None:
    async with capped_servers(1) as (port,):
        busy = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for _, writer in busy:
            writer.write(get(b"/slow"))
        await asyncio.sleep(0.3)  # all three are being answered
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for reader, _ in busy:  # none was closed to make room for the silent ones
            assert (await read_response(reader))[2] == b"slow"
        assert all([await is_open(r) for r, _ in silent])
        # Three idle keep-alive connections, two allowed: the one idle longest goes.
        open_ = [await is_open(reader, 0.5) for reader, _ in busy]
        assert open_.count(True) == 2, open_
        for _, writer in busy + silent:
            writer.close()


async def test_the_overall_cap_counts_exempt_addresses_too() -> None:
    limits = HttpLimits(max_incomplete=3)  # loopback is exempt from the per-address caps
    async with capped_servers(1, limits) as (port,):
        conns = []
        for _ in range(4):
            conns.append(await asyncio.open_connection("127.0.0.1", port))
            await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await closed_by_server(conns[0][0])
        assert time.monotonic() - started < 2  # at once, not at the head deadline
        assert all([await is_open(r) for r, _ in conns[1:]])
        for _, writer in conns:
            writer.close()
