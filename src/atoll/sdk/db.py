"""``atoll.db``: the app environment's SQLite database.

Each app environment (dev, staging, prod, ...) has its own database; ``migrations/*.sql``
shape it. Statements take ``?`` placeholders and a list of arguments; rows come back as
dicts keyed by column name.

Example:
    ```python
    atoll.db.execute("INSERT INTO todos (title) VALUES (?)", [title])
    todos = atoll.db.execute("SELECT id, title, done FROM todos ORDER BY id")
    ```

Values map as SQLite's types: ``None`` is NULL, ``bool`` and ``int`` are INTEGER, ``float``
is REAL, ``bytes`` is BLOB, anything else is sent as TEXT (``str(value)``).

Inside the sandbox this module talks to the DB service (Hrana ``/v2/pipeline`` over HTTP/1.1)
through the unix socket ``SOCKET_PATH`` that the runtime binds in when the environment has a
database.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SOCKET_PATH = "/run/atoll/db.sock"


class DatabaseUnavailable(RuntimeError):
    """No database is attached to this sandbox, or the DB service did not answer."""


class DatabaseError(RuntimeError):
    """The database refused a statement (SQL error, constraint, read-only token...)."""


TIMEOUT = 30.0
MAX_HEAD_BYTES = 64 * 1024
MAX_POLL_S = 0.01

#: How long to poll for an answer before sleeping; the worker sets it per call (while the
#: platform has CPUs to spare), since waking a sleeping process is slow on VMs.
poll_s = 0.0


class _Stale(Exception):
    """A reused connection turned out to be closed before any answer came back."""


class _Link(threading.local):
    """A keep-alive HTTP/1.1 connection to the database socket, one per process and thread.

    The runtime's proxy only closes a connection between requests (after an idle spell), so a
    reused connection that ends before any byte of the answer never carried the request:
    sending it again on a new connection is safe.
    """

    def __init__(self) -> None:
        self.sock: Any = None
        self.pid = 0

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` as JSON to ``path``; the answer's status and body."""
        reused = self.sock is not None and self.pid == os.getpid()
        if not reused:
            self._connect()
        try:
            try:
                return self._exchange(path, body)
            except _Stale:
                if not reused:
                    raise OSError("the database socket closed the connection") from None
                self._connect()
                return self._exchange(path, body)
        except BaseException:
            self.close()  # a half-read answer leaves the stream unusable
            raise

    def _connect(self) -> None:
        import socket

        # Closing an inherited connection here (after a fork) leaves the parent's open.
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(SOCKET_PATH)
        except BaseException:
            sock.close()
            raise
        self.sock, self.pid = sock, os.getpid()

    def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = (
            f"POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            self.sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Stale() from exc
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = self._poll() if not data and poll_s else self.sock.recv(65536)
            except ConnectionResetError as exc:
                if data:
                    raise
                raise _Stale() from exc
            if not chunk:
                if data:
                    raise OSError("the database socket closed the connection mid-answer")
                raise _Stale()
            data += chunk
            if len(data) > MAX_HEAD_BYTES and b"\r\n\r\n" not in data:
                raise OSError("the database socket sent an oversized answer head")
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        try:
            status = int(lines[0].split(" ", 2)[1])
            length = int(fields.get("content-length", "0"))
            if length < 0:
                raise ValueError(length)
        except (IndexError, ValueError):
            raise OSError(f"the database socket sent a malformed answer: {lines[0]!r}") from None
        while len(rest) < length:
            chunk = self.sock.recv(max(65536, length - len(rest)))
            if not chunk:
                raise OSError("the database socket closed the connection mid-answer")
            rest += chunk
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, rest[:length]

    def _poll(self) -> bytes:
        """The first part of the answer, polled for up to ``poll_s`` before sleeping on it."""
        deadline = time.perf_counter() + min(poll_s, MAX_POLL_S)
        self.sock.settimeout(0.0)
        try:
            while True:
                try:
                    return self.sock.recv(65536)  # type: ignore[no-any-return]
                except BlockingIOError:
                    if time.perf_counter() >= deadline:
                        break
                    os.sched_yield()  # polling is for spare CPU: anything runnable goes first
        finally:
            self.sock.settimeout(TIMEOUT)
        return self.sock.recv(65536)  # type: ignore[no-any-return]


_link = _Link()


def _value(v: Any) -> dict[str, Any]:
    if v is None:
        return {"type": "null"}
    if isinstance(v, bool | int):
        return {"type": "integer", "value": str(int(v))}
    if isinstance(v, float):
        return {"type": "float", "value": v}
    if isinstance(v, bytes):
        import base64

        return {"type": "blob", "base64": base64.b64encode(v).decode()}
    return {"type": "text", "value": str(v)}


def _decode(v: dict[str, Any]) -> Any:
    kind = v.get("type")
    if kind == "integer":
        return int(v["value"])
    if kind == "float":
        return float(v["value"])
    if kind == "text":
        return v["value"]
    if kind == "blob":
        import base64

        return base64.b64decode(v["base64"])
    return None


_baton: list[str | None] = []  # the open transaction's Hrana stream, if any


def _pipeline(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if _link.sock is None and not os.path.exists(SOCKET_PATH):  # a connection proves it
        raise DatabaseUnavailable("no database is attached to this app environment")
    body = json.dumps({"baton": _baton[-1] if _baton else None, "requests": requests})
    try:
        status, raw = _link.post("/v2/pipeline", body.encode())
    except OSError as exc:
        raise DatabaseUnavailable(f"the DB service did not answer: {exc}") from exc
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = raw.decode(errors="replace")[:1000]
    if status in (502, 503, 504):  # the proxy's own answers: the service is not there
        raise DatabaseUnavailable(f"the DB service did not answer ({status}): {payload}")
    if status != 200 or not isinstance(payload, dict):
        raise DatabaseError(f"DB service returned {status}: {payload}")
    if _baton:
        _baton[-1] = payload.get("baton")
    results: list[dict[str, Any]] = payload.get("results", [])
    for r in results:
        if r.get("type") == "error":
            raise DatabaseError(r.get("error", {}).get("message", "database error"))
    return results


def _stmt(sql: str, args: Sequence[Any] = ()) -> dict[str, Any]:
    return {"sql": sql, "args": [_value(a) for a in args]}


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    res = result["response"]["result"]
    names = [c.get("name") for c in res.get("cols", [])]
    return [dict(zip(names, (_decode(v) for v in row), strict=False)) for row in res["rows"]]


def execute(sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one statement; rows as dicts (empty for statements that return none).

    Inside a ``transaction()`` block the statement is part of that transaction; otherwise
    it commits on its own.

    Args:
        sql: One SQL statement, with ``?`` placeholders.
        args: The placeholders' values, in order.

    Returns:
        The rows, each a dict of column name to value.

    Raises:
        DatabaseError: The database refused the statement.
        DatabaseUnavailable: No database is attached, or the DB service did not answer.
    """
    requests: list[dict[str, Any]] = [{"type": "execute", "stmt": _stmt(sql, args)}]
    if not _baton:
        requests.append({"type": "close"})
    return _rows(_pipeline(requests)[0])


def batch(statements: Sequence[str | tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
    """Run several statements in one transaction; the rows of each.

    All or nothing: when one statement fails, none of them is kept.

    Example:
        ```python
        atoll.db.batch([
            ("UPDATE accounts SET balance = balance - ? WHERE id = ?", [10, 1]),
            ("UPDATE accounts SET balance = balance + ? WHERE id = ?", [10, 2]),
        ])
        ```

    Args:
        statements: Each a SQL string, or a ``(sql, args)`` pair.

    Returns:
        One list of rows per statement, in order.

    Raises:
        DatabaseError: A statement was refused (the whole batch is rolled back).
        DatabaseUnavailable: No database is attached, or the DB service did not answer.
    """
    stmts = [_stmt(s) if isinstance(s, str) else _stmt(*s) for s in statements]
    steps: list[dict[str, Any]] = [{"stmt": _stmt("BEGIN")}]
    for i, stmt in enumerate(stmts):
        steps.append({"stmt": stmt, "condition": {"type": "ok", "step": i}})
    steps.append({"stmt": _stmt("COMMIT"), "condition": {"type": "ok", "step": len(stmts)}})
    results = _pipeline([{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}])
    batch_result = results[0]["response"]["result"]
    for err in batch_result.get("step_errors", []):
        if err:
            raise DatabaseError(err.get("message", "database error"))
    out = []
    for res in batch_result["step_results"][1:-1]:
        names = [c.get("name") for c in res.get("cols", [])]
        out.append(
            [dict(zip(names, (_decode(v) for v in row), strict=False)) for row in res["rows"]]
        )
    return out


@contextmanager
def transaction() -> Iterator[None]:
    """Run the ``execute`` calls inside the block as one transaction (rolled back on error).

    The block commits when it ends normally and rolls back when it raises (the exception
    goes on). Transactions do not nest.

    Example:
        ```python
        with atoll.db.transaction():
            row = atoll.db.execute("SELECT stock FROM items WHERE id = ?", [item])[0]
            atoll.db.execute("UPDATE items SET stock = ? WHERE id = ?", [row["stock"] - 1, item])
        ```

    Raises:
        DatabaseError: A transaction is already open in this function call.
    """
    if _baton:
        raise DatabaseError("transactions do not nest")
    _baton.append(None)
    try:
        _pipeline([{"type": "execute", "stmt": _stmt("BEGIN")}])
        try:
            yield
        except BaseException:
            _pipeline([{"type": "execute", "stmt": _stmt("ROLLBACK")}, {"type": "close"}])
            raise
        _pipeline([{"type": "execute", "stmt": _stmt("COMMIT")}, {"type": "close"}])
    finally:
        _baton.clear()
