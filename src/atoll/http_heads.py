"""Bounds on HTTP request heads and on connections waiting for one.

``HeadBudget`` (no I/O) meters the bytes of the request head being read; the gateway's own
server and ``HeadGuardedProtocol`` feed their parser through it. ``ConnectionLedger`` (no
I/O) counts the connections that wait for their client, by client address and in all, and
names which to close when a count would pass its cap; the three ports of ``atoll serve``
share one. ``HeadGuardedProtocol`` is uvicorn's httptools protocol plus these bounds, for
the uvicorn servers (control plane, DB service): build them with ``GuardedConfig``. The
rules, for every connection:

- a request head (request line and headers) must arrive whole within
  ``head_timeout_seconds`` of the connection opening, or on a kept-alive connection of the
  next request's first byte (blank lines before a request count), else ``408`` and the
  connection closes (a connection that sent nothing closes without an answer);
- a head over ``max_head_bytes`` or ``max_headers`` lines is a ``431``, then closed;
- connections whose head is not whole yet (``Waiting.HEAD``) and kept-alive connections idle
  between requests (``Waiting.IDLE``) are each capped per client address and in all; one
  more closes the oldest of its kind, from that address or in all.

Bodies are the application's to bound (``BodySizeLimit``, the DB service's own limit);
``read_body`` reads a whole one under a cap, for the API and the gateway alike.
"""

from __future__ import annotations

import asyncio
import enum
import http
import ipaddress
import json
from collections.abc import Iterator
from typing import Any, ClassVar, Protocol

import uvicorn
from starlette.requests import Request
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from atoll.config import HttpLimits
from atoll.errors import AtollError, LimitExceeded

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

    def __init__(self, max_bytes: int, opened: float | None = None) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.in_head = True  # the next bytes belong to a request head
        # When the head being waited for began: the connection's opening for the first one
        # (when given), else its first byte (``mark``).
        self.started: float | None = opened

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


class Waiting(enum.Enum):
    """What a connection waits for from its client, as ``ConnectionLedger`` counts it."""

    HEAD = "incomplete"  # a new connection, a part-read head, or a refused one draining
    IDLE = "idle"  # kept alive after an answer, no byte of the next request yet


def waiting_for(
    *, in_head: bool, head_bytes: int, answered: bool, busy: bool, refused: bool
) -> Waiting | None:
    """What a connection waits for, from its state; None when it is not waiting on a head.

    ``busy``: a request is being answered or waits its turn (a function runs, a response is
    written); ``refused``: an error ended the connection and its input is being drained.
    """
    if busy:
        return None
    if refused:
        return Waiting.HEAD
    if not in_head:
        return None  # a body is arriving: the request's own bounds apply
    if head_bytes or not answered:
        return Waiting.HEAD
    return Waiting.IDLE


class Evictable(Protocol):
    """A connection the ledger can ask to make room."""

    def evict(self) -> None:
        """Close at once, without an answer."""


_NONE: tuple[Evictable, ...] = ()


