"""Backends: the bwrap command line, backend selection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from atoll.errors import Unavailable
from atoll.runtime import BwrapBackend, RunscBackend, SandboxSpec
from atoll.runtime.backends import backend_name, make_backend
from atoll.runtime.gvisor import SECCOMP_FILE, oci_config
from atoll.runtime.sandbox import ETC_FILES, Mount

SPEC = SandboxSpec(
    name="s",
    host_uid=1_234_567,
    python="/opt/py/bin/python3",
    mounts=(Mount(Path("/srv/slot/app"), "/app"),),
    tmp_bytes=16 << 20,
)


def test_bwrap_command_isolates_everything() -> None:
    argv = BwrapBackend("/usr/bin/bwrap").command(SPEC, 7, 9)
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                 "--unshare-uts", "--die-with-parent", "--new-session", "--clearenv",
                 "--disable-userns"):  # fmt: skip
        assert flag in argv
    assert argv[argv.index("--seccomp") + 1] == "9"
    assert argv[argv.index("--size") + 1] == str(16 << 20)
    assert ["--ro-bind", "/srv/slot/app", "/app"] == argv[argv.index("/srv/slot/app") - 1 :][:3]
    assert "--bind" not in argv and "--dev-bind" not in argv  # nothing writable from the host
    assert not any(a == "/" for i, a in enumerate(argv) if argv[i - 1] == "--ro-bind")
    assert argv[argv.index("--") + 1] == "/opt/py/bin/python3"
    assert argv[-1] == "7"


def _tmpfs_sizes(argv: list[str]) -> dict[str, int]:
    """Each ``--tmpfs`` target with the ``--size`` that precedes it (bwrap's order)."""
    sizes, size = {}, None
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--size":
            size = int(value)
        elif flag == "--tmpfs":
            assert size is not None, f"{value} is an unbounded tmpfs"
            sizes[value], size = size, None
    return sizes


def test_every_writable_tmpfs_is_sized_and_dev_is_read_only() -> None:
    argv = BwrapBackend("/usr/bin/bwrap").command(SPEC, 7, 9)
    assert _tmpfs_sizes(argv) == {"/tmp": 16 << 20, "/dev/shm": 16 << 20}
    # bwrap's /dev is a tmpfs of its own: read-only once /dev/shm is mounted on it.
    assert argv.index("--dev") < argv.index("/dev/shm") < argv.index("--remount-ro")
    remounted = [argv[i + 1] for i, a in enumerate(argv) if a == "--remount-ro"]
    assert remounted == ["/dev", "/"]
    smaller = BwrapBackend("/usr/bin/bwrap").command(
        dataclasses.replace(SPEC, shm_bytes=1 << 20), 7, 9
    )
    assert _tmpfs_sizes(smaller)["/dev/shm"] == 1 << 20
    assert SPEC.tmpfs_bytes == 32 << 20


def test_unknown_backends_and_tiers_are_refused() -> None:
    with pytest.raises(Unavailable):
        make_backend("docker")
    with pytest.raises(Unavailable):
        backend_name("firecracker", "bwrap")
    assert backend_name("default", "bwrap") == "bwrap"
    assert backend_name("gvisor", "bwrap") == "runsc"
    assert backend_name("bwrap", "runsc") == "bwrap"


def test_runsc_bundle_holds_only_the_listed_mounts_read_only() -> None:
    spec = dataclasses.replace(SPEC, cgroup="/atoll-1-2/slot3-4")
    config = oci_config(spec, Path("/rt/runsc-rootfs"), Path("/rt/runsc-seccomp.bpf"))
    assert config["root"] == {"path": "/rt/runsc-rootfs", "readonly": True}
    process = config["process"]
    assert process["user"] == {"uid": 1000, "gid": 1000} and process["noNewPrivileges"]
    assert all(caps == [] for caps in process["capabilities"].values())
    # The zygote reads its control socket on stdin and loads the seccomp program itself.
    assert process["args"][0] == SPEC.python and process["args"][-2:] == [SECCOMP_FILE, "0"]
    binds = {m["destination"]: m for m in config["mounts"] if m["type"] == "bind"}
    assert binds["/app"]["source"] == "/srv/slot/app"
    assert binds[SECCOMP_FILE]["source"] == "/rt/runsc-seccomp.bpf"
    assert all("ro" in m["options"] for m in binds.values())
    assert "/" not in binds and not any(m["source"] == "/" for m in binds.values())
    assert set(binds) - {"/app", SECCOMP_FILE} <= {"/usr", *ETC_FILES}
    sizes = {m["destination"]: m["options"] for m in config["mounts"] if m["type"] == "tmpfs"}
    assert f"size={16 << 20}" in sizes["/tmp"] and f"size={16 << 20}" in sizes["/dev/shm"]
    kinds = {n["type"] for n in config["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= kinds
    assert config["linux"]["cgroupsPath"] == "/atoll-1-2/slot3-4"


def test_runsc_host_limits_leave_room_for_the_sentry() -> None:
    memory, pids = RunscBackend().cgroup_limits(100 << 20, 10)
    assert memory > 100 << 20 and pids >= 128 + 10
    assert BwrapBackend().cgroup_limits(100 << 20, 10) == (100 << 20, 10)


def test_runtime_dir_falls_back_when_sandbox_uids_cannot_reach_it(tmp_path: Path) -> None:
    from atoll.runtime.layout import choose_runtime_dir

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    fallback = choose_runtime_dir(private / "runtime")
    assert fallback.parent == Path("/tmp") and fallback.name.startswith("atoll-runtime-")
    reachable = all(p.stat().st_mode & 0o001 for p in tmp_path.parents if p.exists())
    if reachable:
        assert choose_runtime_dir(open_dir / "runtime") == open_dir / "runtime"
