"""Memory, pids and cpu limits per sandbox, in cgroup v2 or the v1 hierarchies.

``detect`` picks the version the host uses: v2 when the cgroup root is a unified mount, v1
otherwise (hybrid hosts too: their controllers sit in the v1 hierarchies). ``enable``
prepares this runtime's parent group; ``available`` lists the controllers it got,
``missing`` the required ones it did not, and ``problem`` says why. The runtime refuses to
start sandboxes while memory or pids is missing unless the operator opted out.

    v1: <root>/<controller>/atoll-<pid>-<uid>/<sandbox>       (memory, pids, cpu)
    v2: <root>/<own cgroup>/atoll-<pid>-<uid>/<sandbox>       (this process moves to
        <own cgroup>/atoll-platform: v2 allows controllers below a group only while no
        process sits in the group itself)
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import signal
from pathlib import Path
from typing import ClassVar

from atoll.errors import Unavailable

ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
REQUIRED = ("memory", "pids")
PLATFORM_LEAF = "atoll-platform"
CFS_PERIOD_US = 100_000


def own_cgroup(proc_self_cgroup: str) -> str | None:
    """This process's cgroup v2 path (the ``0::`` line of /proc/self/cgroup)."""
    for line in proc_self_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def detect(root: Path = ROOT, parent: str = "atoll", proc: Path = PROC_SELF_CGROUP) -> Cgroups:
    """The cgroup hierarchy of this host, not yet enabled."""
    if (root / "cgroup.controllers").is_file():
        try:
            own = own_cgroup(proc.read_text())
        except OSError:
            own = None
        return CgroupV2(root, parent, own)
    return CgroupV1(root, parent)


class Cgroups(abc.ABC):
    """The hierarchy this runtime puts its sandboxes' groups in."""

    version: ClassVar[int]

    def __init__(self, root: Path, parent: str) -> None:
        self.root = root
        self.parent = parent
        self.base: dict[str, Path] = {}
        self.problem: str | None = None

    @abc.abstractmethod
    def enable(self) -> None:
        """Create this runtime's parent group (and remove ones left by dead runtimes)."""

    @abc.abstractmethod
    def _group(self, paths: dict[str, Path], reserved_bytes: int) -> SandboxGroup:
        """A SandboxGroup of this version over ``paths``."""

    @property
    def available(self) -> list[str]:
        """The controllers in use."""
        return sorted(self.base)

    @property
    def missing(self) -> list[str]:
        """Required controllers (memory, pids) this runtime could not get."""
        return [c for c in REQUIRED if c not in self.base]

    def oci_path(self, group: SandboxGroup) -> str:
        """``group`` as an OCI ``cgroupsPath``: absolute from each hierarchy's root."""
        for controller, path in group.paths.items():
            top = self.root / controller if self.version == 1 else self.root
            return "/" + str(path.relative_to(top))
        raise Unavailable("the sandbox has no cgroup")

    def describe(self) -> str:
        """One line for the start-up report: version and controllers, or why none."""
        if not self.base:
            return f"none ({self.problem or 'no cgroup controllers'})"
        return f"v{self.version}: {', '.join(self.available)}"

    def create(
        self,
        name: str,
        memory_bytes: int,
        pids: int,
        cpu_cores: float,
        reserved_bytes: int = 0,
    ) -> SandboxGroup:
        """A group for one sandbox with these limits; Unavailable when it cannot be made.

        ``reserved_bytes`` is memory on top of ``memory_bytes`` for the sandbox's tmpfs
        mounts, whose pages are charged to the group of the process that writes them.
        """
        paths: dict[str, Path] = {}
        for controller, base in self.base.items():
            path = base / name
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                SandboxGroup.remove(paths)
                raise Unavailable(f"cannot create cgroup {path}: {exc.strerror}") from exc
            paths[controller] = path
        group = self._group(paths, reserved_bytes)
        try:
            group.set_limits(memory_bytes, pids, cpu_cores)
        except Unavailable:
            group.destroy()
            raise
        return group


