"""Bounds on HTTP request heads: a deadline, a byte budget and a header count.

``HeadBudget`` (no I/O) meters the bytes of the request head being read; the gateway's own
server and ``HeadGuardedProtocol`` feed their parser through it. ``HeadGuardedProtocol``
is uvicorn's httptools protocol plus those bounds, for the uvicorn servers (control plane,
DB service): build them with ``GuardedConfig``. The rules, for every connection:

- a request head (request line and headers) must arrive whole within
  ``head_timeout_seconds`` of the connection opening or of its first byte (blank lines
  before a request count), else ``408`` and the connection closes (a connection that sent
  nothing closes without an answer);
- a head over ``max_head_bytes`` or ``max_headers`` lines is a ``431``, then closed.

Bodies are the application's to bound (``BodySizeLimit``, the DB service's own limit).
"""

from __future__ import annotations

import asyncio
import http
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from atoll.config import HttpLimits
from atoll.errors import AtollError

# After refusing a request, input is read and dropped this long before the socket closes:
# closing with unread input resets the connection, and the client would miss the answer.
LINGER_SECONDS = 5.0


class HeadTooLarge(AtollError):
    """The request line and headers are over the limit."""

    status = 431
    code = "limit_exceeded"


class RequestTimeout(AtollError):
    """The request did not arrive whole in time."""

    status = 408
    code = "request_timeout"


class HeadBudget:
    """How many bytes of the request head being read have arrived, against a limit.

    Byte counts from parser callbacks miss a header value that has not ended yet (httptools
    keeps it until the next line starts), so the bytes are counted as they are fed.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.in_head = True  # the next bytes belong to a request head
        self.started: float | None = None  # when the head being read began (``mark``)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """``data`` cut so that no piece takes the head past the limit; feed them in turn.

        Raises ``HeadTooLarge`` instead of yielding bytes past the limit. The parser's
        callbacks call ``head_complete`` and ``next_request`` between pieces.
        """
        while data:
            if not self.in_head:
                yield data
                return
            room = self.max_bytes - self.used
            if room <= 0:
                raise HeadTooLarge(
                    f"request head is larger than {self.max_bytes} bytes",
                    limit="max_head_bytes",
                    max=self.max_bytes,
                )
            piece, data = data[:room], data[room:]
            self.used += len(piece)
            yield piece

    def mark(self, now: float) -> None:
        """After feeding: note ``now`` as the start of a part-read head that has none yet.

        Any byte starts a head, blank lines before a request too (they start no message).
        """
        if self.in_head and self.used and self.started is None:
            self.started = now

    def head_complete(self) -> None:
        """The headers ended: what follows is body."""
        self.in_head = False
        self.started = None

    def next_request(self) -> None:
        """The request ended: what follows is the next request's head."""
        self.in_head = True
        self.used = 0
        self.started = None


class _Refused(Exception):
    """Stops the parser mid-feed once a request was refused."""


class GuardedConfig(uvicorn.Config):
    """A uvicorn configuration whose HTTP protocol bounds request heads by ``limits``."""

    def __init__(self, app: Any, limits: HttpLimits, **options: Any) -> None:
        super().__init__(app, http=HeadGuardedProtocol, **options)
        self.head_limits = limits


class HeadGuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline, a byte limit and a line limit on heads."""

    _reasons: ClassVar[dict[int, bytes]] = {s.value: s.phrase.encode() for s in http.HTTPStatus}

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = config.head_limits if isinstance(config, GuardedConfig) else HttpLimits()
        self.head = HeadBudget(self.limits.max_head_bytes)
        self.header_lines = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # uvicorn arms no timer until a first response

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: drop what the client still sends
        try:
            for piece in self.head.pieces(data):
                super().data_received(piece)
                if self.refused or self.transport.is_closing():
                    return
                if self.transport.get_protocol() is not self:  # upgraded to WebSocket
                    return
        except HeadTooLarge as exc:
            self._refuse(exc)
            return
        self.head.mark(self.loop.time())
        if self.head.started is not None:
            # A head is part-read (blank lines too: they start no message, yet they stop
            # uvicorn's keep-alive timer): its deadline runs.
            self._start_head_timer()

    def send_400_response(self, msg: str) -> None:
        if not self.refused:  # a refusal raised in a callback was answered already
            super().send_400_response(msg)

    # -- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_lines = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_lines += 1
        if self.header_lines > self.limits.max_headers:
            self._refuse(
                HeadTooLarge(
                    f"request has more than {self.limits.max_headers} header lines",
                    limit="max_headers",
                    max=self.limits.max_headers,
                )
            )
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head.head_complete()
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head.next_request()

    # -- the head deadline --------------------------------------------------------------

    def _start_head_timer(self) -> None:
        if self.head_timer is None and not self.refused:
            timeout = self.limits.head_timeout_seconds
            self.head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.head.used == 0 and self._idle():
            self.transport.close()  # nothing was asked, so nothing is answered
            return
        timeout = self.limits.head_timeout_seconds
        self._refuse(RequestTimeout(f"the request head did not arrive within {timeout:g} s"))

    # -- refusing -----------------------------------------------------------------------

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _refuse(self, error: AtollError) -> None:
        """Answer ``error`` and close; with a response still being sent, close after it."""
        self.refused = True
        self._stop_head_timer()
        if not self._idle():
            # The answer in flight comes first and the error cannot follow it on the wire
            # without interleaving: end the connection when that answer is complete.
            self.cycle.keep_alive = False
            return
        body = json.dumps(error.to_dict()).encode()
        lines = [b"HTTP/1.1 %d %s\r\n" % (error.status, self._reasons.get(error.status, b""))]
        lines.extend(b"%s: %s\r\n" % header for header in self.server_state.default_headers)
        lines.append(b"content-type: application/json\r\n")
        lines.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(lines) + body)
        if self.transport.can_write_eof():
            self.flow.resume_reading()
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
