"""Fixtures: a real Runtime with bwrap sandboxes, driven from sync tests via a loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import shutil
import socketserver
import tempfile
import textwrap
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from atoll.config import RuntimeSettings, Settings
from atoll.errors import AtollError
from atoll.runtime import (
    AppRef,
    BwrapBackend,
    DatabaseLink,
    InvokeRequest,
    InvokeResponse,
    RunscBackend,
    Runtime,
)

T = TypeVar("T")

needs_bwrap = pytest.mark.skipif(not BwrapBackend.available(), reason="bubblewrap not installed")


class LoopThread:
    """An event loop in a background thread; sync tests submit coroutines to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def make_app(root: Path, name: str, files: dict[str, str]) -> Path:
    """An app folder with these files (contents dedented)."""
    app = root / name
    for rel, text in files.items():
        path = app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (app / "functions").mkdir(parents=True, exist_ok=True)
    return app


needs_runsc = pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")
# The isolation tiers the containment suites run under, with the same assertions.
TIERS = [
    pytest.param("bwrap", id="bwrap"),
    pytest.param("gvisor", id="gvisor", marks=needs_runsc),
]


class Harness:
    """A started Runtime plus helpers to build apps and call them."""

    def __init__(self, loop: LoopThread, runtime: Runtime, apps_dir: Path) -> None:
        self.loop = loop
        self.runtime = runtime
        self.apps_dir = apps_dir
        self._made: dict[tuple[str, str, str, str], dict[str, str]] = {}
        self.isolation = "default"  # the tier of the apps it makes

    def app(
        self,
        name: str,
        files: dict[str, str],
        tenant: str = "t1",
        env: str = "dev",
        release: str = "r1",
        isolation: str = "default",
    ) -> AppRef:
        """Write an app and return a reference to it.

        The runtime is shared by the whole session and keeps apps by tenant/app/env/release:
        a second app of the same name with other files would be served the first one's code.
        """
        key = (tenant, name, env, release)
        if self._made.setdefault(key, files) != files:
            raise ValueError(f"app {key} was already made with other files in this session")
        code = make_app(self.apps_dir / tenant, f"{name}-{release}", files)
        return AppRef(tenant, name, env, release, code, isolation=isolation)

    def call(
        self,
        ref: AppRef,
        path: str,
        method: str = "GET",
        query: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 60.0,
    ) -> InvokeResponse | AtollError:
        """Invoke and return the response or the raised AtollError."""
        request = InvokeRequest(method, path, tuple((query or {}).items()), (), body)
        return self.loop.run(self._call(ref, request), timeout)

    async def _call(self, ref: AppRef, request: InvokeRequest) -> InvokeResponse | AtollError:
        try:
            return await self.runtime.invoke(ref, request)
        except AtollError as exc:
            return exc

    def on_tier(self, isolation: str) -> Harness:
        """This harness with every app it makes on ``isolation`` (tenants get a suffix, so
        each tier has its own instances); an app made with ``isolation="default"`` keeps the
        platform default (the neighbour that must keep being served)."""
        return TierHarness(self, isolation)


class TierHarness(Harness):
    """A view of a Harness whose apps run on one isolation tier."""

    def __init__(self, base: Harness, isolation: str) -> None:
        super().__init__(base.loop, base.runtime, base.apps_dir)
        self._made = base._made
        self.isolation = isolation

    def app(
        self,
        name: str,
        files: dict[str, str],
        tenant: str = "t1",
        env: str = "dev",
        release: str = "r1",
        isolation: str = "",
    ) -> AppRef:
        """An app of ``tenant`` on this harness's tier (``tenant-<tier>`` unless bwrap)."""
        tier = isolation or self.isolation
        if tier not in ("bwrap", "default"):
            tenant = f"{tenant}-{tier}"
        return super().app(name, files, tenant, env, release, tier)


# Sandbox uids for this test session; distinct per session so parallel runs don't mix.
SESSION_UID_BASE = 2_000_000 + (os.getpid() % 200) * 10_000


def sandbox_processes(uid_base: int, runtime_dir: Path, count: int = 4096) -> list[int]:
    """Host pids of sandboxes that mount something from ``runtime_dir`` (bwrap), or of
    runsc processes using its state root (gVisor)."""
    found = []
    state = f"--root={runtime_dir}/runsc-state".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
                if state in cmdline:
                    found.append(int(entry))
                    continue
                if not uid_base <= os.stat(f"/proc/{entry}").st_uid < uid_base + count:
                    continue
                with open(f"/proc/{entry}/mountinfo", "rb") as f:
                    mounts = f.read()
                if str(runtime_dir).encode() in cmdline + mounts:
                    found.append(int(entry))
    return found


@contextlib.contextmanager
def started_runtime(
    loop: LoopThread,
    tmp: Path,
    uid_base: int,
    database: DatabaseLink | None = None,
    **overrides: Any,
) -> Iterator[Harness]:
    """A Runtime with its own runtime dir; everything is stopped and checked on exit."""
    runtime_dir = Path(tempfile.mkdtemp(prefix="atoll-test-rt-", dir="/tmp"))
    os.chmod(runtime_dir, 0o711)
    options: dict[str, Any] = {
        "runtime_dir": runtime_dir,
        "sandbox_uid_base": uid_base,
        "pool_size": 2,
        "idle_seconds": 300.0,
        **overrides,
    }
    settings = Settings(data_dir=tmp / "data", runtime=RuntimeSettings(**options))
    runtime = Runtime(settings, database=database)
    loop.run(runtime.start())
    loop.run(runtime.pool.wait_full())
    try:
        yield Harness(loop, runtime, tmp / "apps")
    finally:
        loop.run(runtime.shutdown())
        deadline = time.monotonic() + 20  # killed trees can take seconds to reap on a loaded VM
        while sandbox_processes(uid_base, runtime_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = sandbox_processes(uid_base, runtime_dir)
        shutil.rmtree(runtime_dir, ignore_errors=True)
        assert leftovers == [], f"sandbox processes left behind: {leftovers}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = f"hello from port {self.server.server_address[1]}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture(scope="session")
def http_servers() -> Iterator[list[int]]:
    """Two loopback HTTP servers; their ports."""
    servers = [_Server(("127.0.0.1", 0), _Handler) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield [s.server_address[1] for s in servers]
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    """The event loop every runtime in the session runs on."""
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def rt(
    loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory, http_servers: list[int]
) -> Iterator[Harness]:
    """The shared runtime (operator allows the two loopback test servers for egress)."""
    if not BwrapBackend.available():
        pytest.skip("bubblewrap not installed")
    allowed = [f"127.0.0.1:{port}" for port in http_servers]
    with started_runtime(
        loop_thread,
        tmp_path_factory.mktemp("runtime"),
        SESSION_UID_BASE,
        egress_private_allowed=allowed,
    ) as harness:
        yield harness
