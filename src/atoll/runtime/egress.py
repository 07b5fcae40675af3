"""The allowlist proxy outside the sandbox: HTTP CONNECT and plain HTTP to listed host:port.

One proxy per app sandbox listens on a unix socket in the slot's run folder (``/run/atoll/
egress.sock`` inside). A request for a target not in the app's ``[egress] allow`` gets a 403
with a reason. Targets that resolve to loopback, private or link-local addresses are refused
unless the operator lists them in ``RuntimeSettings.egress_private_allowed``, so a tenant
cannot reach the platform's own ports by naming them in its ``atoll.toml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from atoll.errors import BuildFailed

from .limits import parse_host_port
from .sockets import SlotSocket, plain_reply

MAX_HEAD_BYTES = 16 * 1024
CONNECT_TIMEOUT = 10.0


def is_private(address: str) -> bool:
    """Whether an IP address is loopback, private, link-local or otherwise not public."""
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


class Allowlist:
    """Which ``host:port`` targets an app may reach."""

    def __init__(self, allow: Iterable[str], private_allowed: Iterable[str] = ()) -> None:
        self.allow = {parse_host_port(entry) for entry in allow}
        self.private_allowed = {parse_host_port(entry) for entry in private_allowed}

    def permits(self, host: str, port: int) -> bool:
        """Whether the app listed this target."""
        return (host.lower().strip("[]"), port) in self.allow

    async def resolve(self, host: str, port: int) -> str:
        """An address to connect to; raises PermissionError for refused private targets."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"cannot resolve {host}")
        address = str(infos[0][4][0])
        if is_private(address) and (host.lower(), port) not in self.private_allowed:
            raise PermissionError(f"{host}:{port} resolves to a non-public address {address}")
        return address


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class EgressProxy(SlotSocket):
    """A running proxy for one sandbox."""

    def __init__(self, path: Path, allowlist: Allowlist) -> None:
        super().__init__(path)
        self.allowlist = allowlist
        self.refused: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def _stopping(self) -> None:
        for task in list(self._tasks):  # drop open tunnels
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            writer.write(plain_reply("431 Request Header Fields Too Large", "header too large"))
            return
        request_line, _, rest = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ", 2)
        except ValueError:
            writer.write(plain_reply("400 Bad Request", "malformed request line"))
            return
        if method.upper() == "CONNECT":
            try:
                host, port = parse_host_port(target) if ":" in target else (target, 443)
            except BuildFailed:
                writer.write(plain_reply("400 Bad Request", "CONNECT needs host:port"))
                return
            forward = b""
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                writer.write(plain_reply("400 Bad Request", "proxy requests need an http:// URL"))
                return
            try:
                host, port = url.hostname, url.port or 80
            except ValueError:
                writer.write(plain_reply("400 Bad Request", "bad port"))
                return
            path = url.path or "/"
            if url.query:
                path += "?" + url.query
            # One upstream per connection: later requests on it can only reach the same target.
            forward = f"{method} {path} {version}\r\n".encode("latin-1") + rest
        if not self.allowlist.permits(host, port):
            self.refused.append(f"{host}:{port}")
            writer.write(
                plain_reply(
                    "403 Forbidden",
                    f"Atoll egress: {host}:{port} is not listed under [egress] allow",
                )
            )
            return
        try:
            address = await self.allowlist.resolve(host, port)
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), CONNECT_TIMEOUT
            )
        except PermissionError as exc:
            self.refused.append(f"{host}:{port}")
            writer.write(plain_reply("403 Forbidden", f"Atoll egress: {exc}"))
            return
        except (OSError, TimeoutError) as exc:
            writer.write(plain_reply("502 Bad Gateway", f"Atoll egress: {host}:{port}: {exc}"))
            return
        if forward:
            up_writer.write(forward)
        else:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
