"""The first process in every sandbox: waits generic, becomes one app's zygote, forks workers.

Started by the runtime as ``python -I -S _zygote.py FD`` with a SOCK_SEQPACKET control
socket on FD. Messages are small JSON objects with ``op`` as their first key (the platform
reads it before the rest); worker sockets travel back as SCM_RIGHTS.

    host -> {"op": "specialize", ...}   import the app's functions, apply limits
    host -> {"op": "spawn", "worker": N} fork a worker; reply carries its socket
    host -> {"op": "kill", "pid": P}     kill a worker and everything it started
    host -> {"op": "openapi"}            the app's OpenAPI document
    zygote -> {"op": "exited", "pid": P, ...} when a worker ends

The zygote is a child subreaper: a process orphaned by a worker is re-parented here and
killed, so nothing a request starts outlives the worker that started it.
"""

from __future__ import annotations

import array
import ctypes
import gc
import importlib.util
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
import types
from typing import Any

from ._procs import children, kill_tree

PR_SET_CHILD_SUBREAPER = 36
APP_DIR = "/app"
_libc = ctypes.CDLL(None, use_errno=True)


def _send(ctrl: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message, default=str).encode()
    if fds:
        ctrl.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        ctrl.send(data)


class Zygote:
    """The sandbox's control loop."""

    def __init__(self, ctrl: socket.socket) -> None:
        self.ctrl = ctrl
        self.workers: dict[int, int] = {}  # pid -> host worker id
        self.helpers: set[int] = set()
        self.settings: dict[str, Any] = {}
        from ._worker import FunctionSet

        self.functions = FunctionSet()

    def specialize(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Become the zygote of one app: environment, limits, imports."""
        from . import _egress

        sdk = sys.modules[__name__.rpartition(".")[0]]  # ``atoll`` inside the sandbox
        self.settings = msg
        egress = bool(msg.get("egress"))
        env = str(msg.get("env", ""))
        given = msg.get("vars")
        values = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
        sdk.env = env  # type: ignore[attr-defined]
        sdk.vars = types.MappingProxyType(values)  # type: ignore[attr-defined]
        # The environment's vars become the process environment too (before any tenant
        # module is imported); the platform's own names are set after them and win.
        os.environ.clear()
        os.environ.update(values)
        os.environ.update({"HOME": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        os.environ["ATOLL_ENV"] = env
        if egress:
            self.helpers.add(_egress.start_forwarder())
            os.environ.update(_egress.proxy_environment())
        _egress.install_guard(egress)
        limits = msg.get("rlimits", {})
        for name, value in limits.items():
            which = getattr(resource, name)
            resource.setrlimit(which, (int(value), int(value)))
        for path in reversed(msg.get("paths", [])):
            sys.path.insert(0, path)
        sys.path.insert(0, APP_DIR)
        os.chdir(APP_DIR)
        functions_dir = os.path.join(APP_DIR, "functions")
        names = sorted(os.listdir(functions_dir)) if os.path.isdir(functions_dir) else []
        for filename in names:
            if not filename.endswith(".py") or filename.startswith("_"):
                continue
            name = filename[:-3]
            self._import(name, os.path.join(functions_dir, filename), bool(msg.get("traceback")))
        methods = {
            name: [
                m
                for m in ("get", "post", "put", "patch", "delete")
                if callable(getattr(mod, m, None))
            ]
            for name, mod in self.functions.modules.items()
        }
        return {"op": "specialized", "functions": methods, "errors": self.functions.errors}

    def _import(self, name: str, path: str, with_traceback: bool) -> None:
        module_name = f"atoll_functions.{name}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            self.functions.modules[name] = module
        except BaseException as exc:  # tenant import-time code may raise anything
            sys.modules.pop(module_name, None)
            err = {"exception": type(exc).__name__, "message": str(exc)[:2000]}
            if with_traceback:
                err["traceback"] = "".join(traceback.format_exception(exc))[-8000:]
            self.functions.errors[name] = err

    def spawn(self, worker_id: int) -> None:
        """Fork a worker and hand its socket to the host."""
        from ._worker import serve

        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # Keep the collector away from inherited objects so children share their pages.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            try:
                self.ctrl.close()
                host_end.close()
                _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
                serve(child_end, self.functions, self.settings)
            finally:
                os._exit(70)
        child_end.close()
        self.workers[pid] = worker_id
        _send(self.ctrl, {"op": "worker", "worker": worker_id, "pid": pid}, [host_end.fileno()])
        host_end.close()

    def reap(self) -> None:
        """Collect ended children, report workers, kill orphans re-parented to us."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            worker = self.workers.pop(pid, None)
            self.helpers.discard(pid)
            if worker is not None:
                report: dict[str, Any] = {"op": "exited", "worker": worker, "pid": pid}
                if os.WIFSIGNALED(status):
                    report["signal"] = os.WTERMSIG(status)
                else:
                    report["code"] = os.WEXITSTATUS(status)
                _send(self.ctrl, report)
        me = os.getpid()
        for pid, parent in children().items():
            if parent == me and pid not in self.workers and pid not in self.helpers:
                kill_tree(pid)

    def handle(self, msg: dict[str, Any]) -> None:
        """Act on one control message."""
        op = msg.get("op")
        if op == "specialize":
            _send(self.ctrl, self.specialize(msg))
        elif op == "spawn":
            self.spawn(int(msg["worker"]))
        elif op == "kill":
            pid = int(msg["pid"])
            if pid in self.workers:
                kill_tree(pid)
            _send(self.ctrl, {"op": "killed", "pid": pid})
        elif op == "openapi":
            from ._openapi import document

            doc = document(self.functions.modules, str(msg.get("title", "functions")))
            _send(self.ctrl, {"op": "openapi", "document": doc})
        elif op == "ping":
            _send(self.ctrl, {"op": "pong", "ts": time.time()})


def main(argv: list[str]) -> None:
    """Entry point inside the sandbox."""
    ctrl = socket.socket(fileno=int(argv[1]))
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    zygote = Zygote(ctrl)
    _send(ctrl, {"op": "ready", "pid": os.getpid()})
    while True:
        readable, _, _ = select.select([ctrl], [], [], 0.25)
        if readable:
            data = ctrl.recv(1 << 20)
            if not data:
                for pid in list(zygote.workers) + list(zygote.helpers):
                    kill_tree(pid)
                os._exit(0)
            zygote.handle(json.loads(data))
        zygote.reap()