class ConnectionLedger:
    """Connections waiting for their client, by kind, by client address and in all (no I/O).

    ``update`` records what a connection waits for (``Waiting``, or None once it does not);
    when that takes a count past its cap, the oldest connection of that kind (from the same
    address, or in all) leaves the ledger and is returned for the caller to close. Closing
    the oldest rather than refusing the newest keeps serving clients whose head arrives in
    one round trip while someone holds the cap with slow ones: to shut them out, the holder
    has to open connections faster than they send heads. Addresses in
    ``per_address_exempt`` (and non-IP peers) are counted in all only.
    """

    def __init__(self, limits: HttpLimits, open_files: int | None = None) -> None:
        self.per_address = {
            Waiting.HEAD: limits.max_incomplete_per_address,
            Waiting.IDLE: limits.max_idle_per_address,
        }
        self.overall = {
            Waiting.HEAD: overall_cap(limits.max_incomplete, open_files),
            Waiting.IDLE: overall_cap(limits.max_idle, open_files),
        }
        self.exempt = tuple(limits.per_address_exempt)
        self._entries: dict[Evictable, tuple[Waiting, str | None]] = {}
        # Insertion-ordered: the first connection of each is the oldest.
        self._all: dict[Waiting, dict[Evictable, None]] = {kind: {} for kind in Waiting}
        self._by_address: dict[tuple[Waiting, str], dict[Evictable, None]] = {}

    def address_key(self, host: str | None) -> str | None:
        """The client group ``host`` counts in: the IPv4 address, or the IPv6 address's /64;
        None for a peer the per-address caps skip (exempt, or not an IP address)."""
        if not host:
            return None
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])  # without an IPv6 zone
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's IPv4 client
        if any(address in network for network in self.exempt):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            # One host usually holds a whole /64: capping single addresses would cap nothing.
            return str(ipaddress.IPv6Network((address, 64), strict=False))
        return str(address)

    def update(
        self, connection: Evictable, address: str | None, kind: Waiting | None
    ) -> tuple[Evictable, ...]:
        """Record that ``connection`` (client group ``address``) waits for ``kind`` (None: no
        longer waits); the connections to close to keep within the caps, oldest first."""
        entry = self._entries.get(connection)
        if entry is not None:
            if entry[0] is kind:
                return _NONE  # still waiting for the same thing: its age stands
            self._remove(connection, entry)
        if kind is None:
            return _NONE
        self._entries[connection] = (kind, address)
        everyone = self._all[kind]
        everyone[connection] = None
        evicted: list[Evictable] = []
        if address is not None:
            group = self._by_address.setdefault((kind, address), {})
            group[connection] = None
            while len(group) > self.per_address[kind]:
                evicted.append(self._evict_oldest(group))
        while len(everyone) > self.overall[kind]:
            evicted.append(self._evict_oldest(everyone))
        return tuple(evicted)

    def count(self, kind: Waiting, address: str | None = None) -> int:
        """How many connections wait for ``kind``: from client group ``address``, or in all."""
        if address is None:
            return len(self._all[kind])
        return len(self._by_address.get((kind, address), ()))

    def _evict_oldest(self, connections: dict[Evictable, None]) -> Evictable:
        oldest = next(iter(connections))
        self._remove(oldest, self._entries[oldest])
        return oldest

    def _remove(self, connection: Evictable, entry: tuple[Waiting, str | None]) -> None:
        kind, address = entry
        del self._entries[connection]
        del self._all[kind][connection]
        if address is not None:
            group = self._by_address[(kind, address)]
            del group[connection]
            if not group:
                del self._by_address[(kind, address)]


def overall_cap(cap: int, open_files: int | None) -> int:
    """``cap``, kept to a quarter of the open-file limit when one is given: both overall caps
    together then leave half the descriptors to answers, sandboxes and databases."""
    if open_files is None:
        return cap
    return max(1, min(cap, open_files // 4))


class _Refused(Exception):
    """Stops the parser mid-feed once a request was refused."""


class GuardedConfig(uvicorn.Config):
    """A uvicorn configuration whose HTTP protocol bounds request heads by ``limits`` and
    counts waiting connections in ``ledger`` (its own unless one is shared)."""

    def __init__(
        self,
        app: Any,
        limits: HttpLimits,
        ledger: ConnectionLedger | None = None,
        **options: Any,
    ) -> None:
        super().__init__(app, http=HeadGuardedProtocol, **options)
        self.head_limits = limits
        self.ledger = ConnectionLedger(limits) if ledger is None else ledger


class HeadGuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline, a byte limit and a line limit on heads,
    and its waiting counted in a ``ConnectionLedger``."""

    _reasons: ClassVar[dict[int, bytes]] = {s.value: s.phrase.encode() for s in http.HTTPStatus}

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if isinstance(config, GuardedConfig):
            self.limits, self.ledger = config.head_limits, config.ledger
        else:
            self.limits = HttpLimits()
            self.ledger = ConnectionLedger(self.limits)
        self.address: str | None = None  # the client group the ledger counts it in
        self.head = HeadBudget(self.limits.max_head_bytes)
        self.header_lines = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.address = self.ledger.address_key(self.client[0] if self.client else None)
        self._start_head_timer()  # uvicorn arms no timer until a first response
        self._account()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self.ledger.update(self, self.address, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: drop what the client still sends
        try:
            self._feed(data)
        finally:
            self._account()

    def _feed(self, data: bytes) -> None:
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

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._account()  # idle now, or the next pipelined request runs

    def evict(self) -> None:
        """Close at once, without an answer: the ledger needs room."""
        self._stop_head_timer()
        self.transport.close()

    def _account(self) -> None:
        """Tell the ledger what the connection waits for now; close what it evicts."""
        transport = self.transport
        kind = None
        if not transport.is_closing() and transport.get_protocol() is self:
            cycle = self.cycle
            kind = waiting_for(
                in_head=self.head.in_head,
                head_bytes=self.head.used,
                answered=cycle is not None,
                busy=(cycle is not None and not cycle.response_complete) or bool(self.pipeline),
                refused=self.refused,
            )
        for victim in self.ledger.update(self, self.address, kind):
            victim.evict()

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


async def read_body(request: Request, limit: int, name: str, what: str = "request body") -> bytes:
    """The whole body, refused with ``LimitExceeded`` as soon as it passes ``limit`` bytes."""
    too_big = LimitExceeded(f"{what} is larger than {limit} bytes", limit=name, max=limit)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
