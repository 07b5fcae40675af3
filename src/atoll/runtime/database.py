"""The database link: ``/run/atoll/db.sock`` in the sandbox, proxied to the DB service.

The runtime does not know how databases are provisioned; whoever builds the Runtime passes a
``DatabaseLink`` that names the DB service (an HTTP address, or the service itself when it
runs in this process) and a token scoped to the app environment's database. The proxy adds
the token to every request, so the token never enters the sandbox, and it can only reach
that one service.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import http
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from atoll.config import ProxySettings

from .sockets import SlotSocket, plain_reply
from .types import AppRef

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 8 << 20
MAX_RESPONSE_BYTES = 64 << 20
POOL_SIZE = 4  # idle keep-alive connections to the DB service kept per proxy
# A pooled connection idle longer than this is not reused: well under the DB service's
# keep-alive timeout, so the proxy never sends on a connection the service is closing.
POOL_IDLE_SECONDS = 2.0
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "content-length",
}  # fmt: skip
_REQUEST_LINE = re.compile(r"[A-Z]{1,16} /[!-~]* HTTP/1\.[01]")
_HEADER_LINE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*")
_LENGTH = re.compile(r"[0-9]{1,12}")


#: The DB service in this process: (method, request target, headers, body) -> (status,
#: headers, body), answered exactly as its HTTP server would (``dbservice.ServiceApp.handle``).
InProcessService = Callable[
    [str, str, list[tuple[str, str]], bytes], Awaitable[tuple[int, list[tuple[str, str]], bytes]]
]


@dataclasses.dataclass(frozen=True)
class DatabaseTarget:
    """Where one environment's database is served over HTTP and the bearer token for it."""

    host: str
    port: int
    token: str
    # Unix time the token stops working; the proxy asks for a new target before then.
    expires_at: float | None = None


@dataclasses.dataclass(frozen=True)
class InProcessTarget:
    """The DB service runs in this process: requests are handed to ``service`` directly,
    with the bearer token added, instead of going over loopback HTTP."""

    service: InProcessService
    token: str
    expires_at: float | None = None


class DatabaseLink(abc.ABC):
    """Resolves an app environment to its database on the DB service."""

    @abc.abstractmethod
    async def target(self, ref: AppRef) -> DatabaseTarget | InProcessTarget | None:
        """The environment's database, or None when it has none."""


class _Refused(Exception):
    """A request the proxy answers itself (and then closes the connection)."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.reply = plain_reply(status, text)


class _AnsweredLate(Exception):  # noqa: N818 - a signal, not an error
    """The sandbox already got its 504 while an in-process call ran on; nothing to send."""


_LATE = "the DB service did not answer in time"


@dataclasses.dataclass
class _Upstream:
    """A keep-alive connection to the DB service."""

    address: tuple[str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, address: tuple[str, int]) -> bool:
        return (
            self.address == address
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            and time.monotonic() - self.idle_since < POOL_IDLE_SECONDS
        )


async def _read_response(
    reader: asyncio.StreamReader, head_only: bool = False
) -> tuple[str, list[str], bytes, bool]:
    """An HTTP/1.x response: status line, header lines, whole body, and whether the
    connection may carry another request. The answer to a HEAD request (``head_only``)
    has no body, whatever its headers say."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line, header_lines = lines[0], [line for line in lines[1:] if line]
    version = status_line.split(" ", 1)[0]
    fields: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    reusable = version == "HTTP/1.1" and fields.get("connection") != "close"
    if head_only:
        body = b""
    elif "chunked" in fields.get("transfer-encoding", ""):
        body = await _read_chunked(reader)
    elif "content-length" in fields:
        length = int(fields["content-length"])
        if not 0 <= length <= MAX_RESPONSE_BYTES:
            raise ValueError(f"the DB service sent a {length}-byte answer")
        body = await reader.readexactly(length)
    else:  # the body ends with the connection
        body = await reader.read(MAX_RESPONSE_BYTES + 1)
        while len(body) <= MAX_RESPONSE_BYTES and (more := await reader.read(1 << 16)):
            body += more
        reusable = False
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError("the DB service's answer is too large")
    return status_line, header_lines, body, reusable


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        chunk = int(line.split(b";", 1)[0].strip(), 16)
        if chunk == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        size += chunk
        if size > MAX_RESPONSE_BYTES:
            raise ValueError("the DB service's answer is too large")
        parts.append(await reader.readexactly(chunk))
        await reader.readexactly(2)


