"""The egress proxy on its own (issue 10, item 3): what one sandbox can make it hold is
bounded (connections, refused targets, lookups), slow or idle peers are cut off, and request
heads are parsed strictly. Real unix sockets and real upstream servers; no sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from atoll.config import ProxySettings
from atoll.runtime import egress
from atoll.runtime.egress import Allowlist, EgressProxy, EgressRefused, parse_request

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An HTTP server: one short answer per connection."""
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
        await writer.drain()
    writer.close()


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[tuple[int, Any]]]]:
    """Start an upstream server running ``handler`` and a proxy allowed to reach it."""
    servers: list[asyncio.AbstractServer] = []
    proxies: list[EgressProxy] = []

    async def _start(
        handler: Handler = hello, allowlist: type[Allowlist] = Allowlist, **settings: Any
    ) -> tuple[int, EgressProxy]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        target = [f"127.0.0.1:{port}"]
        proxy = EgressProxy(
            tmp_path / f"egress{len(proxies)}.sock",
            allowlist(target, private_allowed=target),
            ProxySettings(**settings),
        )
        await proxy.start()
        proxies.append(proxy)
        return port, proxy

    yield _start
    for proxy in proxies:
        await proxy.close()
    for server in servers:
        server.close()


async def ask(proxy: EgressProxy, request: bytes) -> bytes:
    """Send ``request`` on a new connection; everything the proxy answers until it closes."""
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(1 << 20), 10)
    finally:
        writer.close()


@pytest.mark.anyio
async def test_plain_http_and_tunnels_reach_a_listed_target(start) -> None:  # type: ignore[no-untyped-def]
    port, proxy = await start()
    answer = await ask(proxy, b"GET http://127.0.0.1:%d/x HTTP/1.1\r\nhost: a\r\n\r\n" % port)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection established\r\n\r\n"
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), 10)).endswith(b"hello")
    writer.close()


@pytest.mark.anyio
async def test_refused_targets_are_counted_not_all_kept(start) -> None:  # type: ignore[no-untyped-def]
    _, proxy = await start()
    for i in range(300):
        answer = await ask(proxy, b"CONNECT unlisted%d.example:443 HTTP/1.1\r\n\r\n" % i)
        assert answer.startswith(b"HTTP/1.1 403")
    assert proxy.refused_count == 300
    assert len(proxy.refused) == egress.REFUSED_KEPT < 300
    assert proxy.refused[-1] == "unlisted299.example:443"


@pytest.mark.anyio
async def test_a_sandbox_cannot_hoard_connections(start) -> None:  # type: ignore[no-untyped-def]
    port, proxy = await start(egress_max_connections=3)
    held = [await asyncio.open_unix_connection(str(proxy.path)) for _ in range(3)]
    await asyncio.sleep(0.05)  # the proxy accepted them
    answer = await ask(proxy, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
    assert answer.startswith(b"HTTP/1.1 503") and b"too many" in answer
    _, first = held.pop()
    first.close()  # a slot frees up
    for _ in range(100):
        answer = await ask(proxy, b"GET http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n" % port)
        if not answer.startswith(b"HTTP/1.1 503"):
            break
        await asyncio.sleep(0.01)
    assert answer.endswith(b"hello")
    for _, writer in held:
        writer.close()


@pytest.mark.anyio
async def test_a_request_head_that_never_ends_times_out(start) -> None:  # type: ignore[no-untyped-def]
    _, proxy = await start(egress_head_timeout_seconds=0.2)
    answer = await ask(proxy, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nx-slow: ")
    assert answer.startswith(b"HTTP/1.1 408")


@pytest.mark.anyio
@pytest.mark.parametrize("size", [20_000, 70_000, 500_000])
async def test_oversized_request_heads_are_431(start, size: int) -> None:  # type: ignore[no-untyped-def]
    port, proxy = await start()
    head = b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nx-pad: %s\r\n\r\n" % (port, b"a" * size)
    answer = await ask(proxy, head)
    assert answer.startswith(b"HTTP/1.1 431")


@pytest.mark.anyio
async def test_an_idle_tunnel_is_closed(start) -> None:  # type: ignore[no-untyped-def]
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # says nothing, waits for the end
        writer.close()

    port, proxy = await start(silent, egress_idle_seconds=0.2)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()


@pytest.mark.anyio
async def test_a_tunnel_busy_one_way_is_not_idle(start) -> None:  # type: ignore[no-untyped-def]
    async def ticker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(30):  # 1.5 s in all, three times the idle limit
            writer.write(b"tick")
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    port, proxy = await start(ticker, egress_idle_seconds=0.5)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
    await reader.readuntil(b"\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 10) == b"tick" * 30
    writer.close()


class StuckResolver(Allowlist):
    """An allowlist whose DNS lookups never finish; counts those running at once."""

    running = 0
    most = 0

    async def resolve(self, host: str, port: int) -> str:
        type(self).running += 1
        type(self).most = max(type(self).most, type(self).running)
        try:
            await asyncio.Event().wait()
        finally:
            type(self).running -= 1
        return host  # pragma: no cover


@pytest.mark.anyio
async def test_lookups_are_timed_and_limited(start) -> None:  # type: ignore[no-untyped-def]
    port, proxy = await start(
        allowlist=StuckResolver, egress_connect_timeout_seconds=0.2, egress_max_lookups=2
    )
    request = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port
    answers = await asyncio.gather(*(ask(proxy, request) for _ in range(6)))
    assert all(a.startswith(b"HTTP/1.1 504") for a in answers), answers
    assert StuckResolver.most == 2


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"CONNECT example.com:\xc2\xb2 HTTP/1.1\r\n\r\n", 400),  # a digit, but not ASCII
        (b"CONNECT example.com:99999 HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT example.com HTTP/1.1\r\n\r\n", 400),  # a port is required
        (b"CONNECT :443 HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT a:80:80 HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT a b:80 HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT [::1 HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT user@example.com:443 HTTP/1.1\r\n\r\n", 400),
        (b"GET ftp://example.com/ HTTP/1.1\r\n\r\n", 400),
        (b"GET http://example.com:\xc2\xb2/ HTTP/1.1\r\n\r\n", 400),
        (b"GET http://exa mple.com/ HTTP/1.1\r\n\r\n", 400),
        (b"GET http://example.com/ SPDY/3\r\n\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
    ],
)
def test_request_heads_are_parsed_strictly(head: bytes, status: int) -> None:
    with pytest.raises(EgressRefused) as refused:
        parse_request(head)
    assert refused.value.reply.startswith(b"HTTP/1.1 %d" % status)


@pytest.mark.parametrize(
    ("head", "target"),
    [
        (b"CONNECT Example.COM:443 HTTP/1.1\r\n\r\n", ("example.com", 443)),
        (b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n", ("::1", 8443)),
        (b"CONNECT 10.0.0.1:80 HTTP/1.1\r\n\r\n", ("10.0.0.1", 80)),
        (b"GET http://a.example/p?q=1 HTTP/1.1\r\nhost: a\r\n\r\n", ("a.example", 80)),
        (b"GET http://user@a.example:8080/ HTTP/1.0\r\n\r\n", ("a.example", 8080)),
    ],
)
def test_good_request_heads_name_their_target(head: bytes, target: tuple[str, int]) -> None:
    request = parse_request(head)
    assert (request.host, request.port) == target
    if not head.startswith(b"CONNECT"):
        assert request.forward.startswith(b"GET /")
