"""Backends: the bwrap command line, backend selection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from atoll.errors import Unavailable
from atoll.runtime import BwrapBackend, RunscBackend, SandboxSpec
from atoll.runtime.sandbox import Mount, make_backend

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


def test_runsc_is_offered_only_when_installed() -> None:
    if RunscBackend.available():
        pytest.skip("runsc is installed here")
    with pytest.raises(Unavailable):
        make_backend("runsc")
    with pytest.raises(Unavailable):
        make_backend("docker")
    argv = RunscBackend().command(SPEC, 7, 9)
    assert "--network=none" in argv and "--volume=/srv/slot/app:/app" in argv


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
