"""A worker inside the sandbox: serves invocations one at a time over its own socket."""

from __future__ import annotations

import errno
import inspect
import io
import os
import resource
import signal
import socket
import sys
import time
import traceback
from types import ModuleType
from typing import Any

from . import db
from ._binding import BadParameter, Param, bind, describe
from ._encode import to_json_bytes
from ._http import Request, Response
from ._log import log
from ._procs import has_children, kill_tree, reap_all
from ._protocol import MAX_HEADER_BYTES, PREFIX, MessageReader, encode

METHODS = ("get", "post", "put", "patch", "delete")
MAX_CAPTURE_CHARS = 64 * 1024
SHORT_CAPTURE_CHARS = 8 * 1024  # what is left of output that would not fit in one frame
MAX_POLL_US = 10_000
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})  # never awaitable


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def value(self) -> str:
        """What was kept."""
        return "".join(self.parts)


class FunctionSet:
    """The app's imported function modules, or the error each failed to import with."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleType] = {}
        self.errors: dict[str, dict[str, str]] = {}
        self._params: dict[tuple[str, str], list[Param]] = {}

    def params(self, name: str, method: str, handler: Any) -> list[Param]:
        """The parameter plan of a handler, computed once."""
        key = (name, method)
        if key not in self._params:
            self._params[key] = describe(handler)
        return self._params[key]


def _error(status: int, code: str, text: str, **detail: Any) -> tuple[dict[str, Any], bytes]:
    return {"status": status, "error": {"code": code, "message": text, "detail": detail}}, b""


def _exception(exc: BaseException, with_traceback: bool) -> dict[str, Any]:
    detail = {"exception": type(exc).__name__}
    if with_traceback:
        detail["traceback"] = "".join(traceback.format_exception(exc))[-8000:]
    return detail


def invoke(
    functions: FunctionSet, header: dict[str, Any], body: bytes, with_traceback: bool
) -> tuple[dict[str, Any], bytes]:
    """Run one invocation; a response header (status, headers or error) and body."""
    name = str(header.get("function", ""))
    method = str(header.get("method", "GET")).lower()
    if name in functions.errors:
        err = dict(functions.errors[name])
        text = err.pop("message", "")
        return _error(
            500, "tenant_code_error", f"function {name!r} failed to import: {text}", **err
        )
    module = functions.modules.get(name)
    if module is None:
        return _error(404, "not_found", f"no function named {name!r}")
    lookup = "get" if method == "head" else method  # HEAD runs GET; the server drops the body
    handler = getattr(module, lookup, None) if lookup in METHODS else None
    if not callable(handler):
        allowed = [m.upper() for m in METHODS if callable(getattr(module, m, None))]
        return _error(
            404, "not_found", f"function {name!r} has no {method.upper()} handler", allowed=allowed
        )
    request = Request(
        method.upper(),
        str(header.get("path", "")),
        [tuple(kv) for kv in header.get("query", [])],
        [tuple(kv) for kv in header.get("headers", [])],
        body,
        str(header.get("id", "")),
    )
    try:
        kwargs = bind(functions.params(name, lookup, handler), request)
    except BadParameter as exc:
        return _error(
            422, "validation_failed", str(exc), parameter=exc.parameter, location=exc.location
        )
    try:
        result = handler(**kwargs)
        if type(result) not in _PLAIN and inspect.isawaitable(result):
            import asyncio

            result = asyncio.run(_await(result))
        if isinstance(result, Response):
            return {"status": result.status, "headers": result.headers}, result.body
        return {"status": 200, "headers": {"content-type": "application/json"}}, to_json_bytes(
            result
        )
    except BaseException as exc:  # tenant code may raise anything, even SystemExit
        return _failure(exc, with_traceback)


LIMIT_ERRNOS = {
    errno.ENOSPC: "tmp_mb",
    errno.EDQUOT: "tmp_mb",
    errno.EFBIG: "file_size_mb",
    errno.EMFILE: "open_files",
    errno.ENFILE: "open_files",
}


def _failure(exc: BaseException, with_traceback: bool) -> tuple[dict[str, Any], bytes]:
    """The response for an exception out of tenant code; resource limits are 507."""
    text = f"{type(exc).__name__}: {str(exc)[:2000]}"
    detail = _exception(exc, with_traceback)
    if isinstance(exc, MemoryError):
        return _error(
            507, "resource_limit", "the function ran out of memory", limit="memory_mb", **detail
        )
    if isinstance(exc, OSError) and exc.errno in LIMIT_ERRNOS:
        return _error(
            507,
            "resource_limit",
            f"the function hit a limit: {text}",
            limit=LIMIT_ERRNOS[exc.errno],
            **detail,
        )
    if isinstance(exc, BlockingIOError) and "fork" in "".join(
        traceback.format_tb(exc.__traceback__)
    ):
        return _error(
            507,
            "resource_limit",
            f"the function hit the process limit: {text}",
            limit="processes",
            **detail,
        )
    return _error(500, "tenant_code_error", text, **detail)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _drain_fd(fd: int, into: CappedText) -> None:
    """Move what was written to a memory-file stdout/stderr into ``into``; reset the file."""
    try:
        size = os.fstat(fd).st_size
        if not size:
            return
        data = os.pread(fd, MAX_CAPTURE_CHARS, 0)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        return
    into.write(data.decode(errors="replace"))
    into.dropped += size - len(data)


def _frame(reply: dict[str, Any], body: bytes) -> bytes:
    """The framed answer, its captured output shortened if the header would be over the
    platform's cap (escaped output can take six bytes a character)."""
    frame = encode(reply, body)
    if len(frame) - PREFIX.size - len(body) <= MAX_HEADER_BYTES:
        return frame
    reply["dropped_logs"] = reply.get("dropped_logs", 0) + len(reply.pop("logs", []))
    for key in ("stdout", "stderr"):
        if key in reply:
            kept = reply[key][:SHORT_CAPTURE_CHARS]
            reply["dropped_chars"] = reply.get("dropped_chars", 0) + len(reply[key]) - len(kept)
            reply[key] = kept
    frame = encode(reply, body)
    if len(frame) - PREFIX.size - len(body) <= MAX_HEADER_BYTES:
        return frame
    answer, _ = _error(500, "tenant_code_error", "the response headers are too large")
    return encode({**answer, "op": "result", "elapsed": reply.get("elapsed", 0.0)})


