"""``atoll serve``: the control plane, the gateway and the DB service in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import selectors
import signal
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from atoll import dbservice
from atoll.api import make_app
from atoll.api.bootstrap import DEMO_APPS, DEMO_TENANT, ensure_admin_token, ensure_demo
from atoll.builder.platform import build_platform_assets
from atoll.config import HttpLimits, Settings
from atoll.errors import Unavailable
from atoll.gateway.app import Gateway
from atoll.gateway.databases import ServiceDatabaseLink
from atoll.gateway.http import GatewayServer
from atoll.http_heads import ConnectionLedger, GuardedConfig, Waiting
from atoll.releases import Releases
from atoll.runtime import Runtime
from atoll.services import ControlPlane
from atoll.store import agent as agent_turns
from atoll.store.tenants import now

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``serve`` (several share a loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BusyPollSelector(selectors.EpollSelector):
    """An epoll selector that polls for a while before it lets the thread sleep.

    On hosts where an idle CPU halts (most VMs; this one has halt polling off), waking a
    sleeping thread costs far more than the work of a small request. A request to a function
    crosses processes twice (gateway -> worker -> gateway), so the gateway polls for the
    worker's answer instead of sleeping through it. The poll is bounded (``poll_s``), happens
    only when the loop has nothing else to do, and only while ``should_poll()`` says the
    CPUs are not needed elsewhere (``attach``: fewer function calls running than CPUs; with
    every CPU busy, polling would take time from the very workers it waits for).
    """

    def __init__(self, poll_s: float, should_poll: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.poll_s = poll_s
        self.should_poll = should_poll

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(0)
        if not self.poll_s or (self.should_poll is not None and not self.should_poll()):
            return super().select(timeout)
        budget = self.poll_s if timeout is None else min(self.poll_s, timeout)
        end = time.perf_counter() + budget
        while True:
            ready = super().select(0)
            if ready or time.perf_counter() >= end:
                break
        if ready:
            return ready
        return super().select(None if timeout is None else max(0.0, timeout - budget))


def busy_poll_selector(busy_poll_us: int) -> BusyPollSelector:
    """The selector of ``atoll serve``'s loop; ``attach`` it to the runtime once started."""
    return BusyPollSelector(busy_poll_us / 1e6)


def attach(
    selector: BusyPollSelector, runtime: Runtime, database: dbservice.ServiceApp | None = None
) -> None:
    """Poll only while fewer function calls run than there are CPUs for this process, the
    requests ``database`` is answering counted too: their statements run on threads that
    need a CPU (and the GIL) that a polling loop would hold."""
    if database is None:
        selector.should_poll = lambda: runtime.running < runtime.cpus
    else:
        selector.should_poll = lambda: runtime.running + database.active < runtime.cpus


