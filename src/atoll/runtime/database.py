"""The database link: ``/run/atoll/db.sock`` in the sandbox, proxied to the DB service.

The runtime does not know how databases are provisioned; whoever builds the Runtime passes a
``DatabaseLink`` that names the DB service address and a token scoped to the app
environment's database. The proxy adds the token to every request, so the token never enters
the sandbox, and it can only reach that one service address.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from .sockets import SlotSocket
from .types import AppRef

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 8 << 20
TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class DatabaseTarget:
    """Where one environment's database is served and the bearer token for it."""

    host: str
    port: int
    token: str
    # Unix time the token stops working; the proxy asks for a new target before then.
    expires_at: float | None = None


class DatabaseLink(abc.ABC):
    """Resolves an app environment to its database on the DB service."""

    @abc.abstractmethod
    async def target(self, ref: AppRef) -> DatabaseTarget | None:
        """The environment's database, or None when it has none."""


def _reply(status: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n"
    return (head + "connection: close\r\n\r\n").encode() + body


class DatabaseProxy(SlotSocket):
    """Forwards each HTTP request on a unix socket to the DB service, with the token added."""

    def __init__(
        self,
        path: Path,
        target: DatabaseTarget,
        refresh: Callable[[], Awaitable[DatabaseTarget | None]] | None = None,
    ) -> None:
        super().__init__(path)
        self.target = target
        self.refresh = refresh

    async def _current(self) -> DatabaseTarget:
        """The target, renewed when its token is about to expire (zygotes can live long)."""
        expires = self.target.expires_at
        if self.refresh is not None and expires is not None and time.time() > expires - 300:
            fresh = await self.refresh()
            if fresh is not None:
                self.target = fresh
        return self.target

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(TIMEOUT):
                writer.write(await self._forward(reader))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except TimeoutError:
            writer.write(_reply("504 Gateway Timeout", "the DB service did not answer in time"))
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _forward(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return _reply("431 Request Header Fields Too Large", "header too large")
        lines = head.decode("latin-1").split("\r\n")
        request_line, headers = lines[0], [h for h in lines[1:] if h]
        kept, length = [], 0
        for line in headers:
            name, _, value = line.partition(":")
            lowered = name.strip().lower()
            if lowered == "content-length":
                if not value.strip().isdigit():
                    return _reply("400 Bad Request", "bad content-length")
                length = int(value.strip())
            elif lowered == "transfer-encoding":
                return _reply("411 Length Required", "send a content-length")
            elif lowered not in ("host", "authorization", "connection"):
                kept.append(line)
        if length > MAX_BODY_BYTES:
            return _reply("413 Payload Too Large", "request body too large")
        body = await reader.readexactly(length)
        target = await self._current()
        upstream = "\r\n".join(
            [
                request_line,
                *kept,
                f"host: {target.host}:{target.port}",
                f"authorization: Bearer {target.token}",
                f"content-length: {length}",
                "connection: close",
                "",
                "",
            ]
        ).encode("latin-1")
        try:
            up_reader, up_writer = await asyncio.open_connection(target.host, target.port)
        except OSError as exc:
            return _reply("502 Bad Gateway", f"the DB service is unreachable: {exc}")
        try:
            up_writer.write(upstream + body)
            await up_writer.drain()
            return await up_reader.read(-1)
        finally:
            up_writer.close()
