"""The runtime folder: created by the platform or refused, never adopted from someone else."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.config import RuntimeSettings, Settings
from atoll.errors import Unavailable
from atoll.runtime import Runtime
from atoll.runtime.layout import RuntimeLayout, _publish, choose_runtime_dir, secure_directory

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown and other uids need root")

STRANGER = 54_321  # a local user that is not the platform


@contextlib.contextmanager
def fallback_of(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A data dir the sandbox uids cannot reach, and the /tmp folder the runtime falls back to."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    preferred = data / "runtime"
    fallback = choose_runtime_dir(preferred)
    assert fallback.parent == Path("/tmp")
    try:
        yield data, fallback
    finally:
        if fallback.is_symlink():
            fallback.unlink()
        shutil.rmtree(fallback, ignore_errors=True)


def plant(folder: Path, owner: int) -> None:
    """What a local attacker leaves: a folder that looks like a finished SDK build."""
    folder.mkdir(mode=0o755)
    fake = folder / "sdk-0000000000000000" / "atoll"
    fake.mkdir(parents=True)
    (fake.parent / ".complete").write_text("")
    (fake / "__init__.py").write_text("import os; os.system('id > /tmp/pwned')\n")
    for path in (folder, fake.parent, fake, fake.parent / ".complete", fake / "__init__.py"):
        os.chown(path, owner, owner)


def settings_for(data: Path, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=data,
        runtime=RuntimeSettings(uid_reservation_dir=tmp_path / "uids", pool_size=0),
    )


def test_a_fallback_folder_created_by_another_user_is_refused(tmp_path: Path) -> None:
    with fallback_of(tmp_path) as (data, fallback):
        plant(fallback, STRANGER)
        with pytest.raises(Unavailable) as info:
            Runtime(settings_for(data, tmp_path))
        assert str(fallback) in info.value.message and str(STRANGER) in info.value.message
        assert os.lstat(fallback).st_uid == STRANGER  # left alone, not adopted or chowned


def test_a_symlink_in_place_of_the_fallback_is_refused(tmp_path: Path) -> None:
    ours = tmp_path / "elsewhere"
    ours.mkdir(mode=0o711)
    with fallback_of(tmp_path) as (data, fallback):
        fallback.symlink_to(ours)
        with pytest.raises(Unavailable, match="symlink"):
            Runtime(settings_for(data, tmp_path))


def test_a_fallback_others_can_write_to_is_refused(tmp_path: Path) -> None:
    with fallback_of(tmp_path) as (data, fallback):
        fallback.mkdir()
        fallback.chmod(0o777)
        with pytest.raises(Unavailable, match="other users"):
            Runtime(settings_for(data, tmp_path))


def test_the_fallback_is_created_by_the_platform(tmp_path: Path) -> None:
    with fallback_of(tmp_path) as (data, fallback):
        layout = RuntimeLayout(fallback)
        info = os.lstat(fallback)
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
        assert stat.S_IMODE(info.st_mode) == 0o711
        assert layout.root == fallback
        assert stat.S_IMODE(os.lstat(layout.locks).st_mode) == 0o700  # names other apps' deps
        RuntimeLayout(fallback)  # its own folder from an earlier start is adopted


@pytest.mark.parametrize(
    ("mode", "owner"), [(0o777, 0), (0o1777, STRANGER), (0o775, STRANGER)], ids=str
)
def test_a_folder_under_an_unsafe_ancestor_is_refused(
    tmp_path: Path, mode: int, owner: int
) -> None:
    # Whoever can rename entries of an ancestor can swap the folder after it was checked.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, owner, owner)
    shared.chmod(mode)
    tmp_path.chmod(0o755)
    with pytest.raises(Unavailable, match=str(shared)):
        secure_directory(shared / "runtime", 0o711)
    sticky_root_owned = tmp_path / "sticky"
    sticky_root_owned.mkdir()
    sticky_root_owned.chmod(0o1777)  # like /tmp: others may add entries, not touch ours
    assert secure_directory(sticky_root_owned / "runtime", 0o700).is_dir()


def test_a_build_marker_not_made_by_the_platform_is_not_trusted(tmp_path: Path) -> None:
    root = secure_directory(tmp_path / "rt", 0o711)
    plant_in = root / "sdk-1234"
    plant_in.mkdir()
    (plant_in / ".complete").write_text("")
    os.chown(plant_in, STRANGER, STRANGER)
    built: list[Path] = []
    with pytest.raises(Unavailable, match=str(STRANGER)):
        _publish(plant_in, built.append)
    link_marker = root / "sdk-5678"
    link_marker.mkdir()
    (link_marker / ".complete").symlink_to("/etc/hostname")
    with pytest.raises(Unavailable, match="complete"):
        _publish(link_marker, built.append)
    assert built == []
    _publish(root / "sdk-9999", lambda tmp: (tmp / "x").write_text("1"))
    _publish(root / "sdk-9999", built.append)  # ours and complete: trusted, not rebuilt
    assert built == [] and (root / "sdk-9999" / "x").read_text() == "1"


def test_a_slot_is_private_to_its_sandbox_uid(tmp_path: Path) -> None:
    # Under /tmp like a real runtime folder: every ancestor is traversable by other uids.
    root = Path(tempfile.mkdtemp(prefix="atoll-test-rt-", dir="/tmp"))
    try:
        check_slot(RuntimeLayout(root))
    finally:
        shutil.rmtree(root)


def check_slot(layout: RuntimeLayout) -> None:
    uid = 2_999_000
    slot = layout.slot(3, uid)
    (slot / "app" / "secret.py").write_text("KEY = 1\n")
    (slot / "app" / "secret.py").chmod(0o644)
    info = os.lstat(slot)
    assert info.st_uid == uid and stat.S_IMODE(info.st_mode) == 0o500
    read = ["/bin/cat", str(slot / "app" / "secret.py")]
    own = subprocess.run(read, user=uid, group=uid, capture_output=True, text=True, cwd="/")
    assert own.stdout == "KEY = 1\n", own.stderr
    # The database and egress proxies listen in run/ with mode 0666, for the sandbox.
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(slot / "run" / "db.sock"))
    os.chmod(slot / "run" / "db.sock", 0o666)
    server.listen()
    connect = [
        "/usr/bin/python3",
        "-I",
        "-c",
        f"import socket; socket.socket(socket.AF_UNIX).connect({str(slot / 'run/db.sock')!r})",
    ]
    try:
        # Another sandbox's uid, or any other local user: not the app's code, not its sockets.
        for stranger in (uid + 1, STRANGER):
            for argv in (read, connect):
                other = subprocess.run(
                    argv, user=stranger, group=stranger, capture_output=True, cwd="/"
                )
                assert other.returncode != 0, argv
                assert b"Permission denied" in other.stderr or b"PermissionError" in other.stderr
        mine = subprocess.run(connect, user=uid, group=uid, capture_output=True, cwd="/")
        assert mine.returncode == 0, mine.stderr
    finally:
        server.close()
