"""Backends: the bwrap command line, backend selection."""

from __future__ import annotations

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
