"""The allowlist proxy outside the sandbox: HTTP CONNECT and plain HTTP to listed host:port.

One proxy per app sandbox listens on a unix socket in the slot's run folder (``/run/atoll/
egress.sock`` inside). A request for a target not in the app's ``[egress] allow`` gets a 403
with a reason. Targets that resolve to loopback, private or link-local addresses are refused
unless the operator lists them in ``RuntimeSettings.egress_private_allowed``, so a tenant
cannot reach the platform's own ports by naming them in its ``atoll.toml``.

Tenant code drives the proxy, so what one sandbox can make it hold is bounded
(``ProxySettings``): open connections, the time to send a request head and its size, DNS
lookups at once, idle tunnels; refused targets are counted, and only the last few kept.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import ipaddress
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from atoll.config import ProxySettings

from .limits import parse_host_port
from .sockets import SlotSocket, plain_reply

MAX_HEAD_BYTES = 16 * 1024
REFUSED_KEPT = 64  # the most recent refused targets kept for diagnostics
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")  # DNS name or IPv4 address
_AUTHORITY = re.compile(r"(?:\[([0-9a-f:.]{2,45})\]|([^\[\]:]+)):([0-9]{1,5})")
_METHOD = re.compile(r"[A-Z]{1,16}")
_VERSION = re.compile(r"HTTP/1\.[01]")


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


class EgressRefused(Exception):
    """A request the proxy answers itself, with ``reply``, and then closes."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.reply = plain_reply(status, f"Atoll egress: {text}")


@dataclasses.dataclass(frozen=True)
class EgressRequest:
    """Where a request head asks to go, and the bytes to send there first (plain HTTP)."""

    host: str
    port: int
    forward: bytes = b""  # empty for CONNECT: the proxy answers 200 and relays bytes


def _bad(text: str) -> EgressRefused:
    return EgressRefused("400 Bad Request", text)


def _host(raw: str) -> str:
    """A lower-cased DNS name or IP address; EgressRefused for anything else."""
    host = raw.lower()
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise _bad("bad IPv6 address") from None
    if not _HOST.fullmatch(host):
        raise _bad("bad host name")
    return host


