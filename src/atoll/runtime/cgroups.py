"""cgroup v1 memory, pids and cpu limits per sandbox, where the host allows them.

Each sandbox gets ``<controller>/atoll/<name>`` in the memory, pids and cpu hierarchies.
When a hierarchy is missing or not writable (no root, cgroup v2 only, a container) the
limits are skipped and the rlimits alone apply; ``CgroupV1.available`` says which.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
CFS_PERIOD_US = 100_000


class CgroupV1:
    """The cgroup v1 hierarchies usable on this host."""

    def __init__(self, root: Path = ROOT, parent: str = "atoll") -> None:
        self.root = root
        self.parent = parent
        self.base: dict[str, Path] = {}

    def enable(self) -> None:
        """Create this runtime's parent groups (and remove ones left by dead runtimes)."""
        root, parent = self.root, self.parent
        remove_stale(root)
        for controller in CONTROLLERS:
            path = root / controller / parent
            try:
                path.mkdir(exist_ok=True)
                if os.access(path, os.W_OK):
                    self.base[controller] = path
            except OSError:
                continue
        if "cpu" in self.base:
            # Sandboxes together weigh half of what the platform's own processes do.
            with contextlib.suppress(OSError):
                (self.base["cpu"] / "cpu.shares").write_text("512")

    @property
    def available(self) -> list[str]:
        """The controllers in use."""
        return sorted(self.base)

    def create(self, name: str, memory_bytes: int, pids: int, cpu_cores: float) -> SandboxGroup:
        """A group for one sandbox with these limits."""
        paths: dict[str, Path] = {}
        for controller, base in self.base.items():
            path = base / name
            try:
                path.mkdir(exist_ok=True)
            except OSError:
                continue
            paths[controller] = path
        group = SandboxGroup(paths)
        group.set_limits(memory_bytes, pids, cpu_cores)
        return group


class SandboxGroup:
    """One sandbox's cgroups."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def _write(self, controller: str, name: str, value: str) -> None:
        path = self.paths.get(controller)
        if path is not None:
            with contextlib.suppress(OSError):
                (path / name).write_text(value)

    def set_limits(self, memory_bytes: int, pids: int, cpu_cores: float) -> None:
        """Apply limits (each skipped when its controller is unavailable)."""
        self._write("memory", "memory.limit_in_bytes", str(memory_bytes))
        self._write("memory", "memory.swappiness", "0")
        self._write("pids", "pids.max", str(pids))
        self._write("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US))
        self._write("cpu", "cpu.cfs_quota_us", str(int(cpu_cores * CFS_PERIOD_US)))

    def attach(self, pids: list[int]) -> None:
        """Move processes into every group."""
        for controller in self.paths:
            for pid in pids:
                self._write(controller, "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed something in this group since the last check."""
        path = self.paths.get("memory")
        if path is None:
            return False
        try:
            text = (path / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                count = int(value)
                seen = getattr(self, "_oom_seen", 0)
                self._oom_seen = count
                return count > seen
        return False

    def pids_exhausted(self) -> bool:
        """Whether the pids limit has refused a fork (the ``pids.events`` max counter)."""
        path = self.paths.get("pids")
        if path is None:
            return False
        try:
            text = (path / "pids.events").read_text()
        except OSError:
            return False
        count = int(text.split()[-1]) if text.strip() else 0
        seen = getattr(self, "_pids_seen", 0)
        self._pids_seen = count
        return count > seen

    def processes(self) -> list[int]:
        """Host pids in the group."""
        for path in self.paths.values():
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
        done = True
        for path in self.paths.values():
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


def remove_tree(path: Path) -> None:
    """Remove a cgroup folder and its empty sub-groups (cgroupfs needs rmdir, bottom up)."""
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir():
                remove_tree(child)
        path.rmdir()


def remove_stale(root: Path = ROOT) -> None:
    """Remove ``atoll-<pid>-...`` groups whose runtime process no longer exists."""
    for controller in CONTROLLERS:
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
