"""One app environment's sandbox, workers, admission and queue; the machine's slots.

How calls are admitted, queued, shared between tenants, placed on workers and pipelined is
described in docs/runtime.md ("How a request runs", "Admission and fairness").
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

from .admission import (
    FairQueue,
    Refusal,
    admit,
    estimate,
    expected_wait,
    keep_waiting,
    live_concurrency,
    moving_average,
    retry_after,
    tenant_limit,
)
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


class MachineSlots:
    """Slots for calls on workers over all apps: ``limit`` in all, ``tenant_limit`` of them
    for any one tenant (the rest stays free for the others). Apps whose next call waits
    only for a slot take turns by tenant (``admission.FairQueue``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tenant_limit = tenant_limit(limit)
        self.running = 0  # calls holding a slot: on a worker, or about to be
        self.by_tenant: dict[str, int] = {}
        self.waiting: FairQueue[AppInstance] = FairQueue()
        # Apps taken off ``waiting`` while their tenant held its most, until it gives one back.
        self._parked: dict[str, dict[AppInstance, None]] = {}

    def room(self, tenant: str) -> bool:
        """Whether a call of ``tenant`` may take a slot now."""
        return self.running < self.limit and self.by_tenant.get(tenant, 0) < self.tenant_limit

    def take(self, tenant: str) -> None:
        """Count a slot taken by a call of ``tenant``."""
        self.running += 1
        self.by_tenant[tenant] = self.by_tenant.get(tenant, 0) + 1

    def give_back(self, tenant: str) -> None:
        """Count a slot given back; the tenant's parked apps get their turns again."""
        self.running -= 1
        held = self.by_tenant[tenant] - 1
        if held:
            self.by_tenant[tenant] = held
        else:
            del self.by_tenant[tenant]
        parked = self._parked.pop(tenant, None)
        if parked:
            for app in parked:
                if app.eligible:
                    self.waiting.push(tenant, app)

    def contenders(self, tenant: str) -> int:
        """Other tenants waiting for a slot while every slot is taken."""
        if self.running < self.limit:
            return 0
        return self.waiting.tenants - (1 if self.waiting.has_tenant(tenant) else 0)

    def forget(self, app: AppInstance) -> None:
        """Take ``app`` out of the turns (it has nothing waiting, or it closed)."""
        self.waiting.discard(app)
        parked = self._parked.get(app.ref.tenant)
        if parked is not None:
            parked.pop(app, None)

    def dispatch(self) -> None:
        """Hand free slots to waiting apps, one call per turn."""
        waiting = self.waiting
        while self.running < self.limit:
            app = waiting.pop()
            if app is None:
                return
            tenant = app.ref.tenant
            if self.by_tenant.get(tenant, 0) >= self.tenant_limit:
                self._parked.setdefault(tenant, {})[app] = None
                continue
            app.grant()
            if app.eligible:
                waiting.push(tenant, app)


class AppInstance:
    """The running state of one app environment at one release."""

    def __init__(
        self,
        ref: AppRef,
        config: AppConfig,
        acquire_sandbox: Callable[[AppInstance], Coroutine[Any, Any, Sandbox]],
        max_requests: int,
        machine: MachineSlots | None = None,
        max_waiting_bytes: int = 64 << 20,
        duration_avg: float | None = None,
    ) -> None:
        self.ref = ref
        self.config = config
        self.limits = config.limits
        self._acquire_sandbox = acquire_sandbox
        self.max_requests = max_requests
        self.machine = machine if machine is not None else MachineSlots(1 << 30)
        self.max_waiting_bytes = max_waiting_bytes
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
        # Moving averages of call durations, seconds (seeded with the last instance's): a
        # quick one that decides pipelining, a steadier one that admission plans with.
        self.duration_avg = duration_avg
        self.call_time = duration_avg
        self._last_call = time.monotonic()
        self._began: dict[int, float] = {}  # while there is no average: calls running, since
        # A cold app's first call times, until it trims its queue (``_observe``).
        self._cold_samples: list[float] | None = [] if duration_avg is None else None
        self.active = 0  # calls holding a slot (running, or queued on a worker's socket)
        self.waiters: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()
        self.waiting_bytes = 0  # request bodies in ``waiters``
        self.refused = 0
        self.shed = 0
        self.last_used = time.monotonic()
        self.cold_starts = 0
        self.closed = False

    # -- admission and slots ------------------------------------------------------------

    async def acquire(self, body_bytes: int = 0) -> None:
        """Take a slot for one call: at once when the app and the machine have room, else
        wait in the app's queue if admitted by expected wait, else raise Overloaded."""
        self.last_used = time.monotonic()
        machine = self.machine
        tenant = self.ref.tenant
        if not self.waiters and self.active < self._cap() and machine.room(tenant):
            self.active += 1
            machine.take(tenant)
            return
        self._admit(body_bytes)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, body_bytes)
        self.waiters.append(entry)
        self.waiting_bytes += body_bytes
        if self.eligible:  # the app has room: only the machine is full
            machine.waiting.push(tenant, self)
            machine.dispatch()
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.release()  # we were handed a slot but are going away
            elif entry in self.waiters:
                self.waiters.remove(entry)
                self.waiting_bytes -= body_bytes
                if not self.waiters:
                    machine.forget(self)
            raise

    def release(self) -> None:
        """Give the slot back: to this app's next call, or to the app whose turn it is."""
        self.last_used = time.monotonic()
        self.active -= 1
        machine = self.machine
        machine.give_back(self.ref.tenant)
        if self.waiters and self.eligible:
            machine.waiting.push(self.ref.tenant, self)
        if machine.waiting:
            machine.dispatch()

    @property
    def eligible(self) -> bool:
        """Whether a call waits here that the app's cap would let run now."""
        return bool(self.waiters) and self.active < self._cap() and not self.closed

    def grant(self) -> bool:
        """Start the oldest waiting call if the app has room; whether one started."""
        while self.waiters and self.active < self._cap():
            future, size = self.waiters.popleft()
            self.waiting_bytes -= size
            if future.done():  # its caller went away
                continue
            self.active += 1
            self.machine.take(self.ref.tenant)
            future.set_result(None)
            return True
        return False

    def _live_concurrency(self) -> int:
        machine = self.machine
        others = machine.contenders(self.ref.tenant)
        return live_concurrency(
            self.limits.concurrency, machine.tenant_limit, others, machine.limit
        )

    def _admit(self, body_bytes: int) -> None:
        """Raise Overloaded unless a call that cannot begin at once may wait."""
        limits = self.limits
        oldest = time.monotonic() - next(iter(self._began.values())) if self._began else 0.0
        live = self._live_concurrency()
        refusal = admit(
            ahead=self.active + len(self.waiters),
            most_ahead=limits.concurrency + limits.queue,
            waiting_bytes=self.waiting_bytes,
            body_bytes=body_bytes,
            most_waiting_bytes=self.max_waiting_bytes,
            average=estimate(self.call_time, oldest),
            concurrency=live,
            budget=limits.queue_wait_seconds,
        )
        if refusal is not None:
            self.refused += 1
            raise self._overloaded(refusal)

    def _overloaded(self, refusal: Refusal) -> Overloaded:
        limits = self.limits
        if refusal.reason == "queue":
            message = f"too many requests for this app ({limits.concurrency + limits.queue})"
        elif refusal.reason == "bytes":
            message = "too many bytes of request bodies are waiting for this app"
        else:
            message = (
                f"this app's queue would make the request wait about {refusal.wait:.1f} s, "
                f"over its {limits.queue_wait_seconds:g} s budget"
            )
        return Overloaded(
            f"{message}; retry in {refusal.retry_after} s",
            retry_after=refusal.retry_after,
            reason=refusal.reason,
            expected_wait_seconds=round(refusal.wait, 3),
            queue_wait_seconds=limits.queue_wait_seconds,
            concurrency=limits.concurrency,
            queue=limits.queue,
        )

    def _observe(self, elapsed: float) -> None:
        """Fold one call's duration into the moving average (and the cold app's count)."""
        avg = self.duration_avg
        self.duration_avg = elapsed if avg is None else 0.8 * avg + 0.2 * elapsed
        now = time.monotonic()
        since_last, self._last_call = now - self._last_call, now
        samples = self._cold_samples
        if samples is None:
            self.call_time = moving_average(self.call_time, elapsed, since_last)
            return
        # A worker's first call runs slower (fresh pages, lazy set-up, a loaded machine):
        # plan with the fastest call seen until some worker has answered twice, then trim
        # the queue with it and let the moving average start from it. (Averaging from the
        # first call kept a fast app planning with its cold start through a whole burst.)
        samples.append(elapsed)
        self.call_time = fastest = min(samples)
        if len(samples) > self.limits.concurrency:
            self._cold_samples = None
            self._trim(fastest)

    def _trim(self, average: float) -> None:
        """Refuse the waiting calls, newest first, that would wait past the budget: those a
        cold app admitted before it knew its call time."""
        live = self._live_concurrency()
        keep = keep_waiting(
            self.active, len(self.waiters), average, live, self.limits.queue_wait_seconds
        )
        if keep >= len(self.waiters):
            return
        # Come back when what stays has drained: about the budget.
        wait = expected_wait(self.active + keep, average, live)
        refusal = Refusal("wait", wait, retry_after(wait))
        while len(self.waiters) > keep:
            future, size = self.waiters.pop()
            self.waiting_bytes -= size
            if not future.done():
                self.shed += 1
                future.set_exception(self._overloaded(refusal))
        if not self.waiters:
            self.machine.forget(self)

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

    async def warm(self, workers: int) -> None:
        """Start the sandbox and up to ``workers`` idle workers (prepared before a switch)."""
        sandbox = await self.ensure_sandbox()
        while len([w for w in self.workers if self._usable(w)]) + self.spawning < workers:
            self.spawning += 1
            try:
                worker = await sandbox.spawn(SPAWN_TIMEOUT)
            finally:
                self.spawning -= 1
                self._notify()
            self.workers.add(worker)
            self.idle.append(worker)
        self.last_used = time.monotonic()

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
            self._observe(elapsed)
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
        try:
            while attempt < 2:
                sandbox = await self.ensure_sandbox()
                worker = await self._worker_for(sandbox, attempt)
                if worker is None:
                    attempt += 1  # the zygote crashed before the request reached it
                    continue
                if self.duration_avg is None:  # a cold app: how long its first calls run
                    self._began.setdefault(id(header), time.monotonic())
                try:
                    raw, reply_body = await worker.send(
                        header, body, MAX_BODY_BYTES, self.limits.timeout_seconds
                    )
                except NotStarted:
                    # The worker ended before it began this call (a crash or timeout of the
                    # call ahead of it): run it on another worker.
                    moved += 1
                    if moved > MAX_NOT_STARTED:
                        raise Unavailable("the app's workers keep ending; retry shortly") from None
                    continue
                except TimeoutError:
                    self._observe(self.limits.timeout_seconds)  # it held a worker that long
                    await sandbox.kill_worker(worker)
                    raise FunctionTimeout(
                        f"the function ran longer than {self.limits.timeout_seconds:g} s and "
                        "was stopped",
                        limit="timeout_seconds",
                        timeout_seconds=self.limits.timeout_seconds,
                    ) from None
                except ProtocolError:
                    # Tenant code wrote to the worker's socket: the worker cannot be trusted on.
                    await sandbox.kill_worker(worker)
                    raise TenantCodeError(
                        "the function's process broke the worker protocol"
                    ) from None
                except (asyncio.IncompleteReadError, ConnectionError):
                    await worker.close()
                    error = await self._death_error(sandbox, worker)
                    if sandbox.dead and attempt == 0:
                        # The whole sandbox ended (usually because of another request): run
                        # this one once more on a fresh sandbox rather than fail it.
                        attempt += 1
                        continue
                    raise error from None
                reply = parse_worker_reply(raw)
                self._put_back(worker, reply)
                status = reply.status
                if isinstance(status, int) and status >= 500 and sandbox.group is not None:
                    self._check_pids(reply, sandbox.group.pids_exhausted())
                return reply, reply_body
        finally:
            if self._began:
                self._began.pop(id(header), None)
        raise Unavailable("the app's sandbox is unavailable")  # pragma: no cover

    async def _worker_for(self, sandbox: Sandbox, attempt: int) -> Worker | None:
        """A worker of ``sandbox`` for one call; None when the zygote ended on the first try."""
        try:
            return await self._worker(sandbox)
        except ProtocolError as exc:
            # Only the app's own code, changing the zygote, makes it break the protocol.
            raise TenantCodeError(f"the app's zygote broke the worker protocol: {exc}") from None
        except (SandboxDied, ConnectionError, asyncio.IncompleteReadError):
            if attempt == 0:
                return None
            raise Unavailable("the app's sandbox keeps failing to start workers") from None
        except TimeoutError:
            sandbox.close()
            raise Unavailable("the app's sandbox did not start a worker in time") from None

    def _check_pids(self, reply: WorkerReply, exhausted: bool) -> None:
        """A 5xx while the sandbox is out of processes is the process limit's doing."""
        if exhausted:
            reply.error = {
                "code": "resource_limit",
                "message": f"the function hit the process limit ({self.limits.processes} "
                "processes)",
                "detail": {"limit": "processes"},
            }
            reply.status = 507

    async def _death_error(self, sandbox: Sandbox, worker: Worker) -> TenantCodeError:
        info: dict[str, Any] = {}
        with contextlib.suppress(TimeoutError):
            info = await asyncio.wait_for(asyncio.shield(worker.exit), 1.0)
        sig = info.get("signal")
        if sandbox.ended_by_oom or (sandbox.group is not None and sandbox.group.oom_killed()):
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
        self.machine.forget(self)
        while self.waiters:
            future, _ = self.waiters.popleft()
            if not future.done():
                future.set_exception(Unavailable("the app was stopped; retry"))
        self.waiting_bytes = 0


def _signal_name(number: int) -> str:
    """``SIGKILL`` for 9; real-time signals have no name of their own."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
