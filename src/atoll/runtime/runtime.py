"""``Runtime``: what the gateway calls to run tenant functions.

runtime = Runtime(settings)          # settings: atoll.config.Settings
await runtime.start()                # mirrors the Python runtime, fills the warm pool
resp = await runtime.invoke(app_ref, InvokeRequest("GET", "/api/todos"))
doc = await runtime.openapi(app_ref)
runtime.logs.read("tenant/app/env") / runtime.logs.follow(...)
await runtime.shutdown()
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Any

from atoll.config import Settings
from atoll.errors import (
    AtollError,
    BadInput,
    FunctionTimeout,
    NotFound,
    ResourceLimitHit,
    TenantCodeError,
    Unavailable,
)

from . import limits as limits_mod
from .apps import AppInstance, MachineSlots
from .backends import BackendReport, backend_name, find_backends, make_backend
from .cgroups import detect as detect_cgroups
from .cgroups import remove_tree
from .database import DatabaseLink, DatabaseProxy
from .deps import DependencyLayers, Layer
from .egress import Allowlist, EgressProxy
from .gvisor import RunscBackend
from .layout import RuntimeLayout, choose_runtime_dir, preferred_runtime_dir
from .logs import LogStore, invocation_size
from .masking import NO_SECRETS, SecretMask
from .pool import SlotAllocator, UidRange, WarmPool
from .replies import TooManyHeaders, WorkerReply, preview, response_headers, specialized
from .sandbox import (
    APP_DIR,
    BASE_DIR,
    LAYERS_DIR,
    RUN_DIR,
    SDK_DIR,
    Mount,
    SandboxBackend,
    SandboxSpec,
)
from .types import AppRef, InvokeRequest, InvokeResponse
from .zygote import Sandbox, SandboxDied

READY_TIMEOUT = 15.0
SPECIALIZE_GRACE = 5.0  # on top of the app's timeout, for importing its functions
COPY_SKIP = {".git", "node_modules", "__pycache__", ".venv"}
MAX_SANDBOX_OUTPUT = 1 << 20
MiB = 1 << 20
REMEMBERED_AVERAGES = 4096  # call-time averages kept for apps that scaled to zero


class RequestIds:
    """Random request ids (16 hex digits), read from the kernel a thousand at a time: one
    ``getrandom`` per call cost a system call on every request."""

    def __init__(self, batch: int = 1024) -> None:
        self.batch = batch
        self._ids: list[str] = []

    def next(self) -> str:
        """A new id."""
        if not self._ids:
            raw = os.urandom(8 * self.batch).hex()
            self._ids = [raw[i : i + 16] for i in range(0, len(raw), 16)]
        return self._ids.pop()


class Runtime:
    """Runs tenant functions in sandboxes: pools, zygotes, workers, limits, logs."""

    def __init__(
        self,
        settings: Settings,
        backend: SandboxBackend | None = None,
        logs: LogStore | None = None,
        database: DatabaseLink | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.runtime
        self.ceiling = limits_mod.maxima(self.config)
        preferred = preferred_runtime_dir(settings)
        chosen = choose_runtime_dir(preferred)
        # A stand-in folder under /tmp (the data dir is not reachable by sandbox uids) is
        # removed again at shutdown.
        self._temporary_root = chosen != preferred
        self.layout = RuntimeLayout(chosen)
        # Backends by name: the default one now (Unavailable when it cannot run here), the
        # other tier's at ``start`` when this host has it.
        # ``gvisor`` is the tier's name for the runsc backend.
        default = backend or make_backend(
            "runsc" if self.config.backend == "gvisor" else self.config.backend
        )
        self.backends: dict[str, SandboxBackend] = {default.name: default}
        self.default_backend = default.name
        self.backend_report: BackendReport | None = None
        # Host uids no other instance on this host uses; held until shutdown or exit.
        uids = UidRange.reserve(
            self.config.uid_reservation_dir,
            self.config.sandbox_uid_base,
            self.config.sandbox_uid_count,
            self.config.sandbox_uid_ranges,
        )
        self.slots = SlotAllocator(uids)
        self.logs = logs or LogStore(settings.data_dir / "logs", settings.logs)
        self.database = database
        self.cgroups = detect_cgroups(self.config.cgroup_root, f"atoll-{os.getpid()}-{uids.start}")
        self.layers = DependencyLayers(self.layout.layers, index_url=self.config.python_index_url)
        self.pool = WarmPool(self._start_generic, self.config.pool_size)
        self.apps: dict[str, AppInstance] = {}
        # Instances started for code about to be deployed (``prepare``), by app key: the
        # first call for that code takes one over instead of starting cold.
        self.staged: dict[str, AppInstance] = {}
        # Instances replaced by a new release (same vars), drained and kept warm like any
        # idle app (closed after ``idle_seconds``), by app key: a rollback to them starts
        # nothing.
        self.previous: dict[str, AppInstance] = {}
        self._request_ids = RequestIds()
        self.draining: set[AppInstance] = set()
        self._sandboxes_started = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._output_seen: dict[int, int] = {}
        # What hides the secrets of the app a slot's sandbox runs, in its output.
        self._masks: dict[int, SecretMask] = {}
        self.machine = MachineSlots(self.config.max_running_calls)
        # Apps' call-time averages, kept when they scale to zero: their next instance
        # plans admission with it instead of starting cold.
        self._averages: dict[str, float] = {}
        self.cpus = len(os.sched_getaffinity(0)) or 1
        self.worker_poll_us = self.config.worker_poll_us
        self.started = False

    @property
    def backend(self) -> SandboxBackend:
        """The platform default backend (the warm pool's sandboxes use it)."""
        return self.backends[self.default_backend]

    def backend_for(self, isolation: str) -> SandboxBackend:
        """The backend a tenant's isolation tier runs on; Unavailable when this host has
        none (never another backend instead)."""
        name = backend_name(isolation, self.default_backend)
        backend = self.backends.get(name)
        if backend is None:
            why = self.backend_report.describe() if self.backend_report is not None else ""
            raise Unavailable(
                f"this tenant's code runs only on the {isolation!r} isolation tier ({name}), "
                f"which this server cannot run: {why or 'not found at start-up'}",
                isolation=isolation,
            )
        return backend

    @property
    def running(self) -> int:
        """Invocations holding a slot on a worker right now (all apps)."""
        return self.machine.running

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Prepare the sandbox file tree and start the warm pool and the idle reaper."""
        await asyncio.to_thread(self.layout.prepare)
        await asyncio.to_thread(self.cgroups.enable)
        config = self.config
        report = await asyncio.to_thread(
            find_backends,
            config.runsc_platform,
            config.runsc_probe_cache,
            config.probe_seconds,
            config.runsc,
        )
        self.backend_report = report
        for name in ("bwrap", "runsc"):
            if name not in self.backends and getattr(report, name) is None:
                self.backends[name] = make_backend(name, report)
        if self.default_backend == "runsc" and report.runsc is not None:
            raise Unavailable(f"the default sandbox backend runsc cannot run here: {report.runsc}")
        for backend in self.backends.values():
            if isinstance(backend, RunscBackend) and report.platform is not None:
                backend.platform = report.platform
            await asyncio.to_thread(backend.prepare, self.layout.root)
        missing = self.cgroups.missing
        if missing and not self.config.allow_no_cgroups:
            # rlimits alone do not bound what a sandbox keeps in RAM (tmpfs, memfds, SysV
            # shm, pipe and socket buffers): no sandbox without both limits unless asked.
            raise Unavailable(
                f"sandboxes need the cgroup {' and '.join(missing)} controller(s), which this "
                f"runtime cannot use: {self.cgroups.problem}. To run with rlimits only, set "
                "ATOLL_RUNTIME_ALLOW_NO_CGROUPS=1",
                missing=missing,
            )
        self.started = True
        self.pool.refill()
        self._reaper = asyncio.get_running_loop().create_task(self._reap_idle())

    async def shutdown(self) -> None:
        """Stop every sandbox and background task (idempotent)."""
        self.started = False
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        await self.pool.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        kept = [*self.staged.values(), *self.previous.values()]
        for instance in [*self.apps.values(), *kept, *self.draining]:
            await instance.close()
        self.apps.clear()
        self.staged.clear()
        self.previous.clear()
        self.draining.clear()
        for backend in self.backends.values():
            await asyncio.to_thread(backend.finish)
        for _ in range(100):  # sandboxes' processes may take a moment to finish exiting
            for path in self.cgroups.base.values():
                remove_tree(path)
            if not any(path.exists() for path in self.cgroups.base.values()):
                break
            await asyncio.sleep(0.02)
        if self._temporary_root:
            await asyncio.to_thread(shutil.rmtree, self.layout.root, True)
        self.slots.release()  # no sandbox runs as one of its uids any more
        self.logs.close()

    async def _reap_idle(self) -> None:
        interval = max(0.05, min(1.0, self.config.idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for key, instance in list(self.apps.items()):
                idle = instance.active == 0 and not instance.waiters
                if idle and now - instance.last_used > self.config.idle_seconds:
                    self.apps.pop(key, None)
                    self._remember(instance)
                    await instance.close()
            for kept in (self.staged, self.previous):  # prepared, or replaced: idle apps
                for key, instance in list(kept.items()):
                    if now - instance.last_used > self.config.idle_seconds:
                        kept.pop(key, None)
                        await instance.close()

    def _remember(self, instance: AppInstance) -> None:
        """Keep an app's call-time average for its next instance (the newest few thousand)."""
        if instance.call_time is None:
            return
        self._averages.pop(instance.ref.key, None)
        self._averages[instance.ref.key] = instance.call_time
        if len(self._averages) > REMEMBERED_AVERAGES:
            del self._averages[next(iter(self._averages))]

    # -- sandboxes ----------------------------------------------------------------------

    def _spec(self, slot: int, slot_dir: Path, tmp_mb: int) -> SandboxSpec:
        layout = self.layout
        return SandboxSpec(
            name=f"slot{slot}",
            host_uid=self.slots.uid(slot),
            python=layout.python_in_sandbox(),
            mounts=(
                Mount(layout.python, str(layout.python_prefix)),
                Mount(layout.sdk, SDK_DIR),
                Mount(layout.base, BASE_DIR),
                Mount(layout.layers, LAYERS_DIR),
                Mount(slot_dir / "app", APP_DIR),
                Mount(slot_dir / "run", RUN_DIR),
            ),
            tmp_bytes=tmp_mb * MiB,  # /dev/shm gets the same size
        )

    async def _start_sandbox(
        self, limits: limits_mod.AppLimits, backend: SandboxBackend | None = None
    ) -> Sandbox:
        backend = backend or self.backend
        slot = self.slots.take()
        group = None
        try:
            slot_dir = self.layout.slot(slot, self.slots.uid(slot))
            spec = self._spec(slot, slot_dir, limits.tmp_mb)
            if self.cgroups.base:
                self._sandboxes_started += 1
                # Unique per sandbox: a slot is reused while its old group may be removed.
                # Files in /tmp and /dev/shm are RAM charged to this group: room for them
                # comes on top of memory_mb, so a full tmpfs is ENOSPC, not the OOM killer.
                memory, pids = backend.cgroup_limits(
                    (limits.memory_mb + 64) * MiB, limits.processes + 4
                )
                group = self.cgroups.create(
                    f"slot{slot}-{self._sandboxes_started}",
                    memory,
                    pids,
                    limits.cpu_cores,
                    reserved_bytes=spec.tmpfs_bytes,
                )
                if backend.joins_cgroup:
                    spec = dataclasses.replace(spec, cgroup=self.cgroups.oci_path(group))
            process = backend.start(spec)
        except BaseException:
            if group is not None:
                group.destroy()
            self.slots.give_back(slot)
            raise
        sandbox = Sandbox(process, slot, slot_dir, group, self._on_output, backend)
        sandbox.on_death(self._on_sandbox_death)
        try:
            await sandbox.wait_ready(READY_TIMEOUT)
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    async def _start_generic(self) -> Sandbox:
        return await self._start_sandbox(limits_mod.merge_limits({}, self.ceiling))

    def _on_sandbox_death(self, sandbox: Sandbox) -> None:
        if sandbox.process.popen.returncode is None:
            sandbox.close()
        self._output_seen.pop(sandbox.slot, None)
        self._masks.pop(sandbox.slot, None)
        shutil.rmtree(sandbox.slot_dir, ignore_errors=True)
        self.slots.give_back(sandbox.slot)

    def _on_output(self, sandbox: Sandbox, data: bytes) -> None:
        seen = self._output_seen.get(sandbox.slot, 0)
        self._output_seen[sandbox.slot] = seen + len(data)
        if sandbox.app_key is None or seen >= MAX_SANDBOX_OUTPUT:
            return
        text = data[: MAX_SANDBOX_OUTPUT - seen].decode(errors="replace")
        text = self._masks.get(sandbox.slot, NO_SECRETS).text(text)
        self.logs.append(sandbox.app_key, {"kind": "sandbox-output", "text": text})

    async def _acquire_for(self, instance: AppInstance) -> Sandbox:
        """A sandbox specialised for ``instance``: from the pool when its mounts fit."""
        config = instance.config
        backend = self.backend_for(instance.ref.isolation)  # refused before any work
        layer = await self._layer(instance)
        sandbox = None
        pooled = backend is self.backend
        if pooled and instance.limits.tmp_mb == limits_mod.merge_limits({}, self.ceiling).tmp_mb:
            sandbox = self.pool.take()
        if sandbox is None:
            sandbox = await self._start_sandbox(instance.limits, backend)
        instance.cold_starts += 1
        try:
            await asyncio.to_thread(_copy_code, instance.ref.code_dir, sandbox.slot_dir / "app")
            await instance.close_proxies()
            if config.egress:
                instance.proxy = EgressProxy(
                    sandbox.slot_dir / "run" / "egress.sock",
                    Allowlist(config.egress, self.config.egress_private_allowed),
                    self.settings.proxies,
                )
                await instance.proxy.start()
            if self.database is not None:
                target = await self.database.target(instance.ref)
                if target is not None:
                    link, ref = self.database, instance.ref
                    instance.db_proxy = DatabaseProxy(
                        sandbox.slot_dir / "run" / "db.sock",
                        target,
                        lambda: link.target(ref),
                        self.settings.proxies,
                    )
                    await instance.db_proxy.start()
            if sandbox.group is not None:
                lim = instance.limits
                memory, pids = backend.cgroup_limits((lim.memory_mb + 64) * MiB, lim.processes + 4)
                sandbox.group.set_limits(memory, pids, lim.cpu_cores)
            paths = [layer.sandbox_path] if layer is not None else []
            budget = instance.limits.timeout_seconds + SPECIALIZE_GRACE
            message = {**instance.specialize_message(paths), "spares": backend.spare_workers}
            reply = await sandbox.request(message, "specialized", budget)
        except TimeoutError:
            sandbox.close()
            raise FunctionTimeout(
                f"importing the app's functions took longer than {budget:g} s",
                limit="timeout_seconds",
            ) from None
        except SandboxDied:
            sandbox.close()
            raise TenantCodeError(
                "the app's code ended its sandbox while its functions were being imported"
            ) from None
        except BaseException:
            sandbox.close()
            raise
        sandbox.app_key = instance.ref.key
        self._masks[sandbox.slot] = instance.ref.mask
        instance.functions, instance.import_errors = specialized(reply)
        return sandbox

    async def _layer(self, instance: AppInstance) -> Layer | None:
        """The dependency layer of ``instance``'s code: its build's lock, installed if it
        is not (yet, or any more); code built without a lock resolves its dependencies."""
        lock = instance.ref.python_lock
        if lock is None:
            return await self.layers.ensure(instance.config.dependencies)
        return await self.layers.ensure_lock(lock) if lock.strip() else None

    # -- invocations --------------------------------------------------------------------

    def concurrency(self, key: str) -> int | None:
        """How many calls the app environment ``key`` (``AppRef.key``) may run at once, if
        it runs here now."""
        instance = self.apps.get(key)
        return None if instance is None else instance.limits.concurrency

    async def prepare(self, ref: AppRef, workers: int | None = None) -> None:
        """Start ``ref``'s code before it is deployed: its sandbox and ``workers`` workers
        (default: as many as the code it replaces has, at least one), kept apart until
        the first call for ``ref`` switches to them, so that call is not a cold start.
        The app's current instance keeps serving meanwhile."""
        current = self.apps.get(ref.key)
        if current is not None and not current.closed and current.ref == ref:
            return
        staged = self.staged.get(ref.key)
        if staged is None or staged.closed or staged.ref != ref:
            if staged is not None:
                self.staged.pop(ref.key, None)
                await staged.close()
            staged = self._kept(ref) or self._new_instance(ref)
            self.staged[ref.key] = staged
        if workers is None:
            workers = len(current.workers) if current is not None else 1
        await staged.warm(max(1, min(workers, staged.limits.concurrency)))

    def _instance(self, ref: AppRef) -> AppInstance:
        instance = self.apps.get(ref.key)
        # ``is`` first: the gateway passes the same AppRef object while nothing changed.
        if (
            instance is not None
            and not instance.closed
            and (instance.ref is ref or instance.ref == ref)
        ):
            return instance
        staged = self.staged.pop(ref.key, None)
        if staged is not None and (staged.closed or staged.ref != ref):
            self._close_later(staged)  # prepared for code that was not deployed after all
            staged = None
        if instance is not None:
            self._remember(instance)
            # A new release (or new vars): the old zygote drains in the background. Kept
            # warm after, for a way back, unless the vars changed (secrets may have been
            # rotated: old values are not kept).
            keep = instance.ref.vars == ref.vars and instance.ref.secrets == ref.secrets
            self.draining.add(instance)
            task = asyncio.get_running_loop().create_task(self._drain(instance, keep))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _t: self.draining.discard(instance))
        if staged is None:
            staged = self._kept(ref)
        instance = staged if staged is not None else self._new_instance(ref)
        self.apps[ref.key] = instance
        return instance

    def _kept(self, ref: AppRef) -> AppInstance | None:
        """The instance ``ref`` was replaced from, still warm, taken out of ``previous``."""
        kept = self.previous.get(ref.key)
        if kept is not None and not kept.closed and kept.ref == ref:
            return self.previous.pop(ref.key)
        for draining in self.draining:  # replaced a moment ago, still finishing its calls
            if draining.ref == ref and not draining.closed:
                return draining
        return None

    async def _drain(self, instance: AppInstance, keep: bool, timeout: float = 60.0) -> None:
        """Let a replaced instance finish its calls; then keep it in ``previous`` (closing
        the one kept before) or close it."""
        deadline = time.monotonic() + timeout
        while (instance.active or instance.waiters) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        key = instance.ref.key
        if self.apps.get(key) is instance or self.staged.get(key) is instance:
            return  # taken back while it drained (a quick rollback)
        idle = not (instance.active or instance.waiters)
        if (
            keep
            and idle
            and self.started
            and not instance.closed
            and self.apps.get(key) is not instance
        ):
            older = self.previous.get(key)
            self.previous[key] = instance
            instance.last_used = time.monotonic()
            if older is not None and older is not instance:
                await older.close()
            return
        await instance.close()

    def _new_instance(self, ref: AppRef) -> AppInstance:
        config = limits_mod.load_app_config(ref.code_dir, self.ceiling, self.config)
        return AppInstance(
            ref,
            config,
            self._acquire_for,
            self.config.worker_max_requests,
            machine=self.machine,
            max_waiting_bytes=self.config.max_queued_body_bytes,
            duration_avg=self._averages.pop(ref.key, None),
        )

    def _close_later(self, instance: AppInstance) -> None:
        task = asyncio.get_running_loop().create_task(instance.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def invoke(self, ref: AppRef, request: InvokeRequest) -> InvokeResponse:
        """Run ``request`` against the app's functions.

        Returns the function's response (any status it chose). Raises AtollError
        subclasses the gateway renders: NotFound (404), BadInput (422), TenantCodeError
        (500), FunctionTimeout (504), ResourceLimitHit (507), Overloaded (503 + Retry-After),
        BuildFailed (422, e.g. a dependency install). ``detail["request_id"]`` is set.
        """
        if not self.started:
            raise Unavailable("the runtime is not started")
        request_id = self._request_ids.next()
        name = request.function
        if name == "openapi.json" and request.method.upper() == "GET":
            document = await self.openapi(ref)
            import json

            body = json.dumps(document).encode()
            return InvokeResponse(200, (("content-type", "application/json"),), body, request_id)
        started = time.perf_counter()
        entry: dict[str, Any] = {
            "ts": time.time(),
            "request_id": request_id,
            "function": name,
            "method": request.method,
            "status": 200,
        }
        try:
            instance = self._instance(ref)
            await instance.acquire(len(request.body))
            try:
                reply, body = await instance.call(
                    {
                        "op": "invoke",
                        "id": request_id,
                        "function": name,
                        "method": request.method.upper(),
                        "path": request.path,
                        "query": request.query,  # tuples encode as JSON arrays
                        "headers": request.headers,
                        # Spare CPUs: the worker polls for its next call before sleeping.
                        "poll_us": self.worker_poll_us if self.machine.running < self.cpus else 0,
                    },
                    request.body,
                )
            finally:
                instance.release()
        except AtollError as exc:
            exc.detail.setdefault("request_id", request_id)
            entry.update(status=exc.status, error=exc.message)
            self._log(ref.key, entry, started)
            raise
        # The reply was checked field by field (``parse_worker_reply``): tenant code can write
        # its own frames on its worker's socket.
        if ref.mask:
            _mask_reply(ref.mask, reply)
        entry["stdout"] = reply.stdout
        entry["stderr"] = reply.stderr
        entry["logs"] = reply.logs
        if reply.truncated:
            entry["truncated"] = True
        try:
            status, headers = self._answer(reply, request_id)
        except AtollError as exc:
            if ref.mask:  # it may quote what the function answered
                exc.message = ref.mask.text(exc.message)
                exc.detail = ref.mask.value(exc.detail)
            entry.update(status=exc.status, error=exc.message)
            self._log(ref.key, entry, started)
            raise
        entry["status"] = status
        size = invocation_size(name, reply.stdout, reply.stderr, reply.logs)
        self._log(ref.key, entry, started, size)
        headers.append(("x-atoll-request-id", request_id))
        return InvokeResponse(status, tuple(headers), body, request_id)

    def _answer(self, reply: WorkerReply, request_id: str) -> tuple[int, list[tuple[str, str]]]:
        """The status and headers of a checked reply; the AtollError it stands for, if any."""
        if reply.error is not None:
            raise _error_from(reply.error, request_id)
        status = reply.status
        if type(status) is not int or not 200 <= status <= 599:
            raise TenantCodeError(
                f"the function returned an invalid HTTP status {preview(status)}",
                request_id=request_id,
            )
        http = self.settings.http
        try:
            headers = response_headers(
                reply.headers, http.max_response_headers, http.max_response_header_bytes
            )
        except TooManyHeaders as exc:
            raise TenantCodeError(
                str(exc), limit=exc.limit, max=exc.most, request_id=request_id
            ) from None
        return status, headers

    def _log(
        self, key: str, entry: dict[str, Any], started: float, size: int | None = None
    ) -> None:
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        self.logs.append(key, entry, size)

    async def openapi(self, ref: AppRef) -> dict[str, Any]:
        """The OpenAPI document of the app's functions."""
        instance = self._instance(ref)
        await instance.acquire()
        try:
            return await instance.openapi()
        finally:
            instance.release()

    def stats(self) -> dict[str, Any]:
        """Counts for health pages and benchmarks."""
        return {
            "pool_ready": len(self.pool.ready),
            "running": self.machine.running,
            "waiting_for_machine": len(self.machine.waiting),
            "apps": {
                key: {
                    "active": i.active,
                    "queued": len(i.waiters),
                    "queued_bytes": i.waiting_bytes,
                    "refused": i.refused,
                    "shed": i.shed,
                    "call_ms": None if i.call_time is None else round(i.call_time * 1000, 3),
                    "idle_workers": len(i.idle),
                    "cold_starts": i.cold_starts,
                    "running": i.sandbox is not None and not i.sandbox.dead,
                }
                for key, i in self.apps.items()
            },
            "cgroups": self.cgroups.available,
            "backend": self.backend.name,
        }


def _mask_reply(mask: SecretMask, reply: WorkerReply) -> None:
    """Hide secrets in what is kept or shown of a reply: output, log lines, error."""
    reply.stdout = mask.text(reply.stdout)
    reply.stderr = mask.text(reply.stderr)
    reply.logs = mask.value(reply.logs)
    if reply.error is not None:
        reply.error = mask.value(reply.error)


def _error_from(error: dict[str, Any], request_id: str) -> AtollError:
    """The platform error for a checked worker error object (see ``replies.error_object``)."""
    code, message = error["code"], error["message"] or "function failed"
    cls: type[AtollError] = TenantCodeError
    if code == "not_found":
        cls = NotFound
    elif code == "validation_failed":
        cls = BadInput
    elif code == "resource_limit":
        cls = ResourceLimitHit
    exc = cls(message)
    # Set, not passed as keywords: the detail's keys are the function's to choose.
    exc.detail.update(error["detail"])
    exc.detail.pop("message", None)
    exc.detail["request_id"] = request_id
    return exc


def _copy_code(source: Path, target: Path) -> None:
    """Copy the app's code into a slot: regular files and folders only, world-readable.

    Runs as root, so it never follows a symlink (a link to /etc/shadow in a workspace must
    not be dereferenced on the host) and skips FIFOs, sockets and devices.
    """
    if not source.is_dir():
        raise NotFound(f"app code folder {source} does not exist")
    for entry in os.scandir(target):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    _copy_tree(source, target, depth=0)


def _copy_tree(source: Path, target: Path, depth: int) -> None:
    if depth > 32:
        return
    for entry in os.scandir(source):
        if entry.name in COPY_SKIP or entry.is_symlink():
            continue
        destination = target / entry.name
        if entry.is_dir(follow_symlinks=False):
            destination.mkdir(mode=0o755)
            os.chmod(destination, 0o755)
            _copy_tree(Path(entry.path), destination, depth + 1)
        elif entry.is_file(follow_symlinks=False):
            with open(entry.path, "rb", opener=_nofollow) as src, open(destination, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(destination, 0o644)


def _nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)