class CgroupV1(Cgroups):
    """The v1 hierarchies: one folder per controller."""

    version = 1

    def enable(self) -> None:
        remove_stale(self.root)
        for controller in CONTROLLERS:
            path = self.root / controller / self.parent
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                self.problem = f"no {controller} hierarchy at {path.parent} ({exc.strerror})"
                continue
            if os.access(path, os.W_OK):
                self.base[controller] = path
            else:
                self.problem = f"{path} is not writable"
        if "cpu" in self.base:
            # Sandboxes together weigh half of what the platform's own processes do.
            with contextlib.suppress(OSError):
                (self.base["cpu"] / "cpu.shares").write_text("512")

    def _group(self, paths: dict[str, Path], reserved_bytes: int) -> SandboxGroup:
        return SandboxGroupV1(paths, reserved_bytes)


class CgroupV2(Cgroups):
    """The unified hierarchy, below the cgroup this process was started in."""

    version = 2

    def __init__(self, root: Path, parent: str, own: str | None) -> None:
        super().__init__(root, parent)
        self.own = own

    def enable(self) -> None:
        if self.own is None:
            self.problem = "this process's cgroup v2 path is unknown (/proc/self/cgroup)"
            return
        own = self.root / self.own.lstrip("/")
        if own.name == PLATFORM_LEAF:  # an earlier runtime in this process moved it here
            own = own.parent
        if not own.is_dir():
            self.problem = f"this process's cgroup {own} is not under {self.root}"
            return
        remove_stale(own, (".",))
        try:
            offered = (own / "cgroup.controllers").read_text().split()
        except OSError as exc:
            self.problem = f"cannot read {own}/cgroup.controllers ({exc.strerror})"
            return
        wanted = [c for c in CONTROLLERS if c in offered]
        if unoffered := [c for c in REQUIRED if c not in offered]:
            self.problem = (
                f"{own} is not given the {', '.join(unoffered)} controller(s); delegate them "
                "to atoll's cgroup (systemd: Delegate=yes)"
            )
        if not wanted:
            return
        if own != self.root and not self._leave(own):
            return
        parent = own / self.parent
        enable = " ".join(f"+{c}" for c in wanted)
        try:
            (own / "cgroup.subtree_control").write_text(enable)
            parent.mkdir(exist_ok=True)
            (parent / "cgroup.subtree_control").write_text(enable)
        except OSError as exc:
            self.problem = f"cannot enable {enable} below {own} ({exc.strerror})"
            return
        # Sandboxes together weigh half of what the platform's own processes do.
        with contextlib.suppress(OSError):
            (parent / "cpu.weight").write_text("50")
        self.base = dict.fromkeys(wanted, parent)

    def _leave(self, own: Path) -> bool:
        """Move this process out of ``own`` into a leaf; False when others stay in ``own``."""
        try:
            procs = {int(p) for p in (own / "cgroup.procs").read_text().split()}
            if os.getpid() in procs:
                leaf = own / PLATFORM_LEAF
                leaf.mkdir(exist_ok=True)
                (leaf / "cgroup.procs").write_text(str(os.getpid()))
                procs.discard(os.getpid())
        except OSError as exc:
            self.problem = f"cannot move atoll into {own}/{PLATFORM_LEAF} ({exc.strerror})"
            return False
        if procs:
            self.problem = (
                f"{own} holds {len(procs)} other process(es), so its children cannot have "
                "controllers; run atoll in a cgroup of its own (a systemd service or scope "
                "with Delegate=yes)"
            )
            return False
        return True

    def _group(self, paths: dict[str, Path], reserved_bytes: int) -> SandboxGroup:
        return SandboxGroupV2(paths, reserved_bytes)


