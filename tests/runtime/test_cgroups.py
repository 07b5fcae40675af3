"""cgroup v1 (real, on this host) and v2 (against a tree laid out like cgroupfs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from atoll.config import RuntimeSettings, Settings
from atoll.errors import Unavailable
from atoll.runtime import InvokeResponse, Runtime
from atoll.runtime.cgroups import ROOT, CgroupV1, CgroupV2, detect, own_cgroup, remove_tree

from .conftest import SESSION_UID_BASE, LoopThread, needs_bwrap, started_runtime

MiB = 1 << 20
SERVICE = "/system.slice/atoll.service"


def cgroupfs_v2(tmp_path: Path, others: tuple[int, ...] = ()) -> tuple[Path, Path]:
    """A cgroup2 mount in miniature; this process sits in ``SERVICE``. Returns (root, proc)."""
    root = tmp_path / "cgroup"
    own = root / SERVICE.lstrip("/")
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (own / "cgroup.controllers").write_text("cpu io memory pids\n")
    (own / "cgroup.subtree_control").write_text("")
    (own / "cgroup.procs").write_text("".join(f"{p}\n" for p in (*others, os.getpid())))
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{SERVICE}\n")
    return root, proc


def test_own_cgroup_is_read_from_the_unified_line() -> None:
    assert own_cgroup(f"12:pids:/x\n1:name=systemd:/y\n0::{SERVICE}\n") == SERVICE
    assert own_cgroup("4:memory:/a\n") is None


def test_the_version_in_use_is_detected(tmp_path: Path) -> None:
    root, proc = cgroupfs_v2(tmp_path)
    assert isinstance(detect(root, "atoll-1-2", proc), CgroupV2)
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    assert isinstance(detect(v1, "atoll-1-2", proc), CgroupV1)
    if (ROOT / "memory").is_dir() and not (ROOT / "cgroup.controllers").exists():
        assert detect(ROOT, "atoll-1-2").version == 1  # this host: v1 hierarchies


def test_v2_delegates_the_controllers_and_limits_a_sandbox(tmp_path: Path) -> None:
    root, proc = cgroupfs_v2(tmp_path)
    own = root / SERVICE.lstrip("/")
    stale = own / "atoll-999999999-7" / "slot0-1"  # a runtime that died without cleaning up
    stale.mkdir(parents=True)
    groups = detect(root, "atoll-42-1000000", proc)
    groups.enable()
    assert groups.available == ["cpu", "memory", "pids"] and groups.missing == []
    assert not stale.parent.exists()
    # No processes in a group whose children have controllers: the runtime moved to a leaf.
    assert (own / "atoll-platform" / "cgroup.procs").read_text().strip() == str(os.getpid())
    parent = own / "atoll-42-1000000"
    for folder in (own, parent):
        enabled = (folder / "cgroup.subtree_control").read_text().split()
        assert sorted(enabled) == ["+cpu", "+memory", "+pids"]
    assert (parent / "cpu.weight").read_text() == "50"

    group = groups.create("slot3-1", 256 * MiB, 36, 1.5, reserved_bytes=128 * MiB)
    path = parent / "slot3-1"
    assert (path / "memory.max").read_text() == str(384 * MiB)  # room for /tmp + /dev/shm
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "pids.max").read_text() == "36"
    assert (path / "cpu.max").read_text() == "150000 100000"
    group.set_limits(64 * MiB, 8, 0.5)
    assert (path / "memory.max").read_text() == str(192 * MiB)
    group.attach([os.getpid()])
    assert (path / "cgroup.procs").read_text() == str(os.getpid())

    (path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n")
    (path / "pids.events").write_text("max 0\n")
    assert not group.oom_killed() and not group.pids_exhausted()
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    (path / "pids.events").write_text("max 3\n")
    assert group.oom_killed() and group.pids_exhausted()
    assert not group.oom_killed() and not group.pids_exhausted()  # counts since last look


def test_v2_without_a_cgroup_of_its_own_uses_none(tmp_path: Path) -> None:
    # Another process shares the runtime's cgroup (e.g. started from a login shell): moving
    # the runtime alone would not make the group's children able to have controllers.
    root, proc = cgroupfs_v2(tmp_path, others=(1,))
    groups = detect(root, "atoll-42-1000000", proc)
    groups.enable()
    assert groups.available == [] and groups.missing == ["memory", "pids"]
    assert groups.problem is not None and "Delegate=yes" in groups.problem


def test_v2_controllers_not_offered_are_missing(tmp_path: Path) -> None:
    root, proc = cgroupfs_v2(tmp_path)
    (root / SERVICE.lstrip("/") / "cgroup.controllers").write_text("cpu io\n")
    groups = detect(root, "atoll-42-1000000", proc)
    groups.enable()
    assert groups.available == ["cpu"] and groups.missing == ["memory", "pids"]
    assert groups.problem is not None and "memory" in groups.problem


def test_a_group_that_cannot_be_written_is_an_error_not_a_silent_skip(tmp_path: Path) -> None:
    root, proc = cgroupfs_v2(tmp_path)
    groups = detect(root, "atoll-42-1000000", proc)
    groups.enable()
    group = groups.create("slot0-1", 64 * MiB, 8, 1.0)
    shutil.rmtree(root / SERVICE.lstrip("/") / "atoll-42-1000000" / "slot0-1")
    with pytest.raises(Unavailable):
        group.attach([os.getpid()])
    with pytest.raises(Unavailable):
        group.set_limits(64 * MiB, 8, 1.0)


def test_no_hierarchies_means_no_controllers(tmp_path: Path) -> None:
    groups = detect(tmp_path, "atoll-42-1000000", tmp_path / "missing")
    groups.enable()
    assert groups.available == [] and groups.missing == ["memory", "pids"]
    assert groups.problem


@pytest.mark.skipif(
    os.geteuid() != 0 or not (ROOT / "memory").is_dir(), reason="needs root and cgroup v1"
)
def test_v1_on_this_host() -> None:
    groups = CgroupV1(ROOT, f"atoll-test-{os.getpid()}")
    groups.enable()
    try:
        assert {"memory", "pids"} <= set(groups.available), groups.problem
        group = groups.create("s", 64 * MiB, 8, 1.0, reserved_bytes=32 * MiB)
        assert (groups.base["memory"] / "s" / "memory.limit_in_bytes").read_text() == (
            f"{96 * MiB}\n"
        )
        assert (groups.base["pids"] / "s" / "pids.max").read_text() == "8\n"
        sleeper = subprocess.Popen(["sleep", "60"])
        gone = subprocess.Popen(["true"])
        gone.wait()
        group.attach([sleeper.pid, gone.pid])  # a process that already exited is no error
        assert group.processes() == [sleeper.pid]
        assert not group.oom_killed() and not group.pids_exhausted()
        for _ in range(100):
            if group.destroy():
                break
            time.sleep(0.02)
        assert sleeper.wait() == -9
    finally:
        for path in groups.base.values():
            remove_tree(path)
    assert not any(path.exists() for path in groups.base.values())


def test_the_runtime_refuses_sandboxes_without_memory_and_pids_limits(
    loop_thread: LoopThread, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        runtime=RuntimeSettings(
            runtime_dir=tmp_path / "rt",
            cgroup_root=tmp_path / "no-cgroups",
            sandbox_uid_base=SESSION_UID_BASE + 7000,
            pool_size=1,
        ),
    )
    runtime = Runtime(settings)
    try:
        with pytest.raises(Unavailable, match="ATOLL_RUNTIME_ALLOW_NO_CGROUPS") as info:
            loop_thread.run(runtime.start())
        assert info.value.detail["missing"] == ["memory", "pids"]
        assert not runtime.started and not runtime.pool.ready
    finally:
        loop_thread.run(runtime.shutdown())


@needs_bwrap
def test_the_operator_may_opt_out_of_cgroups(loop_thread: LoopThread, tmp_path: Path) -> None:
    with started_runtime(
        loop_thread,
        tmp_path,
        SESSION_UID_BASE + 7000,
        pool_size=1,
        cgroup_root=tmp_path / "no-cgroups",
        allow_no_cgroups=True,
    ) as h:
        assert h.runtime.cgroups.available == []
        ref = h.app("plain", {"functions/hi.py": "def get():\n    return 'hi'\n"})
        resp = h.call(ref, "/api/hi")
        assert isinstance(resp, InvokeResponse) and resp.json() == "hi"
