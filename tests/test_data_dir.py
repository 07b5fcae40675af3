"""What ``atoll serve`` does before it starts: the data dir and the start-up report."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import pytest

from atoll.api.bootstrap import ensure_admin_token
from atoll.config import RuntimeSettings, Settings
from atoll.errors import Unavailable
from atoll.runtime import Runtime
from atoll.server import sandbox_report, secure_data_dir
from atoll.services import ControlPlane

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="other uids need root")
STRANGER = 54_321


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@needs_root
def test_no_other_local_user_can_read_the_platforms_secrets(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # the folder around it is open, as a home or /srv would be
    data = tmp_path / "data"
    assert secure_data_dir(data) is None
    settings = Settings(data_dir=data)
    cp = ControlPlane.open(settings)
    try:
        ensure_admin_token(cp)
    finally:
        cp.close()
    assert mode(data) == 0o700
    for path in (settings.admin_token_path, data / "atoll.db"):
        read = subprocess.run(
            ["/bin/cat", str(path)], user=STRANGER, group=STRANGER, capture_output=True, cwd="/"
        )
        assert read.returncode != 0 and b"Permission denied" in read.stderr, path


def test_an_existing_open_data_dir_is_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    note = secure_data_dir(data)
    assert note is not None and "755" in note
    assert mode(data) == 0o700


@needs_root
def test_a_data_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, STRANGER, STRANGER)
    with pytest.raises(Unavailable, match=str(STRANGER)):
        secure_data_dir(data)


@needs_root
def test_start_up_report_names_uids_and_cgroups_and_any_opt_out(tmp_path: Path) -> None:
    runtime = Runtime(
        Settings(
            data_dir=tmp_path / "data",
            runtime=RuntimeSettings(
                runtime_dir=tmp_path / "rt",
                cgroup_root=tmp_path / "no-cgroups",
                allow_no_cgroups=True,
                sandbox_uid_base=3_500_000 + (os.getpid() % 200) * 10_000,
                sandbox_uid_count=100,
                pool_size=0,
            ),
        )
    )
    try:
        runtime.cgroups.enable()
        lines = sandbox_report(runtime)
        first = runtime.slots.uid(0)
        assert f"host uids {first}-{first + 99}" in lines[0]
        assert lines[1].startswith("atoll: cgroups       none")
        assert "ATOLL_RUNTIME_ALLOW_NO_CGROUPS=1" in lines[2] and "WARNING" in lines[2]
    finally:
        asyncio.run(runtime.shutdown())
