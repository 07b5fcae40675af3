"""gVisor sandboxes: ``runsc run`` on a generated OCI bundle, and probing its platforms.

Each sandbox is one container in this runtime's private state root
(``<runtime_dir>/runsc-state``, 0700: never mounted anywhere). Its bundle's root is an
empty, read-only skeleton (usr-merge symlinks and mount points) plus read-only bind mounts
of exactly what the bwrap backend mounts, with sized tmpfs ``/tmp`` and ``/dev/shm``. No
network, uid 1000 inside, no capabilities, ``noNewPrivileges``.

How the channels cross the boundary (this runsc has no ``--preserve-fds``):

- the zygote's SOCK_SEQPACKET control socket is the container's stdin (fd 0);
- each worker's stream socket is made by the host and sent in with ``spawn`` (SCM_RIGHTS
  into a gVisor sandbox works; out of it, ``sendmsg`` fails with EINVAL);
- the database and egress proxies are host unix sockets in the slot's ``run/`` folder,
  mounted at ``/run/atoll``, reached with ``--host-uds=open``.

The runsc process runs as root, attached, and dies with this process's event-loop thread
(``PR_SET_PDEATHSIG``). Its sentry runs as host uid 65534 in namespaces of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from atoll.errors import Unavailable

from . import seccomp
from .sandbox import (
    ETC_FILES,
    SAFE_ENV,
    SANDBOX_UID,
    Mount,
    SandboxBackend,
    SandboxProcess,
    SandboxSpec,
    zygote_args,
)

MiB = 1 << 20
# Fastest first. kvm needs working hardware virtualisation; systrap came in 2023 builds.
PLATFORMS = ("kvm", "systrap", "ptrace")
SECCOMP_FILE = "/opt/atoll/seccomp.bpf"
# Host memory of one sandbox beyond what tenant code holds: the sentry, gofer and stubs.
SENTRY_BYTES = 80 * MiB
# An idle sandbox is ~61 host threads (Go); a fork bomb at the process limit measured ~12
# more per sandboxed process (ptrace stubs and sentry threads).
BASE_HOST_TASKS = 128
TASKS_PER_PROCESS = 16
PROBE_SECONDS = 10.0
DELETE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1
_BIND = ["rbind", "ro", "nosuid", "nodev"]


def _bind(source: Path | str, target: str) -> dict[str, Any]:
    return {"destination": target, "type": "bind", "source": str(source), "options": _BIND}


def host_mounts() -> list[Mount]:
    """The host paths every sandbox sees read-only: /usr and a few files under /etc."""
    mounts = [Mount(Path("/usr"), "/usr")]
    mounts += [Mount(Path(path), path) for path in ETC_FILES if os.path.exists(path)]
    return mounts


def oci_config(spec: SandboxSpec, rootfs: Path, seccomp_file: Path | None) -> dict[str, Any]:
    """The bundle's config.json for ``spec`` (pure; tests call it directly)."""
    binds = [*host_mounts(), *spec.mounts]
    if seccomp_file is not None:
        binds.append(Mount(seccomp_file, SECCOMP_FILE))
    tmpfs = ["nosuid", "nodev", "mode=1777"]
    config: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": SANDBOX_UID, "gid": SANDBOX_UID},
            "args": [
                spec.python,
                *zygote_args(0, SECCOMP_FILE if seccomp_file is not None else None),
                *spec.argv_tail,
            ],
            "env": [f"{key}={value}" for key, value in SAFE_ENV.items()],
            "cwd": "/tmp",
            "capabilities": {
                kind: []
                for kind in ("bounding", "effective", "inheritable", "permitted", "ambient")
            },
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "sandbox",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "mode=755"],
            },
            {
                "destination": "/tmp",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": [*tmpfs, f"size={spec.tmp_bytes}"],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": [*tmpfs, "noexec", f"size={spec.shm_size}"],
            },
            *(_bind(mount.source, mount.target) for mount in binds),
        ],
        "linux": {
            "namespaces": [{"type": kind} for kind in ("pid", "network", "ipc", "uts", "mount")],
        },
    }
    if spec.cgroup is not None:
        config["linux"]["cgroupsPath"] = spec.cgroup
    return config


