"""One app environment's sandbox, workers, concurrency cap and queue.

Worker policy: a worker is forked from the app's zygote when no idle one is free, serves
one request at a time, and goes back to the idle list after each success; it is replaced
after ``worker_max_requests`` requests, after any crash or timeout (its whole process tree
is killed), and when the zygote scales to zero. A request whose worker dies because the
whole sandbox ended (a crash elsewhere in the same app) is run once more on a fresh
sandbox. So warm requests pay no fork, module state may persist between requests of the
same app (like any long-running server), and nothing ever persists across apps: each app
environment has its own sandbox.

Pipelining: while the app's calls are short (a moving average of what workers report,
under ``PIPELINE_BELOW_S``), a call is sent at once to a worker that is already busy
instead of waiting in the app's queue: the worker begins it the moment it answers the
previous one, without sleeping in between. A worker holds as many calls as take about
``PIPELINE_WAIT_S`` together by that average (2 to ``PIPELINE_MAX``), and an awake worker is
filled before an idle one is woken: waking a sleeping process costs more than a short call,
so short calls are served by as few workers as keep up with them. Still at most
``concurrency`` calls run at once, running + waiting calls never exceed
``concurrency + queue``, and each call's timeout starts when it begins. Calls queued behind
a worker that ends run on another worker (they provably never began). Slow apps are never
pipelined, so a long call cannot hold up calls another worker could take.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from atoll.errors import FunctionTimeout, Overloaded, ResourceLimitHit, TenantCodeError, Unavailable
from atoll.sdk._protocol import ProtocolError

from .database import DatabaseProxy
from .egress import EgressProxy
from .limits import AppConfig
from .replies import MAX_OPENAPI_BYTES, WorkerReply, openapi_document, parse_worker_reply
from .types import AppRef
from .zygote import NotStarted, Sandbox, SandboxDied, Worker

SPAWN_TIMEOUT = 10.0
MAX_BODY_BYTES = 32 << 20
PIPELINE_BELOW_S = 0.002  # pipeline only while calls take less than this on average
PIPELINE_WAIT_S = 0.002  # ... and queue on one worker about this much work (by that average)
PIPELINE_MAX = 16  # calls one worker may hold: one running, the rest waiting in its socket
MAX_NOT_STARTED = 3  # times a call is moved to another worker before it fails


class AppInstance:
    """The running state of one app environment at one release."""

    def __init__(
        self,
        ref: AppRef,
        config: AppConfig,
        acquire_sandbox: Callable[[AppInstance], Coroutine[Any, Any, Sandbox]],
        max_requests: int,
    ) -> None:
        self.ref = ref
        self.config = config
        self.limits = config.limits
        self._acquire_sandbox = acquire_sandbox
        self.max_requests = max_requests
        self.sandbox: Sandbox | None = None
        self.proxy: EgressProxy | None = None
        self.db_proxy: DatabaseProxy | None = None
        self.functions: dict[str, list[str]] = {}
        self.import_errors: dict[str, dict[str, str]] = {}
        self._starting: asyncio.Task[Sandbox] | None = None
        self.idle: list[Worker] = []
        self.workers: set[Worker] = set()  # live workers of this instance, idle or busy
        self.spawning = 0
        self._change: asyncio.Future[None] | None = None  # resolved when a worker frees up
        self.duration_avg: float | None = None  # moving average of call durations, seconds
        self.active = 0
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.last_used = time.monotonic()
        self.cold_starts = 0
        self.closed = False

    # -- concurrency --------------------------------------------------------------------

    async def acquire(self) -> None:
        """Wait for a slot under the concurrency cap; Overloaded when the queue is full."""
        self.last_used = time.monotonic()
        if self.active < self._cap() and not self.waiters:
            self.active += 1
            return
        if self.active + len(self.waiters) >= self.limits.concurrency + self.limits.queue:
            raise Overloaded(
                "too many requests for this app; retry shortly",
                retry_after=1,
                concurrency=self.limits.concurrency,
                queue=self.limits.queue,
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        except BaseException:
            if future in self.waiters:
                self.waiters.remove(future)
            elif future.done() and not future.cancelled() and future.exception() is None:
                self.release()  # we were handed a slot but are going away
            raise

    def release(self) -> None:
        """Give the slot to the next waiter, or free it."""
        self.last_used = time.monotonic()
        while self.waiters and self.active <= self._cap():
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.active -= 1

    @property
    def pipelining(self) -> bool:
        """Whether calls are short enough to be queued on busy workers."""
        return self.duration_avg is not None and self.duration_avg < PIPELINE_BELOW_S

    @property
    def depth(self) -> int:
        """Calls one worker may hold: 1 unless pipelining, then as many as take about
        ``PIPELINE_WAIT_S`` together (at least 2, at most ``PIPELINE_MAX``)."""
        avg = self.duration_avg
        if avg is None or avg >= PIPELINE_BELOW_S:
            return 1
        return max(2, min(PIPELINE_MAX, int(PIPELINE_WAIT_S / max(avg, 1e-6))))

    def _cap(self) -> int:
        """Calls admitted at once: running, plus queued on workers while pipelining (those
        count against the app's queue: running + waiting never exceeds concurrency + queue)."""
        concurrency = self.limits.concurrency
        return min(concurrency * self.depth, concurrency + self.limits.queue)

    # -- sandbox and workers ------------------------------------------------------------

    async def ensure_sandbox(self) -> Sandbox:
        """The app's zygote, started (from the warm pool when possible) if needed."""
        if self.sandbox is not None and not self.sandbox.dead:
            return self.sandbox
        if self.closed:
            raise Unavailable("this app instance is shutting down; retry")
        if self._starting is None or self._starting.done():
            self.idle.clear()  # workers of an ended sandbox
            self.workers.clear()
            self._starting = asyncio.get_running_loop().create_task(self._acquire_sandbox(self))
        sandbox = await asyncio.shield(self._starting)
        self.sandbox = sandbox
        return sandbox

    def specialize_message(self, paths: list[str]) -> dict[str, Any]:
        """What the zygote needs to become this app's zygote."""
        return {
            "op": "specialize",
            "env": self.ref.env,
            "vars": dict(self.ref.vars),
            "traceback": self.ref.show_tracebacks,
            "rlimits": self.limits.rlimits(),
            "paths": paths,
            "egress": bool(self.config.egress),
            "worker_cpu_seconds": self.limits.cpu_seconds,
            "max_body_bytes": MAX_BODY_BYTES,
        }

    def _usable(self, worker: Worker) -> bool:
        return not worker.retired and not worker.exit.done() and worker.protocol.lost is None

    async def _worker(self, sandbox: Sandbox) -> Worker:
        """A worker for one call: an awake one with room (short calls), an idle one, a new
        one while under ``concurrency``, else the busiest with room; or wait for one."""
        while True:
            depth = self.depth
            if depth > 1:
                # Short calls: fill the fullest awake worker before waking an idle one.
                fullest: Worker | None = None
                for w in self.workers:
                    held = len(w.calls)
                    if 0 < held < depth and (fullest is None or held > len(fullest.calls)):
                        if self._usable(w):
                            fullest = w
                if fullest is not None:
                    return fullest
            while self.idle:
                worker = self.idle.pop()
                if self._usable(worker):
                    return worker
            for ended in [w for w in self.workers if not self._usable(w) and not w.busy]:
                self.workers.discard(ended)
                asyncio.get_running_loop().create_task(ended.close())
            live = [w for w in self.workers if self._usable(w)]
            if len(live) + self.spawning < self.limits.concurrency:
                break
            free = [w for w in live if w.busy < depth]
            if free:
                return max(free, key=lambda w: w.busy)
            # Every worker is full or still starting: wait for one to answer or start.
            await self._changed()
        self.spawning += 1
        try:
            worker = await sandbox.spawn(SPAWN_TIMEOUT)
        finally:
            self.spawning -= 1
            self._notify()
        self.workers.add(worker)
        return worker

    async def _changed(self) -> None:
        if self._change is None or self._change.done():
            self._change = asyncio.get_running_loop().create_future()
        # Bounded: a worker that ends without an answer wakes nobody.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._change), 0.05)

    def _notify(self) -> None:
        if self._change is not None and not self._change.done():
            self._change.set_result(None)

    def _put_back(self, worker: Worker, reply: WorkerReply) -> None:
        # How long the call ran, as the worker measured it (tenant code could lie about it,
        # which only changes how its own app's calls are queued).
        elapsed = reply.elapsed
        if elapsed is not None:
            avg = self.duration_avg
            self.duration_avg = elapsed if avg is None else 0.8 * avg + 0.2 * elapsed
        retire = reply.retire
        self._notify()
        if retire or worker.served >= self.max_requests or self.closed or worker.exit.done():
            worker.retired = True  # no new calls; closed once the ones it holds are answered
        if worker.busy:
            return
        if worker.retired:
            self.workers.discard(worker)
            asyncio.get_running_loop().create_task(worker.close())
        elif worker not in self.idle:
            self.idle.append(worker)

    async def call(self, header: dict[str, Any], body: bytes) -> tuple[WorkerReply, bytes]:
        """Run one invocation on a worker; tenant failures become TenantCodeError subclasses.

        The answer's header is checked (``parse_worker_reply``): a worker runs tenant code,
        which can write any frame on the worker's socket.
        """
        attempt = moved = 0
        while attempt < 2:
            sandbox = await self.ensure_sandbox()
            try:
                worker = await self._worker(sandbox)
            except ProtocolError as exc:
                # Only the app's own code, changing the zygote, makes it break the protocol.
                raise TenantCodeError(
                    f"the app's zygote broke the worker protocol: {exc}"
                ) from None
            except (SandboxDied, ConnectionError, asyncio.IncompleteReadError):
                if attempt == 0:
                    attempt += 1
                    continue  # the zygote crashed before the request reached it: start over
                raise Unavailable("the app's sandbox keeps failing to start workers") from None
            except TimeoutError:
                sandbox.close()
                raise Unavailable("the app's sandbox did not start a worker in time") from None
            try:
                raw, reply_body = await worker.send(
                    header, body, MAX_BODY_BYTES, self.limits.timeout_seconds
                )
            except NotStarted:
                # The worker ended before it began this call (a crash or timeout of the call
                # ahead of it): run it on another worker.
                moved += 1
                if moved > MAX_NOT_STARTED:
                    raise Unavailable("the app's workers keep ending; retry shortly") from None
                continue
            except TimeoutError:
                await sandbox.kill_worker(worker)
                raise FunctionTimeout(
                    f"the function ran longer than {self.limits.timeout_seconds:g} s and was "
                    "stopped",
                    limit="timeout_seconds",
                    timeout_seconds=self.limits.timeout_seconds,
                ) from None
            except ProtocolError:
                # Tenant code wrote to the worker's socket: the worker cannot be trusted on.
                await sandbox.kill_worker(worker)
                raise TenantCodeError("the function's process broke the worker protocol") from None
            except (asyncio.IncompleteReadError, ConnectionError):
                await worker.close()
                error = await self._death_error(sandbox, worker)
                if sandbox.dead and attempt == 0:
                    # The whole sandbox ended (usually because of another request): run this
                    # one once more on a fresh sandbox rather than fail it.
                    attempt += 1
                    continue
                raise error from None
            reply = parse_worker_reply(raw)
            self._put_back(worker, reply)
            status = reply.status
            if isinstance(status, int) and status >= 500 and sandbox.group is not None:
                if sandbox.group.pids_exhausted():
                    reply.error = {
                        "code": "resource_limit",
                        "message": "the function hit the process limit "
                        f"({self.limits.processes} processes)",
                        "detail": {"limit": "processes"},
                    }
                    reply.status = 507
            return reply, reply_body
        raise Unavailable("the app's sandbox is unavailable")  # pragma: no cover

    async def _death_error(self, sandbox: Sandbox, worker: Worker) -> TenantCodeError:
        info: dict[str, Any] = {}
        with contextlib.suppress(TimeoutError):
            info = await asyncio.wait_for(asyncio.shield(worker.exit), 1.0)
        sig = info.get("signal")
        if sandbox.group is not None and sandbox.group.oom_killed():
            return ResourceLimitHit(
                f"the function went over its memory limit ({self.limits.memory_mb} MB)",
                limit="memory_mb",
            )
        if sig == signal.SIGXCPU:
            return ResourceLimitHit(
                f"the function used more than {self.limits.cpu_seconds} s of CPU",
                limit="cpu_seconds",
            )
        if sig == signal.SIGXFSZ:
            return ResourceLimitHit(
                "the function wrote a file over its size limit", limit="file_size_mb"
            )
        if info.get("sandbox") or sandbox.dead:
            return TenantCodeError(
                "the app's sandbox ended during the request (a process in it killed the zygote "
                "or it ran out of resources); the next request starts a fresh one"
            )
        if sig is not None:
            return TenantCodeError(
                f"the function's process was killed by {_signal_name(sig)}", signal=sig
            )
        return TenantCodeError(
            f"the function's process exited with code {info.get('code', '?')} during the request",
            exit_code=info.get("code"),
        )

    async def openapi(self) -> dict[str, Any]:
        """The app's OpenAPI document, generated inside its sandbox."""
        sandbox = await self.ensure_sandbox()
        reply = await sandbox.request(
            {"op": "openapi", "title": f"{self.ref.app} ({self.ref.env})"}, "openapi", 10.0
        )
        document = openapi_document(reply)
        if document is None:
            raise TenantCodeError(
                "the app's OpenAPI document is malformed, nested too deeply or larger than "
                f"{MAX_OPENAPI_BYTES >> 20} MiB"
            )
        return document

    async def close_proxies(self) -> None:
        """Stop the egress and database proxies of the current sandbox."""
        for proxy in (self.proxy, self.db_proxy):
            if proxy is not None:
                await proxy.close()
        self.proxy = self.db_proxy = None

    async def close(self) -> None:
        """Stop workers, the zygote and the proxies."""
        self.closed = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        for worker in self.workers:
            await worker.close()
        self.idle.clear()
        self.workers.clear()
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        await self.close_proxies()
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_exception(Unavailable("the app was stopped; retry"))


def _signal_name(number: int) -> str:
    """``SIGKILL`` for 9; real-time signals have no name of their own."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