def settle_heap() -> None:
    """Move what was loaded at startup out of the garbage collector's full passes: it lives
    as long as the server, and a full pass over it (~0.1 s) would stall every request."""
    gc.collect()
    gc.freeze()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose connections send small writes at once.

    asyncio turns Nagle's algorithm off only for sockets created with ``IPPROTO_TCP``;
    without it a response written in two parts waits ~40 ms for a delayed ACK on
    keep-alive connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def secure_data_dir(path: Path) -> str | None:
    """Create the data dir, or check it is this user's, and make it 0700.

    It holds the admin token, the DB service's signing key, tenants' databases, code and
    logs: no other local user may enter it, whatever the modes of the files inside. Returns
    a note for the start-up report when an existing folder was opened wider, else None.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise Unavailable(
            f"the data dir {path.resolve()} belongs to uid {info.st_uid}, not to this user "
            f"(uid {os.geteuid()}); refusing to keep the platform's secrets there",
            path=str(path),
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode == 0o700:
        return None
    os.chmod(path, 0o700)
    return f"atoll: data dir was mode {mode:o}, now 700 (only this user may enter it)"


def sandbox_report(runtime: Runtime) -> list[str]:
    """Start-up lines on how sandboxes are confined (uids, cgroups, any opt-out)."""
    slots = runtime.slots
    lines = [
        f"atoll: sandboxes     {runtime.backend.describe()} by default, host uids {slots.uid(0)}-"
        f"{slots.uid(slots.size - 1)}, files in {runtime.layout.root}",
        f"atoll: cgroups       {runtime.cgroups.describe()}",
    ]
    if runtime.backend_report is not None:
        lines.append(f"atoll: backends      {runtime.backend_report.describe()}")
    if missing := runtime.cgroups.missing:  # only when the operator allowed it
        lines.append(
            f"atoll: WARNING       sandboxes run without cgroup {' and '.join(missing)} limits"
            " (ATOLL_RUNTIME_ALLOW_NO_CGROUPS=1): rlimits alone bound them, and RAM held in"
            " tmpfs, memfds and SysV shm is not counted against memory_mb"
        )
    return lines


def _server(app: object, limits: HttpLimits, ledger: ConnectionLedger) -> _Server:
    return _Server(
        GuardedConfig(
            app,
            limits,  # slow or oversized request heads are refused
            ledger,  # connections waiting for a head, counted with the other ports'
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
        )
    )


def raise_open_files() -> int | None:
    """Raise the soft open-file limit to the hard one (as Go programs do at start: soft
    limits stay low only for select()); the soft limit in force, None if unlimited."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard and hard != resource.RLIM_INFINITY:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return None if soft == resource.RLIM_INFINITY else soft


def ledger_report(
    limits: HttpLimits, ledger: ConnectionLedger, open_files: int | None
) -> list[str]:
    """A start-up warning when the open-file limit holds the connection caps below their
    settings (each overall cap may use a quarter of it)."""
    head, idle = ledger.overall[Waiting.HEAD], ledger.overall[Waiting.IDLE]
    if (head, idle) == (limits.max_incomplete, limits.max_idle):
        return []
    return [
        f"atoll: WARNING       open-file limit {open_files}: at most {head} connections waiting "
        f"for a request head and {idle} idle ones (ATOLL_HTTP_MAX_INCOMPLETE, "
        "ATOLL_HTTP_MAX_IDLE); raise it (ulimit -n, LimitNOFILE=) to allow more"
    ]


def app_origin(settings: Settings, env: str, app: str, tenant: str) -> str:
    """The browser origin of one app environment."""
    return f"http://{env}--{app}--{tenant}.{settings.public_host}:{settings.gateway_port}/"


def url_host(host: str) -> str:
    """``host`` as it goes into a URL someone can paste: a wildcard address becomes the
    loopback address (it answers there too), an IPv6 address gets its brackets."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def control_plane_url(settings: Settings) -> str:
    """The control plane's base URL, as ``ATOLL_SERVER`` and ``atoll login --server`` take it."""
    return f"http://{url_host(settings.host)}:{settings.port}"


def start_report(settings: Settings, admin: str) -> list[str]:
    """Start-up lines: where each service answers, the admin token, how to use the CLI."""
    base = control_plane_url(settings)
    host = url_host(settings.host)
    return [
        f"atoll: control plane {base}  (open it in a browser; API docs {base}/api/docs)",
        f"atoll: app gateway   http://{host}:{settings.gateway_port}",
        f"atoll: DB service    http://{host}:{settings.db_port}",
        f"atoll: admin token   {admin}  (kept in {settings.admin_token_path})",
        "atoll: use the CLI as admin:",
        f"    atoll login --profile admin --server {base} --token {admin}",
    ]


