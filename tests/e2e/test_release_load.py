"""Promotion and rollback under load (issue 11): while client threads send requests to prod
without pause, prod is promoted to v2 (whose additive migration runs meanwhile), rolled
back to v1 and promoted again. No request fails, every answer is one release's whole
answer, and once a command has returned every request sent sees the release it chose."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = pytest.mark.e2e

# The function reads a file shipped with its own release and a column only v2's migration
# adds: an answer that mixed two releases (code of one, files or schema of the other) would
# disagree with itself, and v2's code run before its migration would fail.
FUNCTION = """import atoll

VERSION = {version}
COLUMNS = "{columns}"


def get() -> dict[str, object]:
    with open("static/version.txt") as shipped:
        static = shipped.read().strip()
    rows = atoll.db.execute("SELECT " + COLUMNS + " FROM items ORDER BY id")
    return {{"v": VERSION, "static": static, "rows": rows}}
"""
COLUMNS = {1: "name", 2: "name, tag"}
MIGRATIONS = {
    1: ("0001_items.sql", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n"),
    2: ("0002_tag.sql", "ALTER TABLE items ADD COLUMN tag TEXT;\n"),
}
NAMES = ("a", "b")  # the rows prod holds
PATHS = ("/api/ver", "/version.txt")  # what each connection asks for, in turn
CLIENTS = 4


def write_release(src: Path, version: int) -> None:
    """The app's sources as of release ``v{version}`` (each release adds its migration)."""
    for folder in ("functions", "migrations", "static"):
        (src / folder).mkdir(parents=True, exist_ok=True)
    (src / "atoll.toml").write_text(f'name = "{src.name}"\n')
    function = FUNCTION.format(version=version, columns=COLUMNS[version])
    (src / "functions" / "ver.py").write_text(function)
    (src / "static" / "version.txt").write_text(f"{version}\n")
    filename, sql = MIGRATIONS[version]
    (src / "migrations" / filename).write_text(sql)


def expected_answers(version: int) -> dict[str, object]:
    """What release ``v{version}`` answers at each of ``PATHS``, given prod's rows."""
    columns = [c.strip() for c in COLUMNS[version].split(",")]
    rows = [{c: (name if c == "name" else None) for c in columns} for name in NAMES]
    return {
        "/api/ver": {"v": version, "static": str(version), "rows": rows},
        "/version.txt": f"{version}\n",
    }


@dataclass(frozen=True)
class ReleasedApp:
    """An app with releases v1 and v2 built, v1 serving prod with ``NAMES`` in its
    database, and the CLI bound to it."""

    served: Served
    tenant: str
    app: str
    token: str
    src: Path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``atoll ARGS --app APP`` with the tenant's token."""
        return self.served.cli(*args, "--app", self.app, token=self.token, check=check)

    def json(self, *args: str) -> Any:
        """``atoll --json ARGS --app APP``, parsed."""
        return json.loads(self.cli("--json", *args).stdout)

    @property
    def origin(self) -> str:
        """The Host header of the app's prod origin."""
        return f"prod--{self.app}--{self.tenant}.localhost:{self.served.gateway_port}"


def release_two_versions(served: Served, root: Path, tenant: str, app: str) -> ReleasedApp:
    """Tenant, app, v1 and v2 built, v1 promoted to prod holding ``NAMES``."""
    token = served.tenant(tenant)
    src = root / app
    write_release(src, 1)
    served.cli("app", "create", app, "--from", str(src), token=token)
    made = ReleasedApp(served, tenant, app, token, src)
    assert made.json("release", "create")["version"] == "v1"
    write_release(src, 2)
    made.cli("push", str(src), "--force")
    assert made.json("release", "create")["version"] == "v2"
    made.cli("promote", "--to", "prod", "--release", "v1")
    values = ", ".join(f"('{name}')" for name in NAMES)
    made.cli("db", "exec", f"INSERT INTO items (name) VALUES {values}", "--env", "prod")
    return made


class KeepAlive:
    """One keep-alive HTTP/1.1 connection to the gateway, one request at a time."""

    def __init__(self, port: int, host: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = host
        self.buffer = b""

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def get(self, path: str) -> tuple[int, bytes]:
        """The status and body of ``GET path``."""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nhost: {self.host}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        assert "transfer-encoding" not in headers, headers  # every answer here has a length
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self.buffer += self._recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split(" ", 2)[1]), body

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the gateway closed the connection")
        return data


@dataclass(frozen=True)
class Answer:
    """One request as a client thread saw it (``sent``: when, on the monotonic clock)."""

    connection: int
    path: str
    sent: float
    status: int
    body: bytes


