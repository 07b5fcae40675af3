"""A small HTTP/1.1 client of the control-plane API, used by the CLI.

It speaks HTTP on a plain socket (TLS only for ``https://`` servers) because the CLI starts
for every command: an HTTP library costs more to import than most commands take to run.
One connection is kept alive and reused; a reused connection the server already closed is
opened again once, before any answer was read.

    AtollError
    ├── ApiError          the control plane answered 4xx/5xx (its code and message)
    └── ConnectionFailed  it could not be reached, or broke off mid-answer
"""

from __future__ import annotations

import json
import socket
from urllib.parse import quote, urlencode, urlsplit

from atoll import __version__
from atoll.errors import AtollError

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

# Bounds on what a server may send: the CLI trusts no server with its memory.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_EVENT_BYTES = 4 * 1024 * 1024


class ApiError(AtollError):
    """The control plane answered with an error."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.detail = detail  # not as keywords: a server's detail may hold a "message"
        self.http_status = status
        self.error_code = code


class ConnectionFailed(AtollError):
    """The control plane could not be reached."""

    code = "connection_failed"


class Response:
    """A complete answer: status, lower-cased headers, body."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.content)


class _Stale(Exception):
    """A kept-alive connection was closed by the server before it answered."""


class _Connection:
    """One socket to the server and a read buffer."""

    def __init__(self, scheme: str, host: str, port: int, timeout: float) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            import ssl  # only for https: it costs as much to import as a command takes

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.buffer = b""
        self.used = False

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def read_until(self, marker: bytes, limit: int, start: bytes = b"") -> bytes:
        """Bytes up to and including ``marker`` (which must begin with ``start``); EOFError if
        the server closed first."""
        while True:
            if not start.startswith(self.buffer[: len(start)]):
                raise ConnectionFailed(f"the server does not speak HTTP: {self.buffer[:40]!r}")
            end = self.buffer.find(marker)
            if end >= 0:
                end += len(marker)
                if end > limit:
                    raise ConnectionFailed("the server sent an oversized response head or line")
                found, self.buffer = self.buffer[:end], self.buffer[end:]
                return found
            if len(self.buffer) > limit:
                raise ConnectionFailed("the server sent an oversized response head or line")
            if not self._fill():
                raise EOFError

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes."""
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionFailed("the server closed the connection mid-answer")
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def read_to_end(self, limit: int) -> bytes:
        """Everything until the server closes."""
        while self._fill():
            if len(self.buffer) > limit:
                raise ConnectionFailed(f"the server sent more than {limit} bytes")
        found, self.buffer = self.buffer, b""
        return found


class ApiClient:
    """Calls ``/api/v1`` of one server with one token."""

    def __init__(self, server: str, token: str | None, timeout: float = 60.0) -> None:
        self.server = server.rstrip("/")
        try:
            parts = urlsplit(self.server)
        except ValueError as exc:  # "http://[::1"
            raise ConnectionFailed(f"bad server URL {server!r}: {exc}", server=server) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectionFailed(
                f"the server URL must look like http://HOST:PORT, not {server!r}",
                server=server,
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ConnectionFailed(f"bad port in the server URL {server!r}") from exc
        self._prefix = parts.path.rstrip("/") + "/api/v1"
        netloc = parts.netloc.rpartition("@")[2]
        self._headers = {"Host": netloc, "User-Agent": f"atoll-cli/{__version__}"}
        if token:
            if any(c in token for c in "\r\n\0"):
                raise ConnectionFailed("the token holds a line break or NUL; check it")
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._conn: _Connection | None = None

    def wait_longer(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for answers from now on (long builds)."""
        self.close()  # a kept-alive connection keeps the old timeout
        self._timeout = max(self._timeout, timeout)

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _target(self, path: str, params: dict[str, Any] | None) -> str:
        # What a caller quoted already ("%XX") stays; what cannot stand on a request line
        # (spaces, line breaks, non-ASCII) is quoted, as an HTTP library would.
        target = quote(self._prefix + path, safe="/%:@!$&'()*+,;=")
        if params:
            target += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        return target

    def _connect(self, fresh: bool) -> _Connection:
        if fresh or self._conn is None:
            self.close()
            try:
                self._conn = _Connection(self._scheme, self._host, self._port, self._timeout)
            except OSError as exc:
                raise self._unreachable(exc) from exc
        return self._conn

    def _unreachable(self, exc: BaseException) -> ConnectionFailed:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ConnectionFailed(
            f"cannot reach the control plane at {self.server}: {reason or type(exc).__name__}",
            server=self.server,
        )

    def _send(
        self, conn: _Connection, method: str, target: str, head: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str]]:
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in {**self._headers, **head}.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        reused = conn.used
        conn.used = True
        try:
            conn.sock.sendall(data)
            raw = conn.read_until(b"\r\n\r\n", MAX_HEAD_BYTES, start=b"HTTP/")
        except (EOFError, ConnectionResetError, BrokenPipeError) as exc:
            if reused and not conn.buffer:  # nothing of an answer came: safe to resend
                raise _Stale from exc
            raise ConnectionFailed("the server closed the connection without answering") from exc
        return _parse_head(raw)

    def _exchange(
        self, method: str, target: str, head: dict[str, str], body: bytes
    ) -> tuple[_Connection, int, dict[str, str]]:
        try:
            conn = self._connect(fresh=False)
            try:
                status, headers = self._send(conn, method, target, head, body)
            except _Stale:
                conn = self._connect(fresh=True)
                status, headers = self._send(conn, method, target, head, body)
        except OSError as exc:
            self.close()
            raise self._unreachable(exc) from exc
        except ConnectionFailed:
            self.close()  # what is left on it is not the start of the next answer
            raise
        return conn, status, headers

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send a request; API errors become ``ApiError``, network errors ``ConnectionFailed``."""
        head = dict(headers or {})
        body = content or b""
        if json is not None:
            body = _dumps(json)
            head["Content-Type"] = "application/json"
        conn, status, got = self._exchange(method, self._target(path, params), head, body)
        bodiless = method == "HEAD" or status in (204, 304)  # RFC 9112 6.3
        try:
            data = b"" if bodiless else _read_body(conn, got)
        except OSError as exc:
            self.close()
            raise self._unreachable(exc) from exc
        except ConnectionFailed:
            self.close()
            raise
        if got.get("connection", "").lower() == "close" or (
            not bodiless
            and "content-length" not in got
            and got.get("transfer-encoding", "").lower() != "chunked"
        ):
            self.close()
        response = Response(status, got, data)
        if status >= 400:
            _raise(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON answer."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectionFailed(
                f"the server at {self.server} answered {path} with something that is not JSON; "
                "is it an atoll control plane?"
            ) from exc

    def events(
        self, path: str, params: dict[str, Any] | None = None, json: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Server-sent events of a GET (a POST of ``json``, given one), each ``data:`` line
        decoded as JSON."""
        target = self._target(path, params)
        head = {"Accept": "text/event-stream"}
        body = b""
        if json is not None:
            head["Content-Type"] = "application/json"
            body = _dumps(json)
        method = "GET" if json is None else "POST"
        conn, status, got = self._exchange(method, target, head, body)
        self._conn = None  # the stream owns this connection now
        try:
            if status >= 400:
                _raise(Response(status, got, _read_body(conn, got)))
            for line in _lines(conn, got):
                if line.startswith(b"data: "):
                    yield json_loads(line[6:])
        except OSError as exc:
            raise ConnectionFailed(f"lost the control plane at {self.server}: {exc}") from exc
        finally:
            conn.close()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def json_loads(data: bytes) -> Any:
    """Decode JSON from the server; a broken document is the server's failure."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ConnectionFailed(f"the server sent broken JSON: {exc}") from exc


def _digits(text: str) -> bool:
    # Only ASCII: "²".isdigit() holds, and int("²") raises.
    return text.isascii() and text.isdigit()


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _digits(parts[1]):
        raise ConnectionFailed(f"the server does not speak HTTP/1.1: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _read_body(conn: _Connection, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return b"".join(_chunks(conn))
    length = headers.get("content-length")
    if length is None:
        return conn.read_to_end(MAX_BODY_BYTES)
    if not _digits(length) or int(length) > MAX_BODY_BYTES:
        raise ConnectionFailed(f"the server announced a body of {length[:20]!r} bytes")
    return conn.read_exact(int(length))


def _chunks(conn: _Connection, limit: int | None = MAX_BODY_BYTES) -> Iterator[bytes]:
    total = 0
    while True:
        line = conn.read_until(b"\r\n", 1024).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError as exc:
            raise ConnectionFailed("the server sent a broken chunked body") from exc
        total += size
        if size < 0 or size > MAX_BODY_BYTES or (limit is not None and total > limit):
            raise ConnectionFailed("the server sent an oversized chunked body")
        if size == 0:
            conn.read_until(b"\r\n", MAX_HEAD_BYTES)  # no trailers are sent here
            return
        yield conn.read_exact(size)
        conn.read_exact(2)


def _lines(conn: _Connection, headers: dict[str, str]) -> Iterator[bytes]:
    """The body's lines as they arrive (a stream may never end)."""
    pending = b""
    chunked = headers.get("transfer-encoding", "").lower() == "chunked"
    source = _chunks(conn, limit=None) if chunked else _raw(conn)
    for piece in source:
        pending += piece
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r")
        if len(pending) > MAX_EVENT_BYTES:
            raise ConnectionFailed("the server sent an oversized event")
    if pending:
        yield pending


def _raw(conn: _Connection) -> Iterator[bytes]:
    if conn.buffer:
        yield conn.buffer
        conn.buffer = b""
    while data := conn.sock.recv(65536):
        yield data


def _raise(response: Response) -> None:
    try:
        err = response.json()["error"]
        code, message, detail = str(err["code"]), str(err["message"]), err.get("detail") or {}
        if not isinstance(detail, dict):
            detail = {}
    except (ValueError, KeyError, TypeError):
        code, message, detail = "http_error", response.text[:200] or "no message", {}
    # One line, whatever the server put in it.
    message = " ".join(message.split())[:2000]
    raise ApiError(response.status_code, code, message, detail)