def demo_report(settings: Settings, token: str) -> list[str]:
    """Start-up lines of ``--demo``: its tenant, its apps' URLs, how to use the CLI as it."""
    lines = [f"atoll: demo tenant   {DEMO_TENANT}, apps {', '.join(DEMO_APPS)}, token {token}"]
    for i, app in enumerate(DEMO_APPS):
        head = "atoll: demo app" if i == 0 else ""
        lines += [
            f"{head:<21}{app_origin(settings, 'dev', app, DEMO_TENANT)} (dev)",
            f"{'':<21}{app_origin(settings, 'prod', app, DEMO_TENANT)} (prod, v1)",
        ]
    return [
        *lines,
        "atoll: use the CLI as the demo tenant:",
        f"    export ATOLL_SERVER={control_plane_url(settings)}",
        f"    export ATOLL_TOKEN={token}",
    ]


async def _run(
    settings: Settings,
    cp: ControlPlane,
    sockets: dict[str, socket.socket],
    selector: BusyPollSelector | None,
) -> None:
    db = dbservice.make_app(
        settings.data_dir, options=dbservice.ServiceOptions.from_settings(settings)
    )
    # Functions reach the DB service in this process directly; other clients over HTTP.
    link = ServiceDatabaseLink(settings, db.handle if settings.databases.in_process else None)
    runtime = Runtime(settings, logs=cp.logs, database=link)
    await runtime.start()
    for line in sandbox_report(runtime):
        _say(line)
    if selector is not None:
        attach(selector, runtime, db)
    open_files = raise_open_files()
    ledger = ConnectionLedger(settings.http, open_files)
    for line in ledger_report(settings.http, ledger, open_files):
        _say(line)
    gateway = GatewayServer(Gateway(cp, runtime), ledger=ledger)
    await gateway.start(sockets["gateway"])
    servers = {
        "api": _server(make_app(cp), settings.http, ledger),
        "db": _server(db, settings.http, ledger),
    }
    settle_heap()

    def stop() -> None:
        for server in servers.values():
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(*(s.serve(sockets=[sockets[k]]) for k, s in servers.items()))
    finally:
        await gateway.close()
        await runtime.shutdown()


def serve(settings: Settings, demo: bool = False) -> None:
    """Run the platform until SIGINT or SIGTERM."""
    # Bind every port first, so a port in use fails before anything starts.
    sockets: dict[str, socket.socket] = {}
    for name, port in (
        ("api", settings.port),
        ("gateway", settings.gateway_port),
        ("db", settings.db_port),
    ):
        try:
            sockets[name] = listen(settings.host, port)
        except OSError as exc:
            for sock in sockets.values():
                sock.close()
            raise Unavailable(
                f"cannot listen on {settings.host}:{port} ({exc.strerror}); "
                "is another atoll running? Pick ports with --port/--gateway-port/--db-port",
                port=port,
            ) from exc
    note = secure_data_dir(settings.data_dir)  # before anything is written into it
    _say("atoll: building the browser runtime ...")
    build_platform_assets()  # once here, so the first page view does not wait for it
    cp = ControlPlane.open(settings)
    admin = ensure_admin_token(cp)
    interrupted = Releases(cp).recover()
    if interrupted:
        _say(
            f"atoll: {interrupted} release build(s) or promotion(s) cut short by the last stop "
            "are recorded failed"
        )
    with cp.engine.begin() as conn:
        cut = agent_turns.fail_running(conn, now())
    if cut:
        _say(f"atoll: {cut} agent turn(s) cut short by the last stop are recorded failed")
    _say(f"atoll: data dir      {settings.data_dir.resolve()}")
    if note:
        _say(note)
    for line in start_report(settings, admin):
        _say(line)
    if demo:
        for line in demo_report(settings, ensure_demo(cp, *(EXAMPLES / app for app in DEMO_APPS))):
            _say(line)
    try:
        selector = busy_poll_selector(settings.busy_poll_us) if settings.busy_poll_us else None
        factory = (lambda: asyncio.SelectorEventLoop(selector)) if selector else None
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_run(settings, cp, sockets, selector))
    finally:
        cp.close()
