"""Unix sockets the runtime serves inside a sandbox slot (the database and egress proxies)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
from pathlib import Path


def plain_reply(status: str, text: str) -> bytes:
    """A short text/plain HTTP answer that closes the connection (a proxy's own errors)."""
    body = text.encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


class SlotSocket(abc.ABC):
    """A unix socket in a sandbox slot that the sandbox uid may connect to."""

    def __init__(self, path: Path, limit: int = 64 * 1024) -> None:
        self.path = path
        # The most a connection's reader buffers while looking for a delimiter: a request
        # head longer than this is refused instead of being read into memory.
        self.limit = limit
        self.server: asyncio.AbstractServer | None = None
        self._inode = -1

    @abc.abstractmethod
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""

    def _stopping(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Called once the socket stopped accepting, before open connections are awaited."""

    async def start(self) -> None:
        """Listen on the unix socket, connectable by the sandbox uid."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.server = await asyncio.start_unix_server(
            self._handle, path=str(self.path), limit=self.limit
        )
        os.chmod(self.path, 0o666)
        self._inode = os.stat(self.path).st_ino

    async def close(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            self._stopping()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        with contextlib.suppress(FileNotFoundError):
            # The slot may already belong to another sandbox: remove only our own socket.
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
