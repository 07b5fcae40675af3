"""Holding load through a real ``atoll serve``: a thousand clients at once, a slow function
that sheds with Retry-After, and a tenant left alone while another floods."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.burst_client import burst, raise_fd_limit
from tests.e2e.conftest import Served, start_server, stop_server

FAST = "import time\n\n\ndef get() -> str:\n    time.sleep(0.001)\n    return 'ok'\n"
SLOW = "import time\n\n\ndef get() -> str:\n    time.sleep(0.2)\n    return 'ok'\n"
HELLO = "def get() -> dict[str, str]:\n    return {'hello': 'b'}\n"
ROOT = str(Path(__file__).resolve().parents[2])


@dataclass
class Load:
    """A server with tenant acme's apps ``fast`` (~1 ms) and ``slow`` (200 ms, concurrency 2)
    and tenant bravo's app ``quiet``."""

    served: Served

    def host(self, app: str, tenant: str = "acme") -> str:
        """The Host header of the app's dev environment."""
        return f"dev--{app}--{tenant}.localhost:{self.served.gateway_port}"


def _create(served: Served, root: Path, tenant: str, apps: dict[str, tuple[str, str]]) -> None:
    token: str = served.tenant(tenant)
    for name, (source, limits) in apps.items():
        src = root / tenant / name
        (src / "functions").mkdir(parents=True)
        (src / "atoll.toml").write_text(f'name = "{name}"\n[limits]\n{limits}')
        (src / "functions" / "work.py").write_text(source)
        served.cli("app", "create", name, "--from", str(src), token=token)


@pytest.fixture(scope="module")
def load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Load]:
    """One ``atoll serve`` for the module, with the fd limit raised (it inherits it)."""
    raise_fd_limit(16384)  # the gateway caps waiting connections at a quarter of it
    tmp = tmp_path_factory.mktemp("load")
    served = start_server(tmp / "data", tmp / "serve.log")
    try:
        _create(served, tmp, "acme", {"fast": (FAST, ""), "slow": (SLOW, "concurrency = 2\n")})
        _create(served, tmp, "bravo", {"quiet": (HELLO, "")})
        loaded = Load(served)
        for app, tenant in (("fast", "acme"), ("slow", "acme"), ("quiet", "bravo")):
            with Connection(served.gateway_port, loaded.host(app, tenant)) as conn:
                for _ in range(3):  # the dev build, then warm: each app knows its call time
                    assert conn.get("/api/work") == 200
        yield loaded
    finally:
        stop_server(served.process)


class Connection:
    """One keep-alive connection for sequential requests, timed from send to answer."""

    def __init__(self, port: int, host: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(120)
        self.host = host
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def get(self, path: str) -> int:
        """The status of ``GET path``."""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nhost: {self.host}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            self.buffer += self._recv()
        self.buffer = self.buffer[length:]
        return int(head.split(b" ", 2)[1])

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the gateway closed the connection")
        return data

    def timed(self, path: str, n: int) -> list[float]:
        """Seconds each of ``n`` sequential 200 answers took."""
        times = []
        for _ in range(n):
            start = time.perf_counter()
            assert self.get(path) == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.002)
        return times


def p99(times: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_a_thousand_clients_at_once_are_all_answered(load: Load) -> None:
    got = burst(load.served.gateway_port, load.host("fast"), "/api/work", 1000, 3)
    # Under the old count (concurrency + 32 waiting) most of these were 503s; a thousand
    # calls of ~1 ms, four at a time, wait well under the 2 s budget.
    refused = [a.body for a in got.answers if a.status != 200][:1]
    assert got.statuses() == {200: 3000}, (got.statuses(), refused)


def test_a_slow_function_sheds_what_would_wait_past_the_budget(load: Load) -> None:
    got = burst(load.served.gateway_port, load.host("slow"), "/api/work", 1000, 1)
    statuses = got.statuses()
    assert set(statuses) == {200, 503}, statuses
    # Two at a time, 200 ms each: about 2 running + 20 waiting fit a 2 s budget, plus
    # those admitted as calls finish while the burst is still arriving (slower on a
    # loaded machine); far from all of them.
    assert 12 <= statuses[200] <= 100, statuses
    for answer in got.answers:
        if answer.status == 200:
            # Admitted: served, not left to the 60 s timeout. The 2 s promise is an
            # estimate; with a thousand connections on a loaded 2-core VM the gateway's
            # own loop adds seconds (CI saw 5.3 s), so the bound here is loose.
            assert answer.seconds < 2.0 + 0.2 + 8.0
        else:
            error = json.loads(answer.body)["error"]
            assert error["code"] == "overloaded" and error["detail"]["reason"] == "wait"
            # Retry when the queue standing now has drained: about the budget.
            assert answer.retry_after is not None and 2 <= int(answer.retry_after) <= 5


def test_a_tenants_flood_leaves_its_neighbour_alone(load: Load) -> None:
    port = load.served.gateway_port
    with Connection(port, load.host("quiet", "bravo")) as quiet:
        before = quiet.timed("/api/work", 400)
        flood = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.burst_client", str(port), load.host("fast"),
             "/api/work", "1000", "20"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            time.sleep(1.0)  # connected and flooding
            during = quiet.timed("/api/work", 400)
            assert flood.poll() is None, "the flood ended before tenant B was measured"
            out, _ = flood.communicate(timeout=120)
        finally:
            flood.kill()
        after = quiet.timed("/api/work", 400)
    flooded = json.loads(out)
    assert flooded["statuses"] == {"200": 20000}, flooded
    # A's callers waited in A's queue, and (while the gateway's loop ran late) unread in
    # the kernel beyond A's share of the loop; B's calls never joined A's queue and never
    # waited behind A's thousand connections in the loop. Quiet: the worse of before and
    # after (this VM drifts).
    quiet_p99 = max(p99(before), p99(after))
    assert p99(during) <= 5 * quiet_p99, (quiet_p99, p99(during), flooded)
