"""The gateway's HTTP/1.1 server: function calls straight to the runtime, the rest via ASGI.

A function call is parsed (httptools), handed to ``Gateway.function`` as plain values and
answered with one write: no framework between the socket and the runtime. Pages, assets and
everything else go to ``Gateway.asgi`` with the whole (size-capped) request body.

Per connection, requests are answered in order (pipelined ones wait their turn; reading
pauses while 16 requests or 8 MiB of bodies wait). Limits (``HttpLimits``, see
``atoll.http_heads``): request head ``max_head_bytes`` and ``max_headers`` lines (431), sent
whole within ``head_timeout_seconds`` of connecting or of the next request's first byte
(408; a connection that never sent a byte just closes); body ``MAX_FUNCTION_BODY`` (413,
also for chunked bodies); a request must arrive whole within ``request_timeout`` (408); an
idle keep-alive connection closes after ``idle_timeout``. Connections waiting for a head
and idle ones are counted in a ``ConnectionLedger``, which closes the oldest past its caps.
A malformed request is a 400 and the connection closes. A client that goes away mid-request
does not stop the function (its worker finishes and is reused); the answer is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import http
import logging
import socket
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

import httptools

from atoll.config import HttpLimits
from atoll.errors import AtollError, BadRequest
from atoll.gateway.app import MAX_FUNCTION_BODY, Gateway, is_function_path, too_large_body
from atoll.gateway.fairness import FairShares
from atoll.http_heads import (
    LINGER_SECONDS,
    ConnectionLedger,
    HeadBudget,
    HeadTooLarge,
    RequestTimeout,
    Waiting,
    waiting_for,
)
from atoll.runtime import error_response

log = logging.getLogger("atoll.gateway")

MAX_QUEUED = 16  # pipelined requests waiting on one connection before reading pauses
MAX_QUEUED_BYTES = 8 << 20  # ... or request bodies waiting on it
SWEEP_SECONDS = 1.0
BACKLOG = 2048  # connections the kernel queues before accepting (as uvicorn's ports)

_REASONS = {s.value: s.phrase.encode() for s in http.HTTPStatus}
_date: list[Any] = [0, b""]


def _http_date() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[0], _date[1] = now, email.utils.formatdate(now, usegmt=True).encode()
    return bytes(_date[1])


def _clean(value: bytes) -> bytes:
    """A header line part without bytes that could end the line."""
    if b"\r" in value or b"\n" in value or b"\0" in value:
        return value.replace(b"\r", b" ").replace(b"\n", b" ").replace(b"\0", b" ")
    return value


_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection", b"date"})


def response_head(
    status: int,
    headers: list[tuple[bytes, bytes]],
    length: int | None,
    keep_alive: bool,
    checked: bool = False,
) -> bytes:
    """Status line and headers; ``length`` None means a chunked body. ``checked``: the
    names are known to be lower-case tokens other than the framing ones and the values to
    hold no line breaks (a runtime reply's headers are)."""
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))]
    if checked:
        parts.extend(b"%s: %s\r\n" % header for header in headers if header[0] != b"date")
    else:
        for name, value in headers:
            if name.lower() in _FRAMING:
                continue
            parts.append(_clean(name) + b": " + _clean(value) + b"\r\n")
    if length is None:
        parts.append(b"transfer-encoding: chunked\r\n")
    else:
        parts.append(b"content-length: %d\r\n" % length)
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"date: " + _http_date() + b"\r\n\r\n")
    return b"".join(parts)


class _Request:
    """One request as it arrives."""

    __slots__ = (
        "url", "headers", "body", "size", "method", "version", "keep_alive",
        "error", "started",
    )  # fmt: skip

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.error: AtollError | None = None
        self.started = time.monotonic()

    def header(self, name: bytes) -> bytes:
        for key, value in self.headers:
            if key == name:
                return value
        return b""


