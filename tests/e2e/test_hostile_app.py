"""Issue 10's hostile app: one tenant tries every known attack against a real ``atoll serve``
in one run, while another tenant's function (which uses its own database) keeps answering.

Each attack also has its own focused test next to the code that stops it; this run proves
they hold together, through the real entry points: the CLI, the API, the gateway and the
DB service.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.attacks import (
    CONTROL,
    DATABASE_ESCAPES,
    EGRESS_FLOOD,
    FORGE,
    HOSTILE_HEADERS,
    OPENAPI,
    RAMFS,
    SOCKET_FAMILIES,
)
from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = pytest.mark.sandbox

QUOTA_MB = 8
STREAMS_PER_TENANT = 3

NEIGHBOUR = """
import atoll


def get():
    return atoll.db.execute("SELECT 'still here' AS answer")[0]["answer"]
"""

SECRET = "TOP-SECRET-LINE of a root-only host file"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Counts every request that reaches it (nothing should)."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's handler name
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server that records requests: the host network a tenant must not reach."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1], seen
        server.shutdown()


@pytest.fixture
def hostile_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("ATOLL_DATABASE_MAX_DATABASE_MB", str(QUOTA_MB))
    monkeypatch.setenv("ATOLL_DATABASE_MAX_STREAMS_PER_TENANT", str(STREAMS_PER_TENANT))
    monkeypatch.setenv("ATOLL_HTTP_HEAD_TIMEOUT_SECONDS", "2")
    served = start_server(tmp_path / "data", tmp_path / "serve.log")
    yield served
    stop_server(served.process)


def write_app(root: Path, files: dict[str, str]) -> Path:
    """An app folder with these files."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


