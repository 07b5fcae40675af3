"""``atoll.db``'s connection to the database socket: kept alive, per process and thread, and
a request is sent again only when it provably never reached the other side."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atoll.sdk import db

Behaviour = Callable[[socket.socket, int], bool]  # (connection, request number) -> keep it?


class UnixServer:
    """Accepts connections on a unix socket; reads requests and answers as told."""

    def __init__(self, path: Path, behave: Behaviour) -> None:
        self.behave = behave
        self.connections = 0
        self.requests = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(data) < length:
                    data += conn.recv(65536)
                data = data[length:]
                self.requests += 1
                if not self.behave(conn, self.requests):
                    return


def answer(conn: socket.socket, body: bytes = b'{"results": []}') -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., UnixServer]]:
    path = tmp_path / "db.sock"
    monkeypatch.setattr(db, "SOCKET_PATH", str(path))
    monkeypatch.setattr(db, "_link", db._Link())
    servers: list[UnixServer] = []

    def start(behave: Behaviour) -> UnixServer:
        server = UnixServer(path, behave)
        servers.append(server)
        return server

    yield start
    db._link.close()
    for server in servers:
        server.sock.close()


def keep_answering(conn: socket.socket, n: int) -> bool:
    answer(conn)
    return True


def test_statements_share_one_connection(serve: Callable[..., UnixServer]) -> None:
    server = serve(keep_answering)
    for _ in range(3):
        assert db._pipeline([]) == []
    assert server.requests == 3 and server.connections == 1


def test_a_connection_closed_while_idle_is_replaced(serve: Callable[..., UnixServer]) -> None:
    server = serve(lambda conn, n: answer(conn) and False)  # answers, then closes
    db._pipeline([])
    db._pipeline([])  # finds the idle connection closed before any answer: sent again
    assert server.connections == 2 and server.requests == 2  # each request reached it once


def test_a_fresh_connection_that_ends_without_an_answer_is_not_retried(
    serve: Callable[..., UnixServer],
) -> None:
    server = serve(lambda conn, n: False)  # reads the request, closes without answering
    with pytest.raises(db.DatabaseUnavailable, match="closed the connection"):
        db._pipeline([])
    assert server.requests == 1


def test_an_answer_cut_short_is_not_retried(serve: Callable[..., UnixServer]) -> None:
    def half(conn: socket.socket, n: int) -> bool:
        if n == 1:
            answer(conn)
            return True
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{")
        return False

    server = serve(half)
    db._pipeline([])
    with pytest.raises(db.DatabaseUnavailable, match="mid-answer"):
        db._pipeline([])  # the request reached the service: never sent twice
    assert server.requests == 2


def test_malformed_and_error_answers_are_clear(serve: Callable[..., UnixServer]) -> None:
    replies = [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\n",
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 11\r\n\r\nunreachable",
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]",
    ]

    def reply(conn: socket.socket, n: int) -> bool:
        conn.sendall(replies[n - 1])
        return True

    serve(reply)
    for _ in range(2):
        with pytest.raises(db.DatabaseUnavailable, match="malformed answer"):
            db._pipeline([])
    with pytest.raises(db.DatabaseUnavailable, match="502.*unreachable"):
        db._pipeline([])
    with pytest.raises(db.DatabaseError, match="400"):
        db._pipeline([])
    with pytest.raises(db.DatabaseError, match="200"):  # JSON, but not an object
        db._pipeline([])


def test_each_thread_has_its_own_connection(serve: Callable[..., UnixServer]) -> None:
    server = serve(keep_answering)
    db._pipeline([])

    def in_a_thread() -> None:
        db._pipeline([])
        db._link.close()  # this thread's own connection

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    db._pipeline([])
    assert server.connections == 2 and server.requests == 3


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_an_answer_polled_for_arrives_early_or_late(
    serve: Callable[..., UnixServer], monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    def later(conn: socket.socket, n: int) -> bool:
        time.sleep(delay)  # 0.05 s: well past the poll, so the link sleeps on the socket
        answer(conn, b'{"results": [], "n": %d}' % n)
        return True

    server = serve(later)
    monkeypatch.setattr(db, "poll_s", 0.002)
    for _ in range(3):
        assert db._pipeline([]) == []
    assert db._link.sock.gettimeout() == db.TIMEOUT  # blocking again between requests
    assert server.requests == 3 and server.connections == 1


def test_a_connection_closed_while_polling_is_replaced(
    serve: Callable[..., UnixServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(lambda conn, n: answer(conn) and False)  # answers, then closes
    monkeypatch.setattr(db, "poll_s", 0.002)
    db._pipeline([])
    db._pipeline([])  # the poll sees the end of the idle connection: sent again
    assert server.connections == 2 and server.requests == 2