def make_skeleton(rootfs: Path, mounts: list[Mount]) -> None:
    """Mount points for ``mounts`` in the read-only skeleton root (idempotent)."""
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}") and not (rootfs / link).is_symlink():
            os.symlink(os.readlink(f"/{link}"), rootfs / link)
    for folder in ("proc", "dev", "tmp", "sys"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    for mount in mounts:
        point = rootfs / mount.target.lstrip("/")
        if point.exists() or point.is_symlink():
            continue
        point.parent.mkdir(parents=True, exist_ok=True)
        if mount.source.is_dir():
            point.mkdir()
        else:
            point.touch()
    for path in [rootfs, *rootfs.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class RunscBackend(SandboxBackend):
    """gVisor: tenant code runs on a user-space kernel, behind the same mounts as bwrap."""

    name = "runsc"
    # fork() of a zygote costs 30-45 ms under ptrace: keep one worker forked ahead.
    spare_workers = 1
    joins_cgroup = True
    _ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def __init__(self, executable: str | None = None, platform: str = "ptrace") -> None:
        self.executable = executable or shutil.which("runsc") or "/usr/bin/runsc"
        self.platform = platform
        self.root: Path | None = None
        self._deleting: set[threading.Thread] = set()

    @classmethod
    def available(cls) -> bool:
        return shutil.which("runsc") is not None

    def describe(self) -> str:
        return f"runsc (gVisor, platform {self.platform})"

    def cgroup_limits(self, memory_bytes: int, processes: int) -> tuple[int, int]:
        # pids.max counts the sentry's and gofer's host threads, not sandboxed processes:
        # the process limit itself is RLIMIT_NPROC, enforced inside by the sentry.
        return memory_bytes + SENTRY_BYTES, BASE_HOST_TASKS + TASKS_PER_PROCESS * processes

    # -- host folders -------------------------------------------------------------------

    @property
    def state(self) -> Path:
        """runsc's state root for this runtime."""
        return self._root() / "runsc-state"

    @property
    def rootfs(self) -> Path:
        """The read-only skeleton every bundle's root is."""
        return self._root() / "runsc-rootfs"

    def _root(self) -> Path:
        if self.root is None:
            raise Unavailable("the runsc backend was not prepared")
        return self.root

    def prepare(self, root: Path) -> None:
        """State root (0700), bundles folder, skeleton root and the seccomp program."""
        self.root = root
        for folder in (self.state, root / "runsc-bundles"):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        self.rootfs.mkdir(mode=0o755, exist_ok=True)
        program = root / "runsc-seccomp.bpf"
        program.write_bytes(seccomp.build_filter())
        os.chmod(program, 0o644)
        self.clean_all()

    def global_flags(self) -> list[str]:
        """Flags before the subcommand of every runsc call."""
        return [
            self.executable,
            f"--root={self.state}",
            "--network=none",
            "--host-uds=open",
            f"--platform={self.platform}",
        ]

    # -- sandboxes ----------------------------------------------------------------------

    def start(self, spec: SandboxSpec) -> SandboxProcess:
        """Write the bundle and start ``runsc run`` with the control socket as stdin."""
        root = self._root()
        container = f"{spec.name}-{next(self._ids)}-{os.getpid()}"
        bundle = root / "runsc-bundles" / container
        seccomp_file = root / "runsc-seccomp.bpf"
        config = oci_config(spec, self.rootfs, seccomp_file)
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            make_skeleton(
                self.rootfs, [*host_mounts(), *spec.mounts, Mount(seccomp_file, SECCOMP_FILE)]
            )
            bundle.mkdir(mode=0o700)
            (bundle / "config.json").write_text(json.dumps(config))
            # Started from the event-loop thread: PDEATHSIG fires when that thread ends.
            popen = subprocess.Popen(
                [*self.global_flags(), "run", "--bundle", str(bundle), container],
                stdin=child_end.fileno(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(SAFE_ENV),
                cwd="/",
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only prctl runs in the child
            )
        except OSError as exc:
            host_end.close()
            shutil.rmtree(bundle, ignore_errors=True)
            raise Unavailable(f"could not start a runsc sandbox: {exc}") from exc
        finally:
            child_end.close()
        return SandboxProcess(
            popen,
            host_end,
            fenced=spec.cgroup is not None,
            cleanup=lambda: self.delete_later(container),
            container=container,
        )

    def delete_later(self, container: str) -> None:
        """``delete`` in a thread: it can take a second or two while runsc waits for the
        sentry and gofer to exit, too long for the event loop (``finish`` waits for it)."""
        thread = threading.Thread(target=self._delete_and_forget, args=(container,), daemon=True)
        self._deleting.add(thread)
        thread.start()

    def _delete_and_forget(self, container: str) -> None:
        try:
            self.delete(container)
        finally:
            self._deleting.discard(threading.current_thread())

    def finish(self) -> None:
        """Wait for containers being deleted (at shutdown)."""
        for thread in list(self._deleting):
            thread.join(DELETE_SECONDS + 5)

    def delete(self, container: str) -> None:
        """Remove a container's state, cgroups and bundle (it may be gone already)."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [*self.global_flags(), "delete", "--force", container],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=DELETE_SECONDS,
                check=False,
            )
        for leftover in self.state.glob(f"*{container}*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        shutil.rmtree(self._root() / "runsc-bundles" / container, ignore_errors=True)

    def containers(self) -> list[str]:
        """Container ids runsc lists in this runtime's state root."""
        try:
            result = subprocess.run(
                [*self.global_flags(), "list", "-quiet"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=DELETE_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [line for line in result.stdout.decode(errors="replace").split() if line]

    def clean_all(self) -> None:
        """Delete every container left in the state root (a runtime that died, a probe)."""
        for container in self.containers():
            self.delete(container)
        # A sandbox killed while it booted leaves only a lock file runsc does not list.
        for stale in self.state.glob("*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        for bundle in (self._root() / "runsc-bundles").glob("*"):
            shutil.rmtree(bundle, ignore_errors=True)


def probe(
    executable: str, platform: str, folder: Path, timeout: float = PROBE_SECONDS
) -> str | None:
    """Run ``/usr/bin/true`` in a throw-away sandbox on ``platform``; None when it worked,
    else why not. kvm can hang at boot (no hardware virtualisation under a VM): the
    probe is killed after ``timeout`` seconds."""
    backend = RunscBackend(executable, platform)
    backend.root = folder
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in (backend.state, folder / "runsc-bundles", backend.rootfs):
        sub.mkdir(mode=0o700, exist_ok=True)
    os.chmod(backend.rootfs, 0o755)
    spec = SandboxSpec(
        name=f"probe-{platform}", host_uid=0, python="/usr/bin/true", mounts=(), tmp_bytes=MiB
    )
    config = oci_config(spec, backend.rootfs, None)
    config["process"]["args"] = ["/usr/bin/true"]
    container = f"probe-{platform}-{os.getpid()}-{time.monotonic_ns()}"
    bundle = folder / "runsc-bundles" / container
    make_skeleton(backend.rootfs, host_mounts())
    bundle.mkdir(mode=0o700)
    (bundle / "config.json").write_text(json.dumps(config))
    try:
        result = subprocess.run(
            [*backend.global_flags(), "run", "--bundle", str(bundle), container],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # a hung probe never outlives the server
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        return str(exc)
    finally:
        backend.delete(container)
    if result.returncode != 0:
        text = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        return f"exit {result.returncode}: {text[-1][:200] if text else 'no output'}"
    return None
