"""The sandbox's database socket: the token is added outside and renewed before it expires;
connections are kept alive on both sides; bad requests and broken answers get clear errors.
The same checks hold when the DB service is handed requests in-process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from atoll.config import ProxySettings
from atoll.runtime import database
from atoll.runtime.database import DatabaseProxy, DatabaseTarget, InProcessTarget

PIPELINE = b"POST /v2/pipeline HTTP/1.1\r\nhost: x\r\nauthorization: Bearer forged\r\n"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


class Upstream:
    """A stand-in DB service: records tokens, counts connections, answers as told."""

    def __init__(self, answer: Callable[[bytes], bytes], keep_alive: bool) -> None:
        self.answer = answer
        self.keep_alive = keep_alive
        self.tokens: list[str] = []
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                fields = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
                self.tokens.append(fields["authorization"].split(" ", 1)[1])
                body = await reader.readexactly(int(fields["content-length"]))
                writer.write(self.answer(body))
                await writer.drain()
                if not self.keep_alive:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


def ok_answer(keep_alive: bool) -> Callable[[bytes], bytes]:
    def answer(body: bytes) -> bytes:
        connection = b"" if keep_alive else b"connection: close\r\n"
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), connection, body)

    return answer


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future[Upstream]]]:
    """Start an upstream answering as given and a proxy in front of it."""
    servers: list[asyncio.AbstractServer] = []
    proxies: list[DatabaseProxy] = []

    async def start(
        answer: Callable[[bytes], bytes] | None = None, keep_alive: bool = True, **settings: Any
    ) -> tuple[Upstream, DatabaseProxy]:
        upstream = Upstream(answer or ok_answer(keep_alive), keep_alive)
        server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
        upstream.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        target = DatabaseTarget("127.0.0.1", upstream.port, "current", time.time() + 3600)
        proxy = DatabaseProxy(
            tmp_path / f"db{len(proxies)}.sock", target, settings=ProxySettings(**settings)
        )
        await proxy.start()
        proxies.append(proxy)
        return upstream, proxy

    yield start  # type: ignore[misc]
    for proxy in proxies:
        await proxy.close()
    for server in servers:
        server.close()


Reply = tuple[int, list[tuple[str, str]], bytes]


class LocalService:
    """A stand-in DB service in this process: records what it is handed, answers as told."""

    def __init__(self, answer: Callable[[str, bytes], Awaitable[Reply]] | None = None) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.tokens: list[str] = []

    async def __call__(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> Reply:
        self.calls.append((method, target, headers, body))
        self.tokens += [v.split(" ", 1)[1] for k, v in headers if k == "authorization"]
        if self.answer is not None:
            return await self.answer(target, body)
        return 200, [("content-type", "application/json")], body


@pytest.fixture
async def in_process(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start a proxy in front of a stand-in in-process service."""
    proxies: list[DatabaseProxy] = []

    async def start(
        answer: Callable[[str, bytes], Awaitable[Reply]] | None = None, **settings: Any
    ) -> tuple[LocalService, DatabaseProxy]:
        service = LocalService(answer)
        target = InProcessTarget(service, "current", time.time() + 3600)
        proxy = DatabaseProxy(
            tmp_path / f"local{len(proxies)}.sock", target, settings=ProxySettings(**settings)
        )
        await proxy.start()
        proxies.append(proxy)
        return service, proxy

    yield start
    for proxy in proxies:
        await proxy.close()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[bytes, bytes]:
    """Send ``request``; the answer's head and body (framed by content-length)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def pipeline(body: bytes) -> bytes:
    return PIPELINE + b"content-length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.anyio
async def test_token_is_added_and_renewed(proxied) -> None:  # type: ignore[no-untyped-def]
    upstream, proxy = await proxied()
    renewed = DatabaseTarget("127.0.0.1", upstream.port, "fresh", time.time() + 3600)

    async def refresh() -> DatabaseTarget:
        return renewed

    proxy.refresh = refresh
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    head, body = await exchange(reader, writer, pipeline(b"{}"))
    assert head.startswith(b"HTTP/1.1 200") and body == b"{}"
    # The sandbox's own Authorization header is dropped; the proxy's token is sent.
    assert upstream.tokens == ["current"]
    proxy.target = DatabaseTarget("127.0.0.1", upstream.port, "stale", time.time() + 10)
    await exchange(reader, writer, pipeline(b"{}"))
    assert upstream.tokens == ["current", "fresh"]
    writer.close()


@pytest.mark.anyio
async def test_both_sides_are_kept_alive(proxied) -> None:  # type: ignore[no-untyped-def]
    upstream, proxy = await proxied()
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    for i in range(5):
        _, body = await exchange(reader, writer, pipeline(b'{"n": %d}' % i))
        assert body == b'{"n": %d}' % i
    assert upstream.connections == proxy.upstream_connections == 1
    writer.close()


@pytest.mark.anyio
async def test_an_upstream_that_closes_each_time_still_serves(proxied) -> None:  # type: ignore[no-untyped-def]
    upstream, proxy = await proxied(keep_alive=False)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    for _ in range(3):
        head, body = await exchange(reader, writer, pipeline(b"{}"))
        assert head.startswith(b"HTTP/1.1 200") and body == b"{}"
    assert upstream.connections == 3  # a connection the service closes is never reused
    writer.close()


@pytest.mark.anyio
async def test_an_idle_pooled_connection_is_not_reused(  # type: ignore[no-untyped-def]
    proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "POOL_IDLE_SECONDS", 0.0)
    upstream, proxy = await proxied()
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    for _ in range(2):
        await exchange(reader, writer, pipeline(b"{}"))
    assert upstream.connections == 2
    writer.close()


@pytest.mark.anyio
async def test_a_chunked_answer_reaches_the_sandbox_with_a_length(proxied) -> None:  # type: ignore[no-untyped-def]
    def chunked(body: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-kept: yes\r\n\r\n"
            b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\ntrailer: x\r\n\r\n"
        )

    upstream, proxy = await proxied(chunked)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    for _ in range(2):  # and the upstream connection is reused after it
        head, body = await exchange(reader, writer, pipeline(b"{}"))
        assert body == b"abcdefg"
        assert b"x-kept: yes" in head and b"transfer-encoding" not in head.lower()
    assert upstream.connections == 1
    writer.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (PIPELINE + b"transfer-encoding: chunked\r\n\r\n0\r\n\r\n", b"411"),
        (PIPELINE + b"content-length: nope\r\n\r\n", b"400"),
        (PIPELINE + b"content-length: 999999999\r\n\r\n", b"413"),
        (PIPELINE + b"x-pad: " + b"a" * 20_000 + b"\r\ncontent-length: 0\r\n\r\n", b"431"),
        (PIPELINE + b"x-pad: " + b"a" * 70_000 + b"\r\ncontent-length: 0\r\n\r\n", b"431"),
        # A bare LF would end the line for the DB service: a second, forged Authorization.
        (PIPELINE + b"x-a: 1\nauthorization: Bearer other\r\ncontent-length: 0\r\n\r\n", b"400"),
        (PIPELINE + b"x-a: 1\0\r\ncontent-length: 0\r\n\r\n", b"400"),
        (PIPELINE + b"content-length: \xb2\r\n\r\n", b"400"),  # a digit, but not ASCII
        (PIPELINE + b"content-length: " + b"9" * 5000 + b"\r\n\r\n", b"400"),
        (b"POST /v2/pipeline\rx HTTP/1.1\r\ncontent-length: 0\r\n\r\n", b"400"),
        (b"POST /v2/pipeline HTTP/1.1 extra\r\ncontent-length: 0\r\n\r\n", b"400"),
    ],
)
@pytest.mark.parametrize("kind", ["http", "in_process"])
async def test_bad_requests_are_refused_and_the_connection_closes(  # type: ignore[no-untyped-def]
    proxied, in_process, request_bytes: bytes, status: bytes, kind: str
) -> None:
    if kind == "http":
        upstream, proxy = await proxied()
    else:
        upstream, proxy = await in_process()
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(request_bytes)
    answer = await asyncio.wait_for(reader.read(), 5)  # the proxy closes after its answer
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:60]
    assert upstream.tokens == []  # nothing reached the DB service
    writer.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "broken",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort",  # ends mid-body
        b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n",  # a length that is no length
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
        b"HTTP/1.1 200 OK\r\ncontent-len",  # ends mid-head
    ],
)
async def test_a_broken_answer_is_a_502(proxied, broken: bytes) -> None:  # type: ignore[no-untyped-def]
    upstream, proxy = await proxied(lambda body: broken, keep_alive=False)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(pipeline(b"{}"))
    answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 502"), answer[:60]
    assert proxy._idle == []  # the broken connection is not pooled
    writer.close()


@pytest.mark.anyio
async def test_an_unreachable_service_is_a_502(tmp_path: Path) -> None:
    proxy = DatabaseProxy(tmp_path / "db.sock", DatabaseTarget("127.0.0.1", 1, "t"))
    await proxy.start()
    try:
        reader, writer = await asyncio.open_unix_connection(str(proxy.path))
        writer.write(pipeline(b"{}"))
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 502") and b"unreachable" in answer
        writer.close()
    finally:
        await proxy.close()


@pytest.mark.anyio
async def test_idle_and_open_connections_end(proxied) -> None:  # type: ignore[no-untyped-def]
    _, proxy = await proxied(database_idle_seconds=0.2)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    await exchange(reader, writer, pipeline(b"{}"))
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed after the idle spell
    writer.close()
    _, proxy = await proxied(database_idle_seconds=60.0)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    await exchange(reader, writer, pipeline(b"{}"))
    await proxy.close()  # closing the proxy ends the sandbox's open connections too
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


@pytest.mark.anyio
async def test_a_sandbox_cannot_hoard_connections(proxied) -> None:  # type: ignore[no-untyped-def]
    _, proxy = await proxied(database_max_connections=3)
    held = [await asyncio.open_unix_connection(str(proxy.path)) for _ in range(3)]
    await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 503") and b"too many" in answer
    writer.close()
    _, body = await exchange(*held[0], pipeline(b"{}"))  # the open ones still work
    assert body == b"{}"
    for _, w in held:
        w.close()


@pytest.mark.anyio
async def test_a_service_that_never_answers_is_a_504(proxied) -> None:  # type: ignore[no-untyped-def]
    stuck = asyncio.Event()

    def never(body: bytes) -> bytes:
        stuck.set()
        return b""  # the upstream keeps the connection open and says nothing

    _, proxy = await proxied(never, database_timeout_seconds=0.2)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(pipeline(b"{}"))
    answer = await asyncio.wait_for(reader.read(), 5)
    assert stuck.is_set() and answer.startswith(b"HTTP/1.1 504"), answer[:60]
    assert proxy._idle == []  # the stuck connection is dropped, not pooled
    writer.close()


@pytest.mark.anyio
async def test_requests_forwarded_at_once_are_capped(proxied) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()
    running = [0, 0]  # now, most

    class Held(Upstream):
        async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            running[0] += 1
            running[1] = max(running)
            await release.wait()
            running[0] -= 1
            await super().handle(reader, writer)

    upstream, proxy = await proxied(database_max_requests=2)
    held = Held(ok_answer(True), True)
    server = await asyncio.start_server(held.handle, "127.0.0.1", 0)
    proxy.target = DatabaseTarget("127.0.0.1", server.sockets[0].getsockname()[1], "t")
    clients = [await asyncio.open_unix_connection(str(proxy.path)) for _ in range(6)]
    calls = [asyncio.ensure_future(exchange(r, w, pipeline(b"{}"))) for r, w in clients]
    for _ in range(500):
        if running[0] == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the other four would have reached the service by now
    assert running[1] == 2
    release.set()
    assert [body for _, body in await asyncio.gather(*calls)] == [b"{}"] * 6
    assert running[1] == 2
    for _, writer in clients:
        writer.close()
    server.close()


@pytest.mark.anyio
async def test_an_answer_the_sandbox_does_not_read_is_dropped(proxied) -> None:  # type: ignore[no-untyped-def]
    big = b"x" * (20 << 20)

    def answer(body: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(big), big)

    _, proxy = await proxied(answer, database_max_requests=1, database_timeout_seconds=0.3)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(pipeline(b"{}"))  # ... and reads nothing
    # Another connection of the same sandbox is served once the first one's slot is freed.
    other = await asyncio.open_unix_connection(str(proxy.path))
    _, body = await asyncio.wait_for(exchange(*other, pipeline(b"{}")), 10)
    assert len(body) == len(big)
    got = 0
    while chunk := await asyncio.wait_for(reader.read(1 << 20), 10):
        got += len(chunk)
    assert got < len(big)  # the unread answer was dropped, not kept for the sandbox
    writer.close()
    other[1].close()


@pytest.mark.anyio
async def test_an_in_process_service_gets_the_request_with_the_token(in_process) -> None:  # type: ignore[no-untyped-def]
    async def answer(target: str, body: bytes) -> Reply:
        hop = [("connection", "close"), ("transfer-encoding", "chunked"), ("keep-alive", "5")]
        return 200, [("content-type", "application/json"), ("x-kept", "yes"), *hop], body

    service, proxy = await in_process(answer)
    renewed = InProcessTarget(service, "fresh", time.time() + 3600)

    async def refresh() -> InProcessTarget:
        return renewed

    proxy.refresh = refresh
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    request = (
        b"POST /v3/pipeline?x=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer forged\r\n"
        b"x-mine: 1\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}"
    )
    head, body = await exchange(reader, writer, request)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"{}"
    lines = head.lower().split(b"\r\n")
    assert b"x-kept: yes" in lines and b"content-length: 2" in lines
    # The service's hop-by-hop headers are the proxy's business, not the sandbox's.
    assert not [line for line in lines if line.split(b":")[0] in (b"connection", b"keep-alive")]
    method, target, headers, sent = service.calls[0]
    assert (method, target, sent) == ("POST", "/v3/pipeline?x=1", b"{}")
    # The sandbox's own Authorization and Host are dropped; the proxy's token is added.
    assert headers == [
        ("x-mine", "1"),
        ("authorization", "Bearer current"),
        ("content-length", "2"),
    ]
    proxy.target = InProcessTarget(service, "stale", time.time() + 10)
    await exchange(reader, writer, pipeline(b"{}"))  # the same connection is kept alive
    assert service.tokens == ["current", "fresh"]
    writer.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (lambda target, body: (404, [], b"Not Found"), b"404 Not Found"),
        (lambda target, body: (599, [], b""), b"599 "),  # a status without a phrase
    ],
)
async def test_an_in_process_answer_keeps_its_status(  # type: ignore[no-untyped-def]
    in_process, answer, status: bytes
) -> None:
    async def answering(target: str, body: bytes) -> Reply:
        return answer(target, body)  # type: ignore[no-any-return]

    _, proxy = await in_process(answering)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    head, _ = await exchange(reader, writer, pipeline(b"{}"))
    assert head.startswith(b"HTTP/1.1 " + status + b"\r\n"), head
    writer.close()


@pytest.mark.anyio
async def test_a_failing_or_oversized_in_process_answer_is_a_502(in_process) -> None:  # type: ignore[no-untyped-def]
    async def answer(target: str, body: bytes) -> Reply:
        if body == b"big":
            return 200, [], b"x" * (database.MAX_RESPONSE_BYTES + 1)
        raise RuntimeError("the service broke")

    _, proxy = await in_process(answer)
    for body in (b"big", b"{}"):
        reader, writer = await asyncio.open_unix_connection(str(proxy.path))
        writer.write(pipeline(body))
        answer_bytes = await asyncio.wait_for(reader.read(), 5)
        assert answer_bytes.startswith(b"HTTP/1.1 502"), answer_bytes[:60]
        writer.close()


@pytest.mark.anyio
async def test_a_slow_in_process_call_is_a_504_and_still_runs_to_its_end(in_process) -> None:  # type: ignore[no-untyped-def]
    release, finished = asyncio.Event(), asyncio.Event()

    async def answer(target: str, body: bytes) -> Reply:
        await release.wait()
        finished.set()
        return 200, [], b"{}"

    _, proxy = await in_process(answer, database_timeout_seconds=0.2)
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(pipeline(b"{}"))
    answer_bytes = await asyncio.wait_for(reader.read(), 5)
    assert answer_bytes.startswith(b"HTTP/1.1 504"), answer_bytes[:60]
    # Like a request the service received over HTTP, it is not cancelled halfway through
    # (a statement on a thread, a write lease): it ends on its own.
    release.set()
    await asyncio.wait_for(finished.wait(), 5)
    writer.close()


@pytest.mark.anyio
async def test_in_process_requests_at_once_are_capped(in_process) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()
    running = [0, 0]  # now, most

    async def answer(target: str, body: bytes) -> Reply:
        running[0] += 1
        running[1] = max(running)
        await release.wait()
        running[0] -= 1
        return 200, [], body

    _, proxy = await in_process(answer, database_max_requests=2)
    clients = [await asyncio.open_unix_connection(str(proxy.path)) for _ in range(6)]
    calls = [asyncio.ensure_future(exchange(r, w, pipeline(b"{}"))) for r, w in clients]
    for _ in range(500):
        if running[0] == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the other four would have reached the service by now
    assert running[1] == 2
    release.set()
    assert [body for _, body in await asyncio.gather(*calls)] == [b"{}"] * 6
    assert running[1] == 2
    for _, writer in clients:
        writer.close()