class SandboxGroup(abc.ABC):
    """One sandbox's cgroups (a folder per controller; in v2 one folder for all)."""

    def __init__(self, paths: dict[str, Path], reserved_bytes: int = 0) -> None:
        self.paths = paths
        self.reserved_bytes = reserved_bytes
        self._seen: dict[str, int] = {}

    @abc.abstractmethod
    def set_limits(self, memory_bytes: int, pids: int, cpu_cores: float) -> None:
        """Apply limits (memory gets ``reserved_bytes`` on top); Unavailable on failure."""

    @abc.abstractmethod
    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed something in this group since the last check."""

    def pids_exhausted(self) -> bool:
        """Whether the pids limit has refused a fork (the ``pids.events`` max counter)."""
        return self._counter_grew("pids", "pids.events", "max")

    def _write(self, controller: str, name: str, value: str, optional: bool = False) -> None:
        path = self.paths.get(controller)
        if path is None:  # controller not in use (the operator allowed that)
            return
        try:
            (path / name).write_text(value)
        except OSError as exc:
            if not optional:
                raise Unavailable(f"cannot set {path / name}: {exc.strerror}") from exc

    def _counter_grew(self, controller: str, name: str, key: str) -> bool:
        path = self.paths.get(controller)
        if path is None:
            return False
        try:
            text = (path / name).read_text()
        except OSError:
            return False
        count = 0
        for line in text.splitlines():
            field, _, value = line.partition(" ")
            if field == key and value.strip().isdigit():
                count = int(value)
        seen = self._seen.get(name, 0)
        self._seen[name] = count
        return count > seen

    def _folders(self) -> list[Path]:
        return list(dict.fromkeys(self.paths.values()))

    def attach(self, pids: list[int]) -> None:
        """Move processes into every group; Unavailable if one could not be fenced in."""
        for path in self._folders():
            for pid in pids:
                try:
                    (path / "cgroup.procs").write_text(str(pid))
                except ProcessLookupError:
                    continue  # it exited: nothing left to fence in
                except OSError as exc:
                    if exc.errno == errno.ESRCH:
                        continue
                    raise Unavailable(f"cannot move a sandbox into {path}: {exc.strerror}") from exc

    def processes(self) -> list[int]:
        """Host pids in the group."""
        for path in self._folders():
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    def destroy(self) -> bool:
        """Kill whatever is left and remove the groups; False if processes are still exiting."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return self.remove(self.paths)

    @staticmethod
    def remove(paths: dict[str, Path]) -> bool:
        """Remove group folders; False if one is still busy."""
        done = True
        for path in dict.fromkeys(paths.values()):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


class SandboxGroupV1(SandboxGroup):
    """A sandbox's groups in the v1 hierarchies."""

    def set_limits(self, memory_bytes: int, pids: int, cpu_cores: float) -> None:
        memory = str(memory_bytes + self.reserved_bytes)
        memsw = self.paths.get("memory", Path("/nonexistent")) / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            # memory+swap must stay >= memory: the order that works depends on the direction.
            try:
                self._write("memory", "memory.limit_in_bytes", memory)
                self._write("memory", "memory.memsw.limit_in_bytes", memory)
            except Unavailable:
                self._write("memory", "memory.memsw.limit_in_bytes", memory)
                self._write("memory", "memory.limit_in_bytes", memory)
        else:
            self._write("memory", "memory.limit_in_bytes", memory)
        self._write("memory", "memory.swappiness", "0", optional=True)
        self._write("pids", "pids.max", str(pids))
        self._write("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US))
        self._write("cpu", "cpu.cfs_quota_us", str(int(cpu_cores * CFS_PERIOD_US)))

    def oom_killed(self) -> bool:
        return self._counter_grew("memory", "memory.oom_control", "oom_kill")


class SandboxGroupV2(SandboxGroup):
    """A sandbox's group in the unified hierarchy."""

    def set_limits(self, memory_bytes: int, pids: int, cpu_cores: float) -> None:
        self._write("memory", "memory.max", str(memory_bytes + self.reserved_bytes))
        # Absent where swap is not accounted; then there is no swap to keep it from.
        self._write("memory", "memory.swap.max", "0", optional=True)
        self._write("pids", "pids.max", str(pids))
        self._write("cpu", "cpu.max", f"{int(cpu_cores * CFS_PERIOD_US)} {CFS_PERIOD_US}")

    def oom_killed(self) -> bool:
        return self._counter_grew("memory", "memory.events", "oom_kill")


def remove_tree(path: Path) -> None:
    """Remove a cgroup folder and its empty sub-groups (cgroupfs needs rmdir, bottom up)."""
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir():
                remove_tree(child)
        path.rmdir()


def remove_stale(root: Path = ROOT, controllers: tuple[str, ...] = CONTROLLERS) -> None:
    """Remove ``atoll-<pid>-...`` groups whose runtime process no longer exists."""
    for controller in controllers:
        with contextlib.suppress(OSError):
            for path in (root / controller).glob("atoll-*"):
                pid = path.name.split("-")[1]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    remove_tree(path)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, read from /proc on the host."""
    found = [pid]
    index = 0
    while index < len(found) and index < 10_000:
        current = found[index]
        index += 1
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    found.extend(int(c) for c in f.read().split())
            except OSError:
                continue
    return found