class Neighbour:
    """Calls another tenant's function in a loop; every answer must be a 200."""

    def __init__(self, served: Served) -> None:
        self.client = gateway_client(served, "dev--hello--good")
        self.answers: list[tuple[int, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                resp = self.client.get("/api/hello")
                self.answers.append((resp.status_code, resp.text))
            except httpx.HTTPError as exc:
                self.answers.append((0, repr(exc)))
            self.stop.wait(0.05)

    def __enter__(self) -> Neighbour:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(90)
        self.client.close()


def gateway_client(served: Served, host: str) -> httpx.Client:
    """An HTTP client for one app environment's origin on the gateway."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{served.gateway_port}",
        headers={"Host": f"{host}.localhost:{served.gateway_port}"},
        timeout=120,
    )


def error_of(resp: httpx.Response) -> dict[str, Any]:
    """The platform's JSON error of a response."""
    error: dict[str, Any] = resp.json()["error"]
    return error


def rss_kib(pid: int) -> int:
    """The resident memory of the server process and its children."""
    total = 0
    for child in [pid, *children(pid)]:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` that are platform processes (not sandboxes)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return [c for c in found if os.stat(f"/proc/{c}").st_uid == os.getuid()]


def open_fds(pid: int) -> int:
    """How many descriptors the server process holds."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def trickle(port: int, answers: list[bytes]) -> None:
    """Send a request head a byte every 0.2 s; keep what the server answered."""
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        sock.settimeout(10)
        try:
            answers.append(sock.recv(65536))
        except OSError as exc:
            answers.append(repr(exc).encode())


def test_a_hostile_tenant_is_contained_while_its_neighbour_is_served(
    hostile_served: Served, tmp_path: Path, listener: tuple[int, list[str]]
) -> None:
    served = hostile_served
    port, seen = listener
    evil, good = served.tenant("evil"), served.tenant("good")
    secret = tmp_path / "root-only.txt"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)

    hello = write_app(tmp_path / "hello", {"functions/hello.py": NEIGHBOUR})
    served.cli("app", "create", "hello", "--from", str(hello), token=good)
    attacker = write_app(
        tmp_path / "attacker",
        {
            "atoll.toml": """
                [egress]
                allow = ["example.com:443"]
                [limits]
                tmp_mb = 16
                """,
            "functions/forge.py": FORGE,
            "functions/control.py": CONTROL,
            "functions/schema.py": OPENAPI,
            "functions/egress.py": EGRESS_FLOOD,
            "functions/families.py": SOCKET_FAMILIES,
            "functions/ramfs.py": RAMFS,
            "functions/cookies.py": HOSTILE_HEADERS,
            "functions/database.py": DATABASE_ESCAPES,
        },
    )
    served.cli("app", "create", "attacker", "--from", str(attacker), token=evil)
    hostile_deps = {
        "deps-file": f"-r {secret}",
        "deps-url": f"-r http://127.0.0.1:{port}/reqs.txt",
        "deps-links": f"six --find-links http://127.0.0.1:{port}/",
        "deps-direct": f"six @ http://127.0.0.1:{port}/six-1.16.0-py2.py3-none-any.whl",
    }
    for name, entry in hostile_deps.items():
        folder = write_app(
            tmp_path / name,
            {
                "atoll.toml": f"[python]\ndependencies = [{json.dumps(entry)}]\n",
                "functions/f.py": "def get():\n    return 'installed'\n",
            },
        )
        # The build refuses the entry: the CLI says so at its line, and nothing is installed.
        made = served.cli("app", "create", name, "--from", str(folder), token=evil, check=False)
        assert made.returncode == 1, made.stderr
        assert "atoll.toml" in made.stderr and "is not a plain requirement" in made.stderr
        assert "top-secret" not in made.stderr.lower()

    pid = served.process.pid
    with Neighbour(served) as neighbour, gateway_client(served, "dev--attacker--evil") as app:
        assert neighbour.thread.is_alive()
        slow: list[bytes] = []
        slow_thread = threading.Thread(target=trickle, args=(served.gateway_port, slow))
        slow_thread.start()

        # 1. Dependency entries never reach uv as options, URLs or paths.
        for name, entry in hostile_deps.items():
            with gateway_client(served, f"dev--{name}--evil") as deps:
                resp = deps.get("/api/f")
            assert resp.status_code == 422, (name, resp.text)
            error = error_of(resp)
            assert error["code"] == "build_failed", error
            assert "is not a plain requirement" in error["message"], error
            assert any(entry in e["message"] for e in error["detail"]["errors"]), error
            assert "top-secret" not in resp.text.lower()
        assert seen == []

        # 2. Forged reply frames: bounded, typed, and the worker is replaced.
        assert app.post("/api/forge").json() == "fine"
        before = rss_kib(pid)
        for _ in range(20):
            resp = app.get("/api/forge", params={"kind": "empty_logs"})
            assert resp.status_code == 200, resp.text
        grown_mib = (rss_kib(pid) - before) / 1024
        # Kept as sent, 20 such replies held ~300 MiB in the log store.
        assert grown_mib < 100, grown_mib
        logs = served.cli("logs", "--app", "attacker", "--json", token=evil).stdout.splitlines()
        forged = [json.loads(line) for line in logs]
        forged = [e for e in forged if e.get("function") == "forge" and e.get("truncated")]
        assert forged and all(len(e["logs"]) <= 1000 for e in forged)

        deep = app.get("/api/forge", params={"kind": "deep"})
        assert deep.status_code == 500 and "worker protocol" in error_of(deep)["message"]
        headers = app.get("/api/forge", params={"kind": "headers"})
        assert headers.status_code == 500
        assert error_of(headers)["detail"]["limit"] == "max_response_headers"
        status = app.get("/api/forge", params={"kind": "status"})
        assert status.status_code == 500 and len(status.text) < 2000
        assert "invalid HTTP status" in error_of(status)["message"]
        detail = app.get("/api/forge", params={"kind": "detail"})
        assert detail.status_code == 500 and error_of(detail)["message"] == "forged"
        exited = app.get("/api/control", params={"kind": "exited"})
        assert exited.status_code == 500 and "x" * 100 not in exited.text
        fds_before = open_fds(pid)
        assert app.get("/api/control", params={"kind": "fds"}).json() == "sent"
        assert open_fds(pid) - fds_before < 20
        openapi = app.get("/api/openapi.json")
        assert openapi.status_code == 500 and "OpenAPI" in error_of(openapi)["message"]
        assert app.post("/api/forge").json() == "fine"
        assert app.get("/api/control", params={"kind": "fine"}).json() == "fine"

        # 3. The egress proxy: connections per sandbox capped, refused targets counted.
        flood = app.get("/api/egress", params={"connections": 84, "refused": 300})
        assert flood.json() == {"busy": 20, "forbidden": 300}, flood.text

        # 4 and 5. Socket families and the sizes of the writable tmpfs mounts.
        families = app.get("/api/families").json()
        allowed = {"unix", "inet", "inet6", "unix_pair"}
        assert {k: families.pop(k) for k in allowed} == dict.fromkeys(allowed, "ok")
        assert set(families.values()) == {"EAFNOSUPPORT"}, families
        folders = ["/dev/shm", "/tmp"]
        filled = app.get("/api/ramfs", params={"folders": folders, "most_mb": 64}).json()
        for folder in folders:  # four times tmp_mb into each
            assert filled[folder]["error"] == "ENOSPC" and filled[folder]["mb"] <= 16, filled
        assert app.put("/api/ramfs").json() == folders  # the only writable places

        # 7. Cookies stay on the app's own host; platform headers stay the platform's.
        cookies = app.get("/api/cookies")
        assert cookies.status_code == 200 and cookies.text == "ok"
        set_cookies = cookies.headers.get_list("set-cookie")
        assert sorted(set_cookies) == ["a=1; Path=/", "b=2; HttpOnly", "c=3; Path=/"]
        assert cookies.headers["clear-site-data"] == '"storage"'
        for dropped in ("alt-svc", "x-inject", "x-atoll-revision", "transfer-encoding"):
            assert dropped not in cookies.headers, dropped
        assert cookies.headers.get_list("x-atoll-request-id") != ["forged"]
        assert cookies.headers["server-timing"] == "db;dur=1"
        too_many = app.get("/api/cookies", params={"many": 500})
        assert too_many.status_code == 500 and "set-cookie" not in too_many.headers

        # The database: a quota nothing lifts, and a stream table one tenant cannot take.
        hoard = app.post("/api/database")
        assert hoard.status_code == 200, hoard.text
        found = hoard.json()
        escapes = [k for k in found if k.startswith(("lift", "page", "attach", "vacuum", "temp"))]
        assert len(escapes) >= 8 and all("statement refused" in found[k] for k in escapes), found
        assert "not allowed" in found["load_extension"], found
        assert f"quota of {QUOTA_MB} MB" in found["quota_error"], found
        assert 0 < found["inserted_mb"] <= QUOTA_MB and found["rows_after"] == found["inserted_mb"]
        assert len(found["held"]) == STREAMS_PER_TENANT, found
        refusal = found["stream_refusal"]
        assert refusal["status"] == 503 and refusal["code"] == "TOO_MANY_STREAMS", refusal
        # While the attacker holds its tenant's streams, the neighbour's database answers.
        answered = len(neighbour.answers)
        deadline = time.monotonic() + 30
        while len(neighbour.answers) < answered + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert neighbour.answers[-1] == (200, '"still here"'), neighbour.answers[-1]
        assert "TOO_MANY_STREAMS" in app.get("/api/database").text
        released = app.request("DELETE", "/api/database", json={"held": found["held"]})
        assert released.json() == "released"
        assert app.get("/api/database").json() == "ran"

        slow_thread.join(60)
        assert slow and slow[0].startswith(b"HTTP/1.1 408"), slow

    # The neighbour was answered, every time, through all of it.
    assert len(neighbour.answers) > 20
    bad = [a for a in neighbour.answers if a != (200, '"still here"')]
    assert bad == [], bad[:3]
    assert seen == []

    # 6. Database tokens die with their app and with the API token that minted them.
    url = json.loads(served.cli("db", "url", "--app", "attacker", "--json", token=evil).stdout)
    served.cli("db", "exec", "--app", "attacker", "CREATE TABLE IF NOT EXISTS t (x)", token=evil)
    served.cli("app", "delete", "attacker", "--yes", token=evil)
    served.cli("app", "create", "attacker", "--from", str(hello), token=evil)
    served.cli(
        "db",
        "exec",
        "--app",
        "attacker",
        "CREATE TABLE mine (x); INSERT INTO mine VALUES (7)",
        token=evil,
    )
    stale = hrana(served, url["token"], "SELECT x FROM mine")
    assert stale.status_code == 401 and "7" not in stale.text, stale.text

    api = httpx.Client(base_url=served.url + "/api/v1", timeout=30)
    second = api.post("/tokens", json={}, headers={"Authorization": f"Bearer {evil}"})
    assert second.status_code == 201, second.text
    minted = json.loads(
        served.cli("db", "url", "--app", "attacker", "--json", token=second.json()["token"]).stdout
    )
    first = json.loads(served.cli("db", "url", "--app", "attacker", "--json", token=evil).stdout)
    assert hrana(served, minted["token"], "SELECT x FROM mine").status_code == 200
    revoked = api.delete(
        f"/tokens/{second.json()['token_info']['id']}", headers={"Authorization": f"Bearer {evil}"}
    )
    assert revoked.status_code == 200, revoked.text
    gone = hrana(served, minted["token"], "SELECT x FROM mine")
    assert gone.status_code == 401 and "TOKEN_REVOKED" in gone.text, gone.text
    assert hrana(served, first["token"], "SELECT x FROM mine").status_code == 200
    api.close()


def hrana(served: Served, token: str, sql: str) -> httpx.Response:
    """One statement through the DB service's Hrana pipeline, as any libSQL client sends it."""
    body = {"requests": [{"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}]}
    return httpx.post(
        f"http://127.0.0.1:{served.db_port}/v2/pipeline",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