def serve(sock: socket.socket, functions: FunctionSet, settings: dict[str, Any]) -> None:
    """The worker loop; never returns."""
    os.setpgid(0, 0)
    if "random" in sys.modules:
        sys.modules["random"].seed()  # never share the zygote's PRNG state between workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG
    cpu = int(settings.get("worker_cpu_seconds", 0))
    # RLIMIT_CPU counts a process's whole life: the hard limit is the worker's lifetime
    # budget, the soft limit (SIGXCPU) is moved to "now + cpu" before every request, and
    # the worker retires before the budget could cut a request short.
    hard = int(_cpu_used()) + cpu * 20 + 1 if cpu else 0
    traceback_ok = bool(settings.get("traceback"))
    max_body = int(settings.get("max_body_bytes", 32 << 20))
    me = os.getpid()
    # File-level output (subprocesses, C code, os.write) goes to per-worker memory files
    # that are read after each request: it is kept with the request, and RLIMIT_FSIZE caps it.
    for fd, name in ((1, "stdout"), (2, "stderr")):
        memfd = os.memfd_create(f"atoll-{name}")
        os.dup2(memfd, fd)
        os.close(memfd)
    sock.sendall(encode({"op": "hello", "pid": me}))
    real_out, real_err = sys.stdout, sys.stderr
    reader = MessageReader(sock, max_body)
    while True:
        message = reader.read()
        if message is None or message[0].get("op") == "exit":
            os._exit(0)
        header, body = message
        # The platform asks for short polls when it has CPUs to spare: after the answer (the
        # next call then finds this worker awake) and for database answers during the call.
        poll_us = header.get("poll_us", 0)
        if not isinstance(poll_us, int) or not 0 < poll_us <= MAX_POLL_US:
            poll_us = 0
        db.poll_s = poll_us / 1e6
        if cpu:
            soft = min(int(_cpu_used()) + cpu + 1, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        out, err = CappedText(MAX_CAPTURE_CHARS), CappedText(MAX_CAPTURE_CHARS)
        sys.stdout, sys.stderr = out, err
        log.begin()
        began = time.perf_counter()
        try:
            reply, reply_body = invoke(functions, header, body, traceback_ok)
        finally:
            if os.getpid() != me:
                os._exit(0)  # a process the function forked returned here: never answer
            sys.stdout, sys.stderr = real_out, real_err
            records, dropped = log.end()
        if len(reply_body) > max_body:
            reply, reply_body = _error(
                507, "resource_limit", "the response body is too large", limit="response_bytes"
            )
        reply["op"] = "result"
        reply["elapsed"] = time.perf_counter() - began  # how long the call ran, for scheduling
        _drain_fd(1, out)
        _drain_fd(2, err)
        retire = bool(cpu) and _cpu_used() + cpu + 1 > hard
        for key, value in (
            ("stdout", out.value()),
            ("stderr", err.value()),
            ("retire", retire),
            ("dropped_chars", out.dropped + err.dropped),
            ("logs", records),
            ("dropped_logs", dropped),
        ):
            if value:
                reply[key] = value
        sock.sendall(_frame(reply, reply_body))
        if poll_us:
            reader.poll_s = poll_us / 1e6
        if retire:
            os._exit(0)
        if has_children():
            # Nothing a request starts outlives it (we are a subreaper: orphans come here).
            # Done after answering, but always before reading the next request.
            kill_tree(me, include_root=False)
            reap_all()