class DatabaseProxy(SlotSocket):
    """Forwards HTTP requests on a unix socket to the DB service, with the token added.

    Both sides are kept alive: a sandbox connection serves request after request (closed
    after ``ProxySettings.database_idle_seconds`` without one; at most
    ``database_max_connections`` open), and up to ``POOL_SIZE`` connections to the DB
    service are reused, so a statement costs no connection setup on either side. At most
    ``database_max_requests`` requests are forwarded at once, each buffered whole (the body
    and the answer), and an answer the sandbox does not read in time is dropped. An
    ``InProcessTarget`` gets the same checked request as plain values instead of over HTTP.
    """

    def __init__(
        self,
        path: Path,
        target: DatabaseTarget | InProcessTarget,
        refresh: Callable[[], Awaitable[DatabaseTarget | InProcessTarget | None]] | None = None,
        settings: ProxySettings | None = None,
    ) -> None:
        super().__init__(path, limit=MAX_HEAD_BYTES)
        self.target = target
        self.refresh = refresh
        self.settings = settings or ProxySettings.model_construct()  # field defaults only
        self._requests = asyncio.Semaphore(self.settings.database_max_requests)
        self._idle: list[_Upstream] = []
        self._clients: set[asyncio.StreamWriter] = set()
        self.upstream_connections = 0  # opened so far (for tests and stats)

    async def _current(self) -> DatabaseTarget | InProcessTarget:
        """The target, renewed when its token is about to expire (zygotes can live long)."""
        expires = self.target.expires_at
        if self.refresh is not None and expires is not None and time.time() > expires - 300:
            fresh = await self.refresh()
            if fresh is not None:
                self.target = fresh
        return self.target

    def _stopping(self) -> None:
        for writer in [*self._clients, *(up.writer for up in self._idle)]:
            writer.close()
        self._idle.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        settings = self.settings
        if len(self._clients) >= settings.database_max_connections:  # a sandbox hoarding them
            writer.write(plain_reply("503 Service Unavailable", "too many database connections"))
            writer.close()
            return
        self._clients.add(writer)
        try:
            while True:
                try:
                    async with asyncio.timeout(settings.database_idle_seconds):
                        head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, TimeoutError):
                    return  # the sandbox closed the connection, or left it idle
                except asyncio.LimitOverrunError:
                    head = b""  # longer than the reader's limit: refused below
                # Each request holds up to a body and an answer in memory until the sandbox
                # has read it: only a few at a time, and never longer than the timeout.
                async with self._requests:
                    try:
                        async with asyncio.timeout(settings.database_timeout_seconds) as budget:
                            reply, keep = await self._forward(head, reader, writer, budget)
                    except _AnsweredLate:
                        return
                    except _Refused as refused:
                        reply, keep = refused.reply, False
                    except TimeoutError:
                        reply, keep = plain_reply("504 Gateway Timeout", _LATE), False
                    writer.write(reply)
                    try:
                        if writer.transport.get_write_buffer_size():  # else it is all sent
                            async with asyncio.timeout(settings.database_timeout_seconds):
                                await writer.drain()
                    except TimeoutError:
                        writer.transport.abort()  # close() would keep the answer until read
                        return
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _forward(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        budget: asyncio.Timeout,
    ) -> tuple[bytes, bool]:
        """Answer one request (its head read): the reply and whether the connection stays."""
        if not head or len(head) > MAX_HEAD_BYTES:
            raise _Refused("431 Request Header Fields Too Large", "header too large")
        lines = head.decode("latin-1").split("\r\n")
        request_line, headers = lines[0], [h for h in lines[1:] if h]
        # Lines go to the DB service as they are: a stray CR, LF or NUL in one could end it
        # there and start a header of the sandbox's choosing (a second Authorization).
        if not _REQUEST_LINE.fullmatch(request_line):
            raise _Refused("400 Bad Request", "malformed request line")
        if not all(_HEADER_LINE.fullmatch(line) for line in headers):
            raise _Refused("400 Bad Request", "malformed header line")
        kept, length, keep = [], 0, not request_line.endswith("HTTP/1.0")
        for line in headers:
            name, _, value = line.partition(":")
            lowered = name.strip().lower()
            if lowered == "content-length":
                if not _LENGTH.fullmatch(value.strip()):
                    raise _Refused("400 Bad Request", "bad content-length")
                length = int(value.strip())
            elif lowered == "transfer-encoding":
                raise _Refused("411 Length Required", "send a content-length")
            elif lowered == "connection":
                keep = keep and value.strip().lower() != "close"
            elif lowered not in ("host", "authorization") and lowered not in HOP_BY_HOP:
                kept.append(line)
        if length > MAX_BODY_BYTES:
            raise _Refused("413 Payload Too Large", "request body too large")
        body = await reader.readexactly(length)
        head_only = request_line.startswith("HEAD ")
        target = await self._current()
        if isinstance(target, InProcessTarget):
            status_line, reply_headers, reply_body = await self._call(
                target, request_line, kept, body, writer, budget
            )
        else:
            upstream = "\r\n".join(
                [
                    request_line,
                    *kept,
                    f"host: {target.host}:{target.port}",
                    f"authorization: Bearer {target.token}",
                    f"content-length: {length}",
                    "",
                    "",
                ]
            ).encode("latin-1")
            status_line, reply_headers, reply_body = await self._exchange(
                target, upstream + body, head_only
            )
        out = [status_line.replace("HTTP/1.0", "HTTP/1.1", 1)]
        length = len(reply_body)
        for line in reply_headers:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if head_only and name == "content-length" and _LENGTH.fullmatch(value.strip()):
                length = int(value.strip())  # what a GET would have sent
            if name not in HOP_BY_HOP:
                out.append(line)
        out.append(f"content-length: {length}")
        if not keep:
            out.append("connection: close")
        answer = b"" if head_only else reply_body  # a HEAD answer is its head alone
        return ("\r\n".join([*out, "", ""])).encode("latin-1") + answer, keep

    async def _call(
        self,
        target: InProcessTarget,
        request_line: str,
        headers: list[str],
        body: bytes,
        writer: asyncio.StreamWriter,
        budget: asyncio.Timeout,
    ) -> tuple[str, list[str], bytes]:
        """Hand one checked request to the DB service in this process; its answer."""
        method, _, rest = request_line.partition(" ")
        pairs = [(name, value.strip()) for name, _, value in (h.partition(":") for h in headers)]
        pairs += [("authorization", f"Bearer {target.token}"), ("content-length", str(len(body)))]
        # The call is never cancelled halfway (a statement on a thread, a write lease held):
        # over HTTP the service would run it to its end too. At the deadline the sandbox gets
        # its 504 and the connection closes; the answer, when it comes, is dropped. (A timer,
        # not a task around the call: that would cost two turns of the event loop.)
        deadline, late = budget.when(), False
        budget.reschedule(None)

        def answer_late() -> None:
            nonlocal late
            late = True
            writer.write(plain_reply("504 Gateway Timeout", _LATE))
            writer.close()

        watch = (
            None if deadline is None else asyncio.get_running_loop().call_at(deadline, answer_late)
        )
        try:
            status, reply_headers, reply_body = await target.service(
                method, rest.rpartition(" ")[0], pairs, body
            )
        except Exception as exc:  # ServiceApp.handle answers 500 itself; any other service
            if late:
                raise _AnsweredLate() from exc
            raise _Refused("502 Bad Gateway", "the DB service sent no valid answer") from exc
        finally:
            if watch is not None:
                watch.cancel()
        if late:
            raise _AnsweredLate()
        if len(reply_body) > MAX_RESPONSE_BYTES:
            raise _Refused("502 Bad Gateway", "the DB service sent no valid answer")
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"{name}: {value}" for name, value in reply_headers]
        return f"HTTP/1.1 {status} {phrase}", lines, reply_body

    async def _exchange(
        self, target: DatabaseTarget, data: bytes, head_only: bool = False
    ) -> tuple[str, list[str], bytes]:
        """Send one request to the DB service on a pooled or new connection; its answer."""
        address = (target.host, target.port)
        up = self._pooled(address)
        if up is None:
            try:
                reader, writer = await asyncio.open_connection(*address)
            except OSError as exc:
                raise _Refused("502 Bad Gateway", f"the DB service is unreachable: {exc}") from exc
            self.upstream_connections += 1
            up = _Upstream(address, reader, writer)
        try:
            up.writer.write(data)
            await up.writer.drain()
            status_line, headers, body, reusable = await _read_response(up.reader, head_only)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            up.writer.close()
            raise _Refused("502 Bad Gateway", "the DB service sent no valid answer") from None
        except BaseException:  # a timeout or cancellation mid-answer: the stream is unusable
            up.writer.close()
            raise
        if reusable and len(self._idle) < POOL_SIZE and self.server is not None:
            up.idle_since = time.monotonic()
            self._idle.append(up)
        else:
            up.writer.close()
        return status_line, headers, body

    def _pooled(self, address: tuple[str, int]) -> _Upstream | None:
        while self._idle:
            up = self._idle.pop()
            if up.usable(address):
                return up
            up.writer.close()
        return None
