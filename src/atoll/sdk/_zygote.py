"""The first process in every sandbox: waits generic, becomes one app's zygote, forks workers.

Started by the runtime as ``python -I -S _zygote.py [SECCOMP] FD`` with a SOCK_SEQPACKET
control socket on FD (0 under gVisor: the container's stdin). Messages are small JSON
objects with ``op`` as their first key (the platform reads it before the rest). Each
worker's socket is made by the host and comes in with ``spawn`` as SCM_RIGHTS: descriptors
only ever cross into the sandbox (gVisor cannot send one out).

    host -> {"op": "specialize", ...}   import the app's functions, apply limits
    host -> {"op": "spawn", "worker": N} + fd   a worker serves fd; reply {"op": "worker"}
    host -> {"op": "kill", "pid": P}     kill a worker and everything it started
    host -> {"op": "openapi"}            the app's OpenAPI document
    zygote -> {"op": "exited", "pid": P, ...} when a worker ends

The zygote is a child subreaper: a process orphaned by a worker is re-parented here and
killed, so nothing a request starts outlives the worker that started it.

With ``"spares": N`` in ``specialize`` the zygote keeps N workers forked ahead, each blocked
on a private socket until ``spawn`` hands it the host's socket (fork is slow under gVisor's
ptrace platform). A spare runs no request before it is handed out.
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
IDLE_BEFORE_REFILL = 0.02  # seconds without a message before a missing spare is forked
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
APP_DIR = "/app"
_libc = ctypes.CDLL(None, use_errno=True)


def _load_seccomp(path: str) -> None:
    """Install the platform's seccomp program (bytes of sock_filter) on this process."""

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    with open(path, "rb") as f:
        code = f.read()
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    program = _Program(len(code) // 8, code)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def _receive_fd(sock: socket.socket) -> tuple[bytes, int | None]:
    """One message and the first descriptor it carries (others are closed)."""
    fds = array.array("i")
    data, ancdata, _flags, _addr = sock.recvmsg(1 << 20, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    for extra in fds[1:]:
        os.close(extra)
    return data, (fds[0] if fds else None)


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
        self.spares: dict[int, socket.socket] = {}  # pid -> private socket, oldest first
        self.wanted_spares = 0
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

    def _fork_worker(self, sock: socket.socket | None) -> tuple[int, socket.socket | None]:
        """Fork a worker serving ``sock``; None: a spare that waits for its socket first.

        Returns the child's pid and, for a spare, the zygote's end of its private socket.
        """
        from ._worker import serve

        ours, theirs = (
            (None, None) if sock else socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        )
        # Keep the collector away from inherited objects so children share their pages.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            try:
                # A group of its own at once (a spare too, while it waits). Under gVisor the
                # zygote is the sandbox's init, so every worker's group counts as orphaned:
                # when a process in it exits while another is stopped (``kill_tree`` stops
                # first), the kernel sends SIGHUP to the group. Workers ignore it.
                os.setpgid(0, 0)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                self.ctrl.close()
                for spare in self.spares.values():
                    spare.close()
                _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
                if sock is None:
                    assert ours is not None and theirs is not None
                    ours.close()
                    _, fd = _receive_fd(theirs)  # blocks until handed out (or the zygote ends)
                    theirs.close()
                    if fd is None:
                        os._exit(0)
                    sock = socket.socket(fileno=fd)
                serve(sock, self.functions, self.settings)
            finally:
                os._exit(70)
        if theirs is not None:
            theirs.close()
        return pid, ours

    def spawn(self, worker_id: int, fd: int | None) -> None:
        """Serve the host's socket ``fd`` in a worker: a spare if one waits, else a new fork."""
        if fd is None:
            return  # only the platform sends spawn, always with a socket
        sock = socket.socket(fileno=fd)
        pid = None
        while self.spares and pid is None:
            spare_pid, private = self.spares.popitem()
            try:
                private.sendmsg(
                    [b"go"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
                )
                pid = spare_pid
            except OSError:  # the spare died: fork another way
                kill_tree(spare_pid)
            finally:
                private.close()
        if pid is None:
            pid, _ = self._fork_worker(sock)
        sock.close()
        self.workers[pid] = worker_id
        _send(self.ctrl, {"op": "worker", "worker": worker_id, "pid": pid})

    def refill(self, at_most: int | None = None) -> None:
        """Fork spares until ``wanted_spares`` wait (``at_most`` of them this time)."""
        forked = 0
        while len(self.spares) < self.wanted_spares and (at_most is None or forked < at_most):
            try:
                pid, private = self._fork_worker(None)
            except OSError:  # out of processes: serve spawns by fork on demand
                return
            assert private is not None
            self.spares[pid] = private
            forked += 1

    @property
    def short_of_spares(self) -> bool:
        """Whether a spare is missing (the loop forks it when no message is waiting)."""
        return len(self.spares) < self.wanted_spares

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
            spare = self.spares.pop(pid, None)
            if spare is not None:
                spare.close()
            if worker is not None:
                report: dict[str, Any] = {"op": "exited", "worker": worker, "pid": pid}
                if os.WIFSIGNALED(status):
                    report["signal"] = os.WTERMSIG(status)
                else:
                    report["code"] = os.WEXITSTATUS(status)
                _send(self.ctrl, report)
        me = os.getpid()
        for pid, parent in children().items():
            known = pid in self.workers or pid in self.helpers or pid in self.spares
            if parent == me and not known:
                kill_tree(pid)

    def handle(self, msg: dict[str, Any], fd: int | None = None) -> None:
        """Act on one control message (``fd``: the descriptor it carried, if any)."""
        op = msg.get("op")
        if op != "spawn" and fd is not None:
            os.close(fd)
        if op == "specialize":
            _send(self.ctrl, self.specialize(msg))
            self.wanted_spares = max(0, int(msg.get("spares", 0)))
            self.refill()
        elif op == "spawn":
            self.spawn(int(msg["worker"]), fd)  # the spare is forked again once idle
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
    if len(argv) > 2:
        _load_seccomp(argv[1])  # before anything else runs (gVisor: no filter from outside)
    fd = int(argv[-1])
    if fd == 0:
        # gVisor: the control socket is stdin. Move it off fd 0 and give stdin /dev/null,
        # so tenant code sees the same descriptors under both backends.
        fd = os.dup(0)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        argv[-1] = str(fd)  # where the control socket is now, as under bwrap
    ctrl = socket.socket(fileno=fd)
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    zygote = Zygote(ctrl)
    _send(ctrl, {"op": "ready", "pid": os.getpid()})
    while True:
        # A spare is forked again only after IDLE_BEFORE_REFILL with no message: a fork
        # (30-45 ms under gVisor's ptrace) must not compete with the worker just handed out.
        short = zygote.short_of_spares
        readable, _, _ = select.select([ctrl], [], [], IDLE_BEFORE_REFILL if short else 0.25)
        if not readable and short:
            zygote.refill(at_most=1)
        if readable:
            data, passed = _receive_fd(ctrl)
            if not data:
                for pid in list(zygote.workers) + list(zygote.helpers) + list(zygote.spares):
                    kill_tree(pid)
                os._exit(0)
            zygote.handle(json.loads(data), passed)
        zygote.reap()
