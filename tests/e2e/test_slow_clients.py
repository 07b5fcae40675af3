"""A real ``atoll serve``: every port cuts off slow request heads, and caps how many wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from atoll.config import HttpLimits
from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = pytest.mark.e2e

HEAD = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100


def trickle_until_answered(port: int) -> bytes:
    """Send ``HEAD`` a byte every 0.2 s (20 s in all); what the server answered, once it
    closed the connection. Fails if the whole head went through."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        for byte in HEAD:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                answer = sock.recv(65536)
            except BlockingIOError:
                continue
            finally:
                sock.setblocking(True)
            while chunk := sock.recv(65536):
                answer += chunk
            return answer
        raise AssertionError("the server let the whole slow head through")


def test_every_port_cuts_off_a_slow_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOLL_HTTP_HEAD_TIMEOUT_SECONDS", "1")
    served = start_server(tmp_path / "data", tmp_path / "serve.log")
    try:
        port = int(served.url.rsplit(":", 1)[1])
        for name, target in (
            ("control plane", port),
            ("gateway", served.gateway_port),
            ("DB service", served.db_port),
        ):
            answer = trickle_until_answered(target)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), (name, answer)
            assert json.loads(body)["error"]["code"] == "request_timeout", name
        # A well-behaved client is served as before.
        assert httpx.get(served.url + "/healthz", timeout=10).status_code == 200
    finally:
        stop_server(served.process)


# -- many slow clients at once -----------------------------------------------------------

SLOWLORIS = 1000
SOURCES = 20  # loopback source addresses, 50 slow clients each: under the per-address cap
HEAD_TIMEOUT = HttpLimits().head_timeout_seconds  # the default is what is measured
MARGIN = 3.0  # the gateway sweeps once a second, and the machine is small and busy


@dataclass
class Client:
    """One client connection and, once the server closed it, when and what it answered."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened: float
    ended: asyncio.Task[tuple[float, bytes]]

    @classmethod
    async def open(cls, port: int, source: str, first: bytes = b"") -> Client:
        """Connect from ``source``, send ``first``, and watch for the server's close."""
        # Stamped before connecting: the server's deadline runs from its accept, which never
        # comes before this, while the moment the connect returns here can come well after
        # it when this loop is busy with a thousand others (a head then looked closed early).
        opened = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(first)
        return cls(reader, writer, opened, asyncio.ensure_future(_ended(reader)))

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds``."""
        done, _ = await asyncio.wait([self.ended], timeout=seconds)
        return bool(done)


async def _ended(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    answer = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            answer += chunk
    return time.monotonic(), answer


def _close_all(clients: list[Client]) -> None:
    for client in clients:
        client.ended.cancel()
        client.writer.close()


async def _trickle(clients: list[Client]) -> None:
    """A header line a second on every connection the server has not closed."""
    while True:
        await asyncio.sleep(1.0)
        for client in clients:
            if not client.ended.done():
                client.writer.write(b"X-Slow: 1\r\n")


async def _timed_get(url: str, host: str) -> tuple[int, float]:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=20) as http_client:
        response = await http_client.get(url, headers={"Host": host})
    return response.status_code, time.monotonic() - started


async def slowloris_on_the_gateway(served: Served) -> None:
    """1,000 slow heads fill the overall cap: newer connections close the oldest, a normal
    request answers quickly, and every slow one is closed by the head deadline."""
    slow: list[Client] = []
    extra: list[Client] = []
    trickle = asyncio.ensure_future(_trickle(slow))
    try:
        for index in range(SLOWLORIS):
            source = f"127.0.0.{10 + index % SOURCES}"
            slow.append(await Client.open(served.gateway_port, source, b"GET / HTTP/1.1\r\n"))
        # 50 more connections: the overall cap (1,000) closes the 50 oldest slow ones at once.
        for _ in range(50):
            extra.append(await Client.open(served.gateway_port, "127.0.0.100"))
        for client in slow[:50]:
            assert await client.closed_within(3.0), "the oldest slow heads were kept"
            assert client.ended.result()[1] == b""  # closed without an answer
        # A normal request, while 950 slow heads are held: answered at once (the unknown
        # host's 404), on the gateway and on the control plane.
        gateway = f"http://127.0.0.1:{served.gateway_port}/"
        status, took = await _timed_get(gateway, "nothing--here--at.localhost")
        assert status == 404 and took < 2.0, took
        status, took = await _timed_get(served.url + "/healthz", "127.0.0.1")
        assert status == 200 and took < 2.0, took
        # Every slow head is closed by its deadline (from its opening), with a 408.
        await asyncio.wait([c.ended for c in slow], timeout=HEAD_TIMEOUT + MARGIN + 2)
        late = [c for c in slow if not c.ended.done()]
        assert not late, f"{len(late)} slow heads still open"
        held = [(c.ended.result()[0] - c.opened, c.ended.result()[1]) for c in slow[60:]]
        assert all(HEAD_TIMEOUT - 0.5 < took < HEAD_TIMEOUT + MARGIN for took, _ in held), (
            min(t for t, _ in held),
            max(t for t, _ in held),
        )
        assert all(answer.startswith(b"HTTP/1.1 408") for _, answer in held)
    finally:
        trickle.cancel()
        _close_all(slow + extra)


async def caps_on_every_port(served: Served) -> None:
    """64 incomplete connections per address, counted over the three ports together."""
    ports = {
        "gateway": served.gateway_port,
        "control plane": int(served.url.rsplit(":", 1)[1]),
        "DB service": served.db_port,
    }
    clients: list[Client] = []
    try:
        for number, (name, port) in enumerate(ports.items()):
            source = f"127.0.0.{200 + number}"
            mine = [await Client.open(port, source) for _ in range(64 + 8)]
            clients += mine
            evicted = await asyncio.gather(*(c.closed_within(2.0) for c in mine))
            assert evicted == [True] * 8 + [False] * 64, (name, evicted)
        # One address over the three ports: 32 + 32 + 8 closes the 8 oldest (the gateway's).
        mine = [await Client.open(ports["gateway"], "127.0.0.210") for _ in range(32)]
        mine += [await Client.open(ports["control plane"], "127.0.0.210") for _ in range(32)]
        mine += [await Client.open(ports["DB service"], "127.0.0.210") for _ in range(8)]
        clients += mine
        evicted = await asyncio.gather(*(c.closed_within(2.0) for c in mine))
        assert evicted == [True] * 8 + [False] * 64, evicted
    finally:
        _close_all(clients)


def test_slow_clients_by_the_thousand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096  # this process's clients, and the server (which inherits the limit)
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"open-file limit {hard} is below {want}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    monkeypatch.setenv("ATOLL_HTTP_MAX_INCOMPLETE", str(SLOWLORIS))
    monkeypatch.setenv("ATOLL_HTTP_PER_ADDRESS_EXEMPT", "[]")  # loopback clients are capped
    try:
        served = start_server(tmp_path / "data", tmp_path / "serve.log")
        try:
            asyncio.run(slowloris_on_the_gateway(served))
            asyncio.run(caps_on_every_port(served))
        finally:
            stop_server(served.process)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