def _port(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 65536:
        raise _bad("bad port")
    return int(raw)


def parse_request(head: bytes) -> EgressRequest:
    """The target of a proxy request head (request line and headers, up to the blank line).

    ``CONNECT host:port`` (authority form, port required) or an absolute ``http://`` URL;
    anything else raises ``EgressRefused`` (400).
    """
    request_line, _, rest = head.partition(b"\r\n")
    parts = request_line.decode("latin-1").split(" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or not _VERSION.fullmatch(parts[2]):
        raise _bad("malformed request line")
    method, target, version = parts
    if method == "CONNECT":
        match = _AUTHORITY.fullmatch(target.lower())
        if match is None:
            raise _bad("CONNECT needs host:port")
        v6, name, port = match.groups()
        return EgressRequest(_host(v6 or name), _port(port))
    url = urlsplit(target)
    if url.scheme != "http" or not url.netloc:
        raise _bad("proxy requests need an http:// URL")
    authority = url.netloc.rpartition("@")[2].lower()
    match = _AUTHORITY.fullmatch(authority)
    if match is not None:
        v6, name, port_text = match.groups()
        host, port = _host(v6 or name), _port(port_text)
    elif authority.startswith("[") and authority.endswith("]"):
        host, port = _host(authority[1:-1]), 80
    elif ":" in authority:
        raise _bad("bad port")
    else:
        host, port = _host(authority), 80
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    # One upstream per connection: later requests on it can only reach the same target.
    return EgressRequest(host, port, f"{method} {path} {version}\r\n".encode("latin-1") + rest)


class _Idle:
    """When bytes last moved either way through a tunnel."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.last = loop.time()

    def touch(self) -> None:
        self.last = self.loop.time()

    def since(self) -> float:
        return self.loop.time() - self.last


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle: _Idle, limit: float
) -> None:
    """Copy ``reader`` to ``writer`` until the end, or until nothing moved either way for
    ``limit`` seconds (a peer that stops reading counts as idle too)."""
    stalled = False
    try:
        while True:
            try:
                async with asyncio.timeout(limit):
                    data = await reader.read(65536)
            except TimeoutError:
                if idle.since() >= limit:
                    stalled = True
                    return
                continue  # the other direction is busy
            if not data:
                return
            idle.touch()
            writer.write(data)
            async with asyncio.timeout(limit):
                await writer.drain()
    except TimeoutError:
        stalled = True
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if stalled:
                writer.transport.abort()  # close() would keep unsent bytes until read
            else:
                writer.close()


class EgressProxy(SlotSocket):
    """A running proxy for one sandbox."""

    def __init__(self, path: Path, allowlist: Allowlist, settings: ProxySettings) -> None:
        super().__init__(path, limit=MAX_HEAD_BYTES)
        self.allowlist = allowlist
        self.settings = settings
        self.refused: collections.deque[str] = collections.deque(maxlen=REFUSED_KEPT)
        self.refused_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._lookup_tasks: set[asyncio.Task[str]] = set()
        self._lookups = asyncio.Semaphore(settings.egress_max_lookups)

    def _stopping(self) -> None:
        for task in [*self._tasks, *self._lookup_tasks]:  # drop open tunnels
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._tasks) >= self.settings.egress_max_connections:
            busy = "too many open connections from this sandbox"
            writer.write(EgressRefused("503 Service Unavailable", busy).reply)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except EgressRefused as refused:
            writer.write(refused.reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _refuse(self, host: str, port: int, status: str, text: str) -> EgressRefused:
        self.refused_count += 1
        self.refused.append(f"{host}:{port}")
        return EgressRefused(status, text)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        settings = self.settings
        try:
            async with asyncio.timeout(settings.egress_head_timeout_seconds):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise EgressRefused("408 Request Timeout", "the request head took too long") from None
        except asyncio.LimitOverrunError:
            raise EgressRefused("431 Request Header Fields Too Large", "header too large") from None
        if len(head) > MAX_HEAD_BYTES:
            raise EgressRefused("431 Request Header Fields Too Large", "header too large")
        request = parse_request(head)
        host, port = request.host, request.port
        if not self.allowlist.permits(host, port):
            unlisted = f"{host}:{port} is not listed under [egress] allow"
            raise self._refuse(host, port, "403 Forbidden", unlisted)
        try:
            async with asyncio.timeout(settings.egress_connect_timeout_seconds):
                address = await asyncio.shield(self._lookup(host, port))
                up_reader, up_writer = await asyncio.open_connection(address, port)
        except PermissionError as exc:
            raise self._refuse(host, port, "403 Forbidden", str(exc)) from None
        except TimeoutError:
            raise EgressRefused("504 Gateway Timeout", f"{host}:{port}: no answer") from None
        except OSError as exc:
            raise EgressRefused("502 Bad Gateway", f"{host}:{port}: {exc}") from None
        if request.forward:
            up_writer.write(request.forward)
        else:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        idle, limit = _Idle(asyncio.get_running_loop()), settings.egress_idle_seconds
        await asyncio.gather(
            _pipe(reader, up_writer, idle, limit), _pipe(up_reader, writer, idle, limit)
        )

    def _lookup(self, host: str, port: int) -> asyncio.Task[str]:
        """Resolve in a task that holds its lookup slot until the lookup really ends: a lookup
        that timed out still holds a thread of the platform's shared pool."""

        async def lookup() -> str:
            async with self._lookups:
                return await self.allowlist.resolve(host, port)

        task = asyncio.get_running_loop().create_task(lookup())
        self._lookup_tasks.add(task)
        task.add_done_callback(self._lookup_tasks.discard)
        # Retrieve an exception nobody awaits any more (the request timed out before it).
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task
