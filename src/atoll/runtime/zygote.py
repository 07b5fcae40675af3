"""The host's handle on one running sandbox (its zygote) and on the workers it forks."""

from __future__ import annotations

import array
import asyncio
import collections
import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atoll.errors import Unavailable
from atoll.sdk._protocol import PREFIX, ProtocolError, decode_header, decode_prefix, encode

from .cgroups import SandboxGroup, descendants
from .replies import (
    MAX_OPENAPI_BYTES,
    control_message,
    control_op,
    exit_report,
    worker_announcement,
)
from .sandbox import SandboxBackend, SandboxProcess

MAX_CONTROL_MESSAGE = 4 << 20
OUTPUT_CHUNK = 65536
SMALL_MESSAGE = 4096
# Largest message of each kind the platform reads; kinds not listed are never read.
CONTROL_CAPS = {
    "ready": SMALL_MESSAGE,
    "worker": SMALL_MESSAGE,
    "exited": SMALL_MESSAGE,
    "killed": SMALL_MESSAGE,
    "pong": SMALL_MESSAGE,
    "specialized": MAX_CONTROL_MESSAGE,
    "openapi": MAX_OPENAPI_BYTES,
}
# Room for the one descriptor a message may carry; the kernel closes any beyond what fits.
_FD_SPACE = socket.CMSG_SPACE(array.array("i").itemsize)


def _destroy_later(loop: asyncio.AbstractEventLoop, group: SandboxGroup, attempt: int) -> None:
    """Remove a sandbox's cgroups, retrying while its processes finish exiting."""
    if not group.destroy() and attempt < 100:
        loop.call_later(0.02, _destroy_later, loop, group, attempt + 1)


def _close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _received_fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
    return fds


class SandboxDied(Unavailable):
    """The sandbox ended while the platform was talking to it."""


class NotStarted(Exception):
    """A call queued on a worker that ended before it began the call: safe to run elsewhere."""


class _Call:
    """A call sent to a worker and not answered yet."""

    __slots__ = ("future", "timeout", "timer")

    def __init__(self, future: asyncio.Future[tuple[dict[str, Any], bytes]], timeout: float | None):
        self.future = future
        self.timeout = timeout
        self.timer: asyncio.TimerHandle | None = None


