"""A load client for the gateway: many keep-alive connections on plain sockets and epoll,
light enough on a 2-core machine that the server, not the client, is what gets measured.

    python -m tests.e2e.burst_client PORT HOST PATH CLIENTS REQUESTS_EACH   # prints JSON
"""

from __future__ import annotations

import json
import resource
import select
import socket
import sys
import time
from dataclasses import dataclass, field


def raise_fd_limit(wanted: int) -> None:
    """Let this process (and what it starts later) hold ``wanted`` open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


@dataclass
class Answer:
    """One response as the client saw it."""

    status: int
    seconds: float
    retry_after: str | None
    body: bytes


@dataclass
class Burst:
    """What a burst got back."""

    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0

    def statuses(self) -> dict[int, int]:
        """How many answers had each status."""
        counts: dict[int, int] = {}
        for answer in self.answers:
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts


def burst(port: int, host: str, path: str, clients: int, each: int) -> Burst:
    """``clients`` keep-alive connections, all opened first, then all sending at once, each
    its next request as soon as its answer is in, ``each`` requests per connection."""
    raise_fd_limit(clients + 64)
    request = f"GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n".encode()
    poller = select.epoll()
    conns: dict[int, list[object]] = {}  # fd -> [socket, buffer, sent at, left]
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conns[sock.fileno()] = [sock, bytearray(), 0.0, each]
        poller.register(sock.fileno(), select.EPOLLIN)
    result = Burst()
    start = time.perf_counter()
    for conn in conns.values():
        conn[2] = time.perf_counter()
        conn[0].send(request)  # type: ignore[attr-defined]
    total = clients * each
    try:
        while len(result.answers) < total:
            for fd, _ in poller.poll(60):
                _read(conns[fd], result, request)
            if time.perf_counter() - start > 120:
                raise TimeoutError(f"{len(result.answers)} of {total} answers in 120 s")
    finally:
        result.seconds = time.perf_counter() - start
        for conn in conns.values():
            conn[0].close()  # type: ignore[attr-defined]
        poller.close()
    return result


def _read(conn: list[object], result: Burst, request: bytes) -> None:
    sock, buffer = conn[0], conn[1]
    assert isinstance(sock, socket.socket) and isinstance(buffer, bytearray)
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("the server closed a connection")
    buffer += data
    while (end := buffer.find(b"\r\n\r\n")) >= 0:
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers.get("content-length", "0"))
        if len(buffer) < end + 4 + length:
            return
        now = time.perf_counter()
        body = bytes(buffer[end + 4 : end + 4 + length])
        del buffer[: end + 4 + length]
        sent = conn[2]
        assert isinstance(sent, float)
        status = int(lines[0].split(" ", 2)[1])
        result.answers.append(Answer(status, now - sent, headers.get("retry-after"), body))
        left = conn[3]
        assert isinstance(left, int)
        conn[3] = left - 1
        if left > 1:
            conn[2] = now
            sock.send(request)


def main() -> None:
    """Run one burst and print its statuses, latency percentiles and duration as JSON."""
    port, host, path, clients, each = sys.argv[1:6]
    got = burst(int(port), host, path, int(clients), int(each))
    times = sorted(a.seconds for a in got.answers)
    print(
        json.dumps(
            {
                "statuses": got.statuses(),
                "p50": times[len(times) // 2],
                "p99": times[int(len(times) * 0.99)],
                "seconds": got.seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
