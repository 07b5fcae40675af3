"""Sandbox backends: start one isolated process tree running the in-sandbox zygote.

``SandboxBackend`` is the extension point; ``BwrapBackend`` (namespaces + seccomp) is the
default tier and ``RunscBackend`` (gVisor, in ``gvisor.py``) the stronger one. A backend is
given a ``SandboxSpec`` (plain values) and returns a ``SandboxProcess`` whose control socket
talks to the zygote.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from atoll.errors import Unavailable

from . import seccomp

SANDBOX_UID = 1000
SDK_DIR = "/opt/atoll/lib"
BASE_DIR = "/opt/atoll/base"
LAYERS_DIR = "/opt/atoll/layers"
APP_DIR = "/app"
RUN_DIR = "/run/atoll"
ETC_FILES = ("/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/mime.types")
SAFE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONHASHSEED": "random"}


@dataclasses.dataclass(frozen=True)
class Mount:
    """A host folder or file mounted read-only at ``target`` inside the sandbox."""

    source: Path
    target: str


@dataclasses.dataclass(frozen=True)
class SandboxSpec:
    """Everything a backend needs to start one sandbox."""

    name: str
    host_uid: int
    python: str
    mounts: tuple[Mount, ...]
    tmp_bytes: int
    shm_bytes: int | None = None  # size of /dev/shm; None: the same as /tmp
    argv_tail: tuple[str, ...] = ()
    # The sandbox's cgroup as an OCI ``cgroupsPath`` (backends that join it themselves).
    cgroup: str | None = None

    @property
    def shm_size(self) -> int:
        """The size of the sandbox's /dev/shm."""
        return self.tmp_bytes if self.shm_bytes is None else self.shm_bytes

    @property
    def tmpfs_bytes(self) -> int:
        """RAM the sandbox's writable tmpfs mounts (/tmp and /dev/shm) may hold together."""
        return self.tmp_bytes + self.shm_size


class SandboxProcess:
    """A running sandbox: its host process, the control socket and its output pipe."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        control: socket.socket,
        fenced: bool = False,
        cleanup: Callable[[], None] | None = None,
        container: str | None = None,
    ) -> None:
        self.popen = popen
        self.container = container  # the backend's name for it (runsc's container id)
        self.control = control
        self.pid = popen.pid
        # True when the backend put the sandbox in its cgroup itself (the platform must
        # not move the process tree it sees from the host).
        self.fenced = fenced
        self._cleanup = cleanup

    @property
    def output_fd(self) -> int:
        """The read end of the sandbox's stdout+stderr."""
        assert self.popen.stdout is not None
        return self.popen.stdout.fileno()

    def kill(self) -> None:
        """Kill the sandbox (its pid namespace dies with it) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGKILL)  # not once reaped: its pid may be reused
        self.popen.wait()
        self.close()
        self.release()

    def release(self) -> None:
        """Remove what the backend left on the host for this sandbox (once; after it ended)."""
        if self._cleanup is not None:
            cleanup, self._cleanup = self._cleanup, None
            cleanup()

    def close(self) -> None:
        """Release the host-side file descriptors."""
        self.control.close()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class SandboxBackend(abc.ABC):
    """Starts sandboxes; subclasses decide how isolation is done."""

    name: ClassVar[str]
    # Workers the zygote keeps forked ahead of ``spawn`` (where fork is slow).
    spare_workers: ClassVar[int] = 0
    # Whether the backend puts the sandbox into ``spec.cgroup`` itself.
    joins_cgroup: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def available(cls) -> bool:
        """Whether this backend can run on this host."""

    @abc.abstractmethod
    def start(self, spec: SandboxSpec) -> SandboxProcess:
        """Start a sandbox running the zygote, with a control socket to it."""

    def prepare(self, root: Path) -> None:  # noqa: B027 (most backends keep nothing)
        """Set up what the backend keeps under the runtime folder ``root`` (blocking)."""

    def describe(self) -> str:
        """One line for the start-up report."""
        return self.name

    def finish(self) -> None:  # noqa: B027 (most backends leave nothing behind)
        """Wait for clean-ups still running (blocking; at shutdown)."""

    def cgroup_limits(self, memory_bytes: int, processes: int) -> tuple[int, int]:
        """The host memory and pids limits for a sandbox allowed this much and this many."""
        return memory_bytes, processes


class BwrapBackend(SandboxBackend):
    """bubblewrap: user, pid, net, ipc, uts, mount namespaces + seccomp, as an unprivileged uid."""

    name = "bwrap"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("bwrap") or "/usr/bin/bwrap"

    @classmethod
    def available(cls) -> bool:
        return shutil.which("bwrap") is not None and seccomp.supported()

    def start(self, spec: SandboxSpec) -> SandboxProcess:
        """Start a sandbox as ``spec.host_uid`` with a control socket on an inherited fd."""
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        filter_read, filter_write = os.pipe()
        try:
            os.write(filter_write, seccomp.build_filter())
            os.close(filter_write)
            argv = self.command(spec, child_end.fileno(), filter_read)
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(child_end.fileno(), filter_read),
                user=spec.host_uid,
                group=spec.host_uid,
                extra_groups=[],
                env=dict(SAFE_ENV),
                cwd="/",
                start_new_session=True,
            )
        except OSError as exc:
            host_end.close()
            raise Unavailable(f"could not start a {self.name} sandbox: {exc}") from exc
        finally:
            child_end.close()
            os.close(filter_read)
        return SandboxProcess(popen, host_end)

    def command(self, spec: SandboxSpec, control_fd: int, seccomp_fd: int) -> list[str]:
        argv = [
            self.executable,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--hostname",
            "sandbox",
            "--clearenv",
        ]
        for key, value in SAFE_ENV.items():
            argv += ["--setenv", key, value]
        argv += ["--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib64", "sbin"):
            target = os.readlink(f"/{link}") if os.path.islink(f"/{link}") else None
            if target is not None:
                argv += ["--symlink", target, f"/{link}"]
            elif os.path.isdir(f"/{link}"):
                argv += ["--ro-bind", f"/{link}", f"/{link}"]
        for path in ETC_FILES:
            if os.path.exists(path):
                argv += ["--ro-bind", path, path]
        argv += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # bwrap's /dev and its /dev/shm folder are one unbounded tmpfs writable by the
            # sandbox uid: /dev/shm gets a sized tmpfs of its own, then /dev goes read-only
            # (device nodes are mounts of their own and keep working).
            "--size",
            str(spec.shm_size),
            "--perms",
            "1777",
            "--tmpfs",
            "/dev/shm",
            "--remount-ro",
            "/dev",
            "--size",
            str(spec.tmp_bytes),
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
        ]
        for mount in spec.mounts:
            argv += ["--ro-bind", str(mount.source), mount.target]
        argv += ["--remount-ro", "/", "--seccomp", str(seccomp_fd), "--chdir", "/tmp", "--"]
        argv += [spec.python, *zygote_args(control_fd), *spec.argv_tail]
        return argv


def zygote_args(control_fd: int, seccomp_file: str | None = None) -> list[str]:
    """Interpreter arguments that run the in-sandbox zygote on ``control_fd``.

    With ``seccomp_file`` the zygote loads that BPF program itself before anything else
    (gVisor: the filter bwrap installs from outside has no meaning there).
    """
    code = (
        f"import sys; sys.path[:0] = [{SDK_DIR!r}, {BASE_DIR!r}]; "
        "from atoll._zygote import main; main(sys.argv)"
    )
    first = [seccomp_file] if seccomp_file is not None else []
    return ["-I", "-S", "-B", "-c", code, *first, str(control_fd)]