class _WorkerProtocol(asyncio.Protocol):
    """Frames from one worker socket, matched in order to the calls sent to it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.max_body = 0
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.worker.calls:
            # Nothing was asked: tenant code is writing to the worker's socket. Stop reading
            # (the platform must not buffer whatever it sends) and let the worker go.
            self.worker.poisoned = True
            if self.transport is not None:
                self.transport.close()
            return
        self.buffer += data
        self.parse()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or asyncio.IncompleteReadError(bytes(self.buffer), None)
        self.worker.ended(self.lost)

    def parse(self) -> None:
        """Answer calls, in order, for every whole message buffered."""
        buffer = self.buffer
        while self.worker.calls and len(buffer) >= PREFIX.size:
            try:
                head_len, body_len = decode_prefix(buffer, self.max_body)
                end = PREFIX.size + head_len + body_len
                if len(buffer) < end:
                    return
                header = decode_header(buffer[PREFIX.size : PREFIX.size + head_len])
            except ProtocolError as exc:
                self.worker.poisoned = True  # what it sends next means nothing
                self.worker.answer(exc)
                if self.transport is not None:
                    self.transport.close()
                return
            body = bytes(buffer[PREFIX.size + head_len : end])
            del buffer[:end]
            self.worker.answer((header, body))


class Worker:
    """One forked worker: a stream socket to it and what is known about how it ended.

    Calls may be sent while earlier ones are still running (``send`` queues them in the
    socket); the worker runs them one at a time, in order, and answers in order. A call's
    timeout starts when the worker begins it (when the call before it is answered). When
    the worker ends, the call it was running gets the error and every call behind it gets
    ``NotStarted``: answers always arrive before the end of the stream, so a call after the
    running one was never begun and may run elsewhere.
    """

    def __init__(self, worker_id: int, pid: int, sock: socket.socket) -> None:
        self.id = worker_id
        self.pid = pid
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.protocol = _WorkerProtocol(self)
        self.calls: collections.deque[_Call] = collections.deque()
        self.served = 0
        self.exit: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.gone: asyncio.Future[None] = self.loop.create_future()  # the socket ended
        self.retired = False
        self.poisoned = False

    async def connect(self, timeout: float) -> None:
        """Attach the socket to the loop and wait for the worker's hello."""
        hello = self._expect(1 << 10, None)  # expected before anything can arrive
        await self.loop.create_unix_connection(lambda: self.protocol, sock=self.sock)
        header, _ = await asyncio.wait_for(hello, timeout)
        if header.get("op") != "hello":
            raise ProtocolError(f"expected hello, got {header.get('op')!r}")

    def _expect(
        self, max_body: int, timeout: float | None
    ) -> asyncio.Future[tuple[dict[str, Any], bytes]]:
        future: asyncio.Future[tuple[dict[str, Any], bytes]] = self.loop.create_future()
        if self.protocol.lost is not None:
            future.set_exception(self.protocol.lost)
            return future
        self.protocol.max_body = max_body
        self.calls.append(_Call(future, timeout))
        if len(self.calls) == 1:
            self._begin()
        self.protocol.parse()
        return future

    def _begin(self) -> None:
        call = self.calls[0]
        if call.timeout is not None:
            call.timer = self.loop.call_later(call.timeout, _expire, call.future)

    def send(
        self, header: dict[str, Any], body: bytes, max_body: int, timeout: float | None = None
    ) -> asyncio.Future[tuple[dict[str, Any], bytes]]:
        """Send one call; the future of its answer (``TimeoutError`` past ``timeout``)."""
        transport = self.protocol.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the worker's connection is closed")
        self.served += 1
        transport.write(encode(header, body))
        return self._expect(max_body, timeout)

    def answer(self, result: tuple[dict[str, Any], bytes] | BaseException) -> None:
        """The running call's answer arrived; the next queued call begins."""
        call = self.calls.popleft()
        if call.timer is not None:
            call.timer.cancel()
        if not call.future.done():
            if isinstance(result, BaseException):
                call.future.set_exception(result)
            else:
                call.future.set_result(result)
        if self.calls:
            self._begin()

    def ended(self, error: BaseException) -> None:
        """The connection ended: the running call failed, the ones behind it never began."""
        if not self.gone.done():
            self.gone.set_result(None)
        for index, call in enumerate(self.calls):
            if call.timer is not None:
                call.timer.cancel()
            if not call.future.done():
                began = index == 0 or self.poisoned
                call.future.set_exception(error if began else NotStarted())
        self.calls.clear()

    @property
    def busy(self) -> int:
        """Calls sent and not answered."""
        return len(self.calls)

    async def close(self) -> None:
        """Close the socket; the worker exits when it sees end of stream."""
        self.retired = True
        if self.protocol.transport is not None:
            self.protocol.transport.close()
        else:
            self.sock.close()

    async def ended_stream(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until the worker's end of the socket closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.gone), timeout)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Sandbox:
    """A running sandbox: generic until ``specialize``, then one app's zygote."""

    def __init__(
        self,
        process: SandboxProcess,
        slot: int,
        slot_dir: Path,
        group: SandboxGroup | None,
        on_output: Callable[[Sandbox, bytes], None],
        backend: SandboxBackend | None = None,
    ) -> None:
        self.process = process
        self.backend = backend  # the one that started it (None in tests that start by hand)
        self.slot = slot
        self.slot_dir = slot_dir
        self.group = group
        self.on_output = on_output
        self.loop = asyncio.get_running_loop()
        self.dead = False
        self.ended_by_oom = False
        self.started = time.monotonic()
        self.app_key: str | None = None
        self.functions: dict[str, list[str]] = {}
        self.workers: dict[int, Worker] = {}
        self._replies: dict[str, collections.deque[asyncio.Future[dict[str, Any]]]] = (
            collections.defaultdict(collections.deque)
        )
        # Spawns not announced yet: the future and the host's end of the worker's socket.
        self._spawns: dict[int, tuple[asyncio.Future[Worker], socket.socket]] = {}
        self._next_worker = 0
        self._died: list[Callable[[Sandbox], None]] = []
        process.control.setblocking(False)
        self.loop.add_reader(process.control.fileno(), self._on_control)
        self.loop.add_reader(process.output_fd, self._on_output)

    def on_death(self, callback: Callable[[Sandbox], None]) -> None:
        """Call ``callback`` once when the sandbox ends."""
        self._died.append(callback)

    def _on_output(self) -> None:
        try:
            data = self.process.popen.stdout.read1(OUTPUT_CHUNK)  # type: ignore[union-attr]
        except (OSError, ValueError):
            data = b""
        if not data:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.process.output_fd)
            return
        self.on_output(self, data)

    def _on_control(self) -> None:
        for _ in range(64):
            if self.dead:  # closed by a message handled just before
                return
            try:
                # CLOEXEC: a descriptor the zygote sends never leaks into processes we start.
                data, ancdata, flags, _addr = self.process.control.recvmsg(
                    MAX_CONTROL_MESSAGE, _FD_SPACE, socket.MSG_CMSG_CLOEXEC
                )
            except BlockingIOError:
                return
            except OSError:
                data, ancdata, flags = b"", [], 0
            fds = _received_fds(ancdata)
            try:
                if not data:
                    self._mark_dead()
                    return
                # Tenant import-time code runs in the zygote: its messages are untrusted.
                op = control_op(data)
                message = self._wanted(op, data, flags)
                if op is not None and message is not None:
                    self._dispatch(op, message, fds)  # takes the fd it adopts out of ``fds``
            finally:
                for fd in fds:
                    _close_fd(fd)

    def _wanted(self, op: str | None, data: bytes, flags: int) -> dict[str, Any] | None:
        """The message parsed if the platform is waiting for one like it; else None, before
        spending time on its JSON (a zygote may send anything, as often as it likes)."""
        cap = CONTROL_CAPS.get(op or "")
        if cap is None or flags & socket.MSG_TRUNC:
            return None
        if op == "worker":
            waiting = bool(self._spawns)
        elif op == "exited":
            waiting = bool(self.workers)
        else:
            waiting = any(not future.done() for future in self._replies.get(op or "", ()))
        if not waiting:
            return None
        if len(data) > cap:
            return {"op": op, "oversized": True}
        return control_message(data)

    def _dispatch(self, op: str, message: dict[str, Any], fds: list[int]) -> None:
        if op == "worker":
            self._adopt_worker(message, fds)
            return
        if op == "exited":
            report = exit_report(message)
            if report is not None:
                ended = self.workers.pop(report[0], None)
                if ended is not None and not ended.exit.done():
                    ended.exit.set_result(report[1])
            return
        queue = self._replies.get(op)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(message)
                return

    def _adopt_worker(self, message: dict[str, Any], fds: list[int]) -> None:
        # A descriptor sent with the announcement is ignored (and closed by the caller):
        # the worker's socket is the one the host made.
        announced = worker_announcement(message)
        pending = self._spawns.pop(announced[0], None) if announced is not None else None
        if announced is None or pending is None:
            return
        spawned, sock = pending
        if spawned.done():
            sock.close()
            return
        worker = Worker(announced[0], announced[1], sock)
        self.workers[worker.id] = worker
        spawned.set_result(worker)

    def _mark_dead(self) -> None:
        if self.dead:
            return
        self.dead = True
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.process.control.fileno())
        error = SandboxDied("the sandbox ended")
        for queue in self._replies.values():
            for future in queue:
                if not future.done():
                    future.set_exception(error)
        for spawn, sock in self._spawns.values():
            sock.close()
            if not spawn.done():
                spawn.set_exception(error)
        self._replies.clear()
        self._spawns.clear()
        for worker in self.workers.values():
            if not worker.exit.done():
                worker.exit.set_result({"op": "exited", "sandbox": True})
        for callback in self._died:
            callback(self)

    def _send(self, message: dict[str, Any], fd: int | None = None) -> None:
        if self.dead:
            raise SandboxDied("the sandbox has ended")
        data = json.dumps(message).encode()
        try:
            if fd is None:
                self.process.control.send(data)
            else:
                rights = array.array("i", [fd])
                self.process.control.sendmsg(
                    [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)]
                )
        except OSError as exc:
            self._mark_dead()
            raise SandboxDied(f"the sandbox stopped answering: {exc}") from exc

    async def request(self, message: dict[str, Any], reply: str, timeout: float) -> dict[str, Any]:
        """Send a control message and wait for the reply of type ``reply``."""
        future: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self._replies[reply].append(future)
        self._send(message)
        return await asyncio.wait_for(future, timeout)

    async def wait_ready(self, timeout: float) -> None:
        """Wait for the zygote's first message, then fence the sandbox into its cgroups."""
        future: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self._replies["ready"].append(future)
        await asyncio.wait_for(future, timeout)
        if self.group is not None and not self.process.fenced:
            # Only platform code has run so far: every process is ours to move.
            self.group.attach(descendants(self.process.pid))

    async def spawn(self, timeout: float) -> Worker:
        """Start a worker in the zygote on a socket the host made, and wait for its hello."""
        self._next_worker += 1
        worker_id = self._next_worker
        future: asyncio.Future[Worker] = self.loop.create_future()
        host_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._spawns[worker_id] = (future, host_end)
        try:
            self._send({"op": "spawn", "worker": worker_id}, worker_end.fileno())
        except BaseException:
            self._spawns.pop(worker_id, None)
            host_end.close()
            raise
        finally:
            worker_end.close()
        try:
            worker = await asyncio.wait_for(future, timeout)
        except BaseException:
            pending = self._spawns.pop(worker_id, None)
            if pending is not None:
                pending[1].close()
            raise
        try:
            await worker.connect(timeout)
        except BaseException:
            await worker.close()
            raise
        return worker

    async def kill_worker(self, worker: Worker, timeout: float = 2.0) -> None:
        """Kill a worker's whole process tree; the whole sandbox if the zygote does not obey.

        The socket is closed only after the worker is gone, so answers it sent before it died
        are still read (and calls queued behind them are told apart from the running one).
        """
        worker.retired = True
        if not self.dead:
            try:
                await self.request({"op": "kill", "pid": worker.pid}, "killed", timeout)
            except (TimeoutError, SandboxDied):
                self.close()
            await worker.ended_stream(timeout)
        await worker.close()

    def close(self) -> None:
        """Kill the sandbox and release everything it held (idempotent)."""
        if self.process.popen.returncode is None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.process.output_fd)
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.process.control.fileno())
            for worker in self.workers.values():
                worker.retired = True
                if worker.protocol.transport is not None:
                    worker.protocol.transport.close()
                else:
                    worker.sock.close()
            self.process.kill()
        self.process.release()
        if self.group is not None:
            # gVisor: an OOM kill takes the whole sandbox (all tenant memory is the sentry's):
            # remember it before the group goes, for the error of the call that died.
            self.ended_by_oom = self.ended_by_oom or self.group.oom_killed()
            _destroy_later(self.loop, self.group, 0)
            self.group = None
        self._mark_dead()