class Traffic:
    """``CLIENTS`` threads, each on its own keep-alive connection, sending ``PATHS`` in
    turn to an origin, each request as soon as the answer to the last is in."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._send, args=(n,), name=f"client-{n}", daemon=True)
            for n in range(CLIENTS)
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def wait_for_more(self, count: int, seconds: float = 60.0) -> None:
        """Wait until ``count`` more answers are in (or a client failed)."""
        wanted = len(self.answers) + count
        deadline = time.monotonic() + seconds
        while len(self.answers) < wanted and not self.errors:
            assert time.monotonic() < deadline, f"{len(self.answers)} of {wanted} answers"
            time.sleep(0.01)

    def _send(self, number: int) -> None:
        try:
            conn = KeepAlive(self.port, self.host)
        except OSError as exc:
            self.errors.append(exc)
            return
        try:
            while not self._stop.is_set():
                for path in PATHS:
                    sent = time.monotonic()
                    status, body = conn.get(path)
                    self.answers.append(Answer(number, path, sent, status, body))
        except Exception as exc:  # a lost connection is a failed request too
            self.errors.append(exc)
        finally:
            conn.close()


@dataclass(frozen=True)
class Switch:
    """One command that moved prod's pointer, and when it ran."""

    command: tuple[str, ...]
    to: int  # the release it moves prod to
    started: float
    returned: float


def version_of(answer: Answer, answers: dict[int, dict[str, object]]) -> int:
    """Which release's whole answer ``answer`` is; fails if it is none of them."""
    got: object = answer.body.decode()
    if answer.path.startswith("/api/"):
        got = json.loads(answer.body)
    versions = [v for v, expected in answers.items() if expected[answer.path] == got]
    assert len(versions) == 1, f"{answer.path} answered {answer.body!r}: no release's answer"
    return versions[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module."""
    root = tmp_path_factory.mktemp("release-load")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def test_promotion_and_rollback_under_load_fail_no_request(server: Served, tmp_path: Path) -> None:
    made = release_two_versions(server, tmp_path, "steady", "live")
    answers = {v: expected_answers(v) for v in (1, 2)}
    commands: list[tuple[tuple[str, ...], int]] = [
        (("promote", "--to", "prod", "--release", "v2"), 2),
        (("rollback", "--env", "prod"), 1),
        (("promote", "--to", "prod", "--release", "v2"), 2),
    ]
    switches: list[Switch] = []
    with Traffic(server.gateway_port, made.origin) as traffic:
        traffic.wait_for_more(20)
        for command, to in commands:
            started = time.monotonic()
            made.cli(*command)
            switches.append(Switch(command, to, started, time.monotonic()))
            traffic.wait_for_more(40)  # traffic goes on: enough answers to see it settle
    assert not traffic.errors, traffic.errors
    got = sorted(traffic.answers, key=lambda a: a.sent)

    failed = [(a.path, a.status, a.body[:300]) for a in got if a.status != 200]
    assert not failed, f"{len(failed)} of {len(got)} requests failed, first: {failed[:3]}"
    versions = [version_of(a, answers) for a in got]
    assert set(versions) == {1, 2}
    assert versions[0] == 1  # prod served v1 before the first promotion

    for i, switch in enumerate(switches):
        until = switches[i + 1].started if i + 1 < len(switches) else float("inf")
        during = [
            (a, v) for a, v in zip(got, versions, strict=True) if switch.started <= a.sent < until
        ]
        # Requests kept flowing while the command ran, not just around it.
        assert any(a.sent < switch.returned for a, _ in during), switch.command
        after = [(a, v) for a, v in during if a.sent >= switch.returned]
        assert after, f"no request was sent after {switch.command} returned"
        stale = [(a.path, a.sent - switch.returned, v) for a, v in after if v != switch.to]
        assert not stale, f"after {switch.command} returned, old answers: {stale[:5]}"
        for connection in range(CLIENTS):
            seen = [v for a, v in during if a.connection == connection]
            # On one connection the switch happens once: old answers, then new ones.
            first_new = seen.index(switch.to) if switch.to in seen else len(seen)
            assert all(v == switch.to for v in seen[first_new:]), (switch.command, seen)

    history = made.json("env", "history", "--env", "prod")["deploys"]
    assert [(d["action"], d["from_release"], d["to_release"], d["result"]) for d in history] == [
        ("promote", "v1", "v2", "ok"),
        ("rollback", "v2", "v1", "ok"),
        ("promote", "v1", "v2", "ok"),
        ("promote", None, "v1", "ok"),
    ]