class GatewayConnection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: GatewayServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        # The first head's deadline runs from the connection's opening.
        self.head = HeadBudget(server.limits.max_head_bytes, opened=time.monotonic())
        self.current: _Request | None = None
        self.queue: collections.deque[_Request] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.reading = True
        self.queued_bytes = 0
        self.discarding = False  # after an error that ends the connection: ignore input
        self.closed = False
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self.drained: asyncio.Future[None] | None = None
        self.last_active = time.monotonic()
        self.answered = False  # whether a response was written (else idle means "never asked")
        self.client: tuple[str, int] | None = None
        self.address: str | None = None  # the client group the ledger counts it in
        self.parked = False  # reading paused until its tenant's turn (FairShares)

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        self.address = self.server.ledger.address_key(self.client[0] if self.client else None)
        self.server.connections.add(self)
        self._account()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        self.server.ledger.update(self, self.address, None)
        if not self.lost.done():
            self.lost.set_result(None)
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        if self.drained is None or self.drained.done():
            self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self.discarding:
            return
        try:
            self._feed(data)
        finally:
            self._account()

    def _feed(self, data: bytes) -> None:
        try:
            for piece in self.head.pieces(data):
                self.parser.feed_data(piece)
                if self.discarding:
                    return
            self.head.mark(self.last_active)  # the deadline of a part-read head starts now
        except HeadTooLarge as exc:
            self._fail(exc)
        except httptools.HttpParserUpgrade:
            # Upgrades (WebSocket) are not served: answer the request, then close.
            if self.queue:
                self.queue[-1].keep_alive = False
            self.discarding = True
        except httptools.HttpParserError as exc:
            self._fail(BadRequest(f"malformed HTTP request: {exc}"))

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.current = None if self.discarding else _Request()

    def on_url(self, url: bytes) -> None:
        request = self.current
        if request is not None:
            request.url += url  # its size is bounded by ``self.head``

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.current
        if request is None:
            return
        request.headers.append((name.lower(), value))
        most = self.server.limits.max_headers
        if len(request.headers) > most:
            self._fail(
                HeadTooLarge(
                    f"request has more than {most} header lines", limit="max_headers", max=most
                )
            )

    def on_headers_complete(self) -> None:
        self.head.head_complete()
        request = self.current
        if request is None:
            return
        request.method = self.parser.get_method().decode("ascii", "replace")
        request.version = self.parser.get_http_version()
        length = request.header(b"content-length")
        if length.isdigit() and int(length) > MAX_FUNCTION_BODY:
            self._fail(too_large_body())
            return
        if request.header(b"expect").lower() == b"100-continue" and self._idle():
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        request = self.current
        if request is None:
            return
        request.size += len(body)
        if request.size > MAX_FUNCTION_BODY:
            self._fail(too_large_body())
            return
        request.body.append(body)

    def on_message_complete(self) -> None:
        self.head.next_request()
        request, self.current = self.current, None
        if request is None:
            return
        request.keep_alive = self.parser.should_keep_alive()
        self._enqueue(request)

    # -- waiting ------------------------------------------------------------------------

    def _waiting(self) -> Waiting | None:
        if self.closed or self.transport is None or self.transport.is_closing():
            return None
        return waiting_for(
            in_head=self.head.in_head,
            head_bytes=self.head.used,
            answered=self.answered,
            busy=not self._idle(),
            refused=self.discarding,
        )

    def _account(self) -> None:
        """Tell the ledger what the connection waits for now; close what it evicts."""
        for victim in self.server.ledger.update(self, self.address, self._waiting()):
            victim.evict()

    def unpark(self) -> None:
        """Read again: its tenant's turn came (FairShares)."""
        if self.parked:
            self.parked = False
            if self.reading and self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()

    def evict(self) -> None:
        """Close at once, without an answer: the ledger needs room."""
        self.close()

    # -- answering ----------------------------------------------------------------------

    def _idle(self) -> bool:
        return self.task is None and not self.queue

    def _fail(self, error: AtollError) -> None:
        """Answer ``error`` after the requests before it, then close; ignore further input."""
        request = self.current or _Request()
        self.current = None
        request.error = error
        request.keep_alive = False
        self.discarding = True
        self._enqueue(request)

    def _enqueue(self, request: _Request) -> None:
        self.queue.append(request)
        self.queued_bytes += request.size
        full = len(self.queue) >= MAX_QUEUED or self.queued_bytes > MAX_QUEUED_BYTES
        if full and self.reading and self.transport is not None:
            self.reading = False
            self.transport.pause_reading()
        if self.task is None:
            self.task = self.loop.create_task(self._answer_all())

    async def _answer_all(self) -> None:
        shares = self.server.shares
        tenant: str | None = None
        try:
            while self.queue and not self.closed:
                request = self.queue.popleft()
                self.queued_bytes -= request.size
                roomy = len(self.queue) < MAX_QUEUED // 2 and self.queued_bytes <= MAX_QUEUED_BYTES
                if not self.reading and roomy and not self.discarding and not self.parked:
                    self.reading = True
                    assert self.transport is not None
                    self.transport.resume_reading()
                host = request.header(b"host").decode("latin-1")
                tenant = shares.started(*self.server.gateway.share_of(host))
                try:
                    keep_alive = await self._answer(request) and not self.server.closing
                finally:
                    shares.finished(tenant)
                self.answered = True
                if self.drained is not None and not self.drained.done():
                    await self.drained
                if not keep_alive:
                    self.close(linger=self.discarding)
                    return
            if tenant is not None and not self.closed and self.reading and not self.discarding:
                if shares.park(tenant, self):  # its tenant has its share in flight: wait
                    self.parked = True
                    assert self.transport is not None
                    self.transport.pause_reading()
        except Exception:  # a bug here must not leave the client hanging
            log.exception("gateway connection failed")
            self.close()
        finally:
            self.task = None
            self._account()  # idle now (or draining after a refusal)

    async def _answer(self, request: _Request) -> bool:
        """Answer one request; whether the connection may carry another."""
        if request.error is not None:
            self._write_error(request, request.error)
            return False
        try:
            url = httptools.parse_url(request.url)
        except httptools.HttpParserInvalidURLError:
            self._write_error(request, BadRequest("malformed request target"))
            return False
        raw_path = url.path or b"/"
        path = unquote(raw_path.decode("latin-1"))
        query_string = url.query or b""
        if is_function_path(path):
            return await self._function(request, path, query_string)
        return await self._asgi(request, raw_path, path, query_string)

    async def _function(self, request: _Request, path: str, query_string: bytes) -> bool:
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers)
        query = (
            tuple(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
            if query_string
            else ()
        )
        reply = await self.server.gateway.function(
            request.header(b"host").decode("latin-1"),
            request.method,
            path,
            query,
            headers,
            b"".join(request.body),
        )
        head = response_head(
            reply.status,
            [
                (k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                for k, v in reply.headers
            ],
            len(reply.body),
            request.keep_alive,
            checked=True,  # ``edge_headers`` (gateway.headers) or ``error_response`` made them
        )
        self._write(head if request.method == "HEAD" else head + reply.body)
        return request.keep_alive

    def _write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def _write_error(self, request: _Request, error: AtollError) -> None:
        reply = error_response(error)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        self._write(response_head(error.status, headers, len(reply.body), False) + reply.body)

    async def _asgi(
        self, request: _Request, raw_path: bytes, path: str, query_string: bytes
    ) -> bool:
        """Serve a request through the gateway's ASGI app."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": request.version,
            "server": self.server.address,
            "client": self.client,
            "scheme": "http",
            "method": request.method,
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": query_string,
            "headers": request.headers,
        }
        body = b"".join(request.body)
        body_sent = False
        started: dict[str, Any] = {}
        finished = False
        chunked = False
        head_only = request.method == "HEAD"

        async def receive() -> dict[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.shield(self.lost)  # a cancelled receive must not cancel ``lost``
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            nonlocal finished, chunked
            kind = message["type"]
            if kind == "http.response.start":
                if started:
                    raise RuntimeError("response already started")
                started.update(status=message["status"], headers=list(message.get("headers", [])))
                return
            if kind != "http.response.body" or not started or finished:
                raise RuntimeError(f"unexpected ASGI message {kind!r}")
            if self.closed:
                raise ConnectionResetError("the client closed the connection")  # ASGI 2.4
            chunk = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            out = b""
            if "sent" not in started:
                started["sent"] = True
                length: int | None = None
                for name, value in started["headers"]:
                    if name.lower() == b"content-length" and value.isdigit():
                        length = int(value)
                if length is None and not more:
                    length = len(chunk)
                chunked = length is None and not head_only
                out = response_head(
                    started["status"], started["headers"], length, request.keep_alive
                )
            if not head_only and chunk:
                out += b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            if not more:
                finished = True
                if chunked:
                    out += b"0\r\n\r\n"
            self._write(out)
            if self.drained is not None and not self.drained.done():
                await self.drained

        try:
            await self.server.gateway.asgi(scope, receive, send)
        except ConnectionResetError:
            return False
        except Exception:
            log.exception("gateway page request failed")
            if not started.get("sent"):
                error = AtollError("the gateway failed to answer this request")
                self._write_error(request, error)
            return False
        return finished and request.keep_alive

    def close(self, linger: bool = False) -> None:
        """Close the connection (what was written is still sent).

        With ``linger`` (the client may still be sending a request we refused), only our
        side is shut and input is read and dropped for a while: closing a socket with unread
        input resets the connection, and the client would never see the error response.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if linger and transport.can_write_eof():
            self.discarding = True
            if not self.reading:
                self.reading = True
                transport.resume_reading()
            transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, transport.close)
            return
        transport.close()

    def sweep(self, now: float, idle_timeout: float, request_timeout: float) -> None:
        """Close the connection if it sat idle or a request is arriving too slowly."""
        head_timeout = self.server.limits.head_timeout_seconds
        current = self.current
        head_started = None if self.discarding else self.head.started
        if head_started is not None and now - head_started > head_timeout:
            if self.head.used == 0 and self._idle():
                self.close()  # it never sent a byte: nothing was asked, nothing is answered
            else:
                timeout = f"{head_timeout:g} s"
                self._fail(RequestTimeout(f"the request head did not arrive within {timeout}"))
        elif current is not None and now - current.started > request_timeout:
            self._fail(RequestTimeout(f"the request did not arrive within {request_timeout:g} s"))
        elif self._idle() and current is None and head_started is None and not self.parked:
            # (A parked connection may hold a request it has not been let to read yet.)
            if now - self.last_active > idle_timeout:
                self.close()


class GatewayServer:
    """The gateway on a listening socket."""

    def __init__(
        self,
        gateway: Gateway,
        idle_timeout: float = 30.0,
        request_timeout: float = 60.0,
        limits: HttpLimits | None = None,
        ledger: ConnectionLedger | None = None,
    ) -> None:
        self.gateway = gateway
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.limits = gateway.cp.settings.http if limits is None else limits
        # Shared with the other ports by ``atoll serve``; its own otherwise.
        self.ledger = ConnectionLedger(self.limits) if ledger is None else ledger
        self.connections: set[GatewayConnection] = set()
        self.closing = False
        self.address: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.shares = FairShares(
            self.limits.tenant_share_requests, self.limits.tenant_share_lag_ms / 1000
        )

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on ``sock`` (already bound and listening)."""
        loop = asyncio.get_running_loop()
        name = sock.getsockname()
        self.address = (str(name[0]), int(name[1]))
        self._server = await loop.create_server(
            lambda: GatewayConnection(self),
            sock=sock,
            backlog=BACKLOG,  # asyncio's default: 100
        )
        self._sweeper = loop.create_task(self._sweep())
        self.shares.start()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            for connection in list(self.connections):
                connection.sweep(now, self.idle_timeout, self.request_timeout)

    async def close(self, grace: float = 10.0) -> None:
        """Stop accepting; let requests and builds in flight finish (up to ``grace`` s); close
        the other connections (a build the exit then cuts short is redone at the next start)."""
        self.closing = True
        self.shares.stop()
        builds = asyncio.create_task(asyncio.to_thread(self.gateway.close, grace))
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for connection in list(self.connections):
                if connection._idle():
                    connection.close()
            if not self.connections:
                break
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        await builds
