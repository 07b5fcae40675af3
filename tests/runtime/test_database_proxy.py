"""The sandbox's database socket: the token is added outside, and renewed before it expires."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from atoll.runtime.database import DatabaseProxy, DatabaseTarget


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


async def _upstream() -> tuple[asyncio.AbstractServer, int, list[str]]:
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        auth = next(h for h in head.split("\r\n") if h.lower().startswith("authorization:"))
        seen.append(auth.split(" ", 2)[2])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def _call(path: Path) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(
        b"POST /v2/pipeline HTTP/1.1\r\nhost: x\r\nauthorization: Bearer forged\r\n"
        b"content-length: 2\r\n\r\n{}"
    )
    await writer.drain()
    reply = await reader.read(-1)
    writer.close()
    return reply


@pytest.mark.anyio
async def test_token_is_added_and_renewed(tmp_path: Path) -> None:
    server, port, seen = await _upstream()
    renewed = DatabaseTarget("127.0.0.1", port, "fresh", time.time() + 3600)

    async def refresh() -> DatabaseTarget:
        return renewed

    current = DatabaseTarget("127.0.0.1", port, "current", time.time() + 3600)
    proxy = DatabaseProxy(tmp_path / "db.sock", current, refresh)
    await proxy.start()
    try:
        assert (await _call(tmp_path / "db.sock")).endswith(b"ok")
        # The sandbox's own Authorization header is dropped; the proxy's token is sent.
        assert seen == ["current"]
        proxy.target = DatabaseTarget("127.0.0.1", port, "stale", time.time() + 10)
        await _call(tmp_path / "db.sock")
        assert seen == ["current", "fresh"]
    finally:
        await proxy.close()
        server.close()
