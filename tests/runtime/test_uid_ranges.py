"""Each instance on a host reserves its own range of sandbox uids."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atoll.config import RuntimeSettings, Settings
from atoll.errors import Unavailable
from atoll.runtime import Runtime
from atoll.runtime.pool import SlotAllocator, UidRange

from .conftest import LoopThread

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the reservation folder is root's")


def test_two_reservations_get_disjoint_ranges(tmp_path: Path) -> None:
    first = UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 4)
    second = UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 4)
    assert (first.start, second.start) == (1_000_000, 1_000_100)
    first.release()
    third = UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 4)
    assert third.start == 1_000_000  # free again once its holder let go
    second.release()
    third.release()


def test_ranges_of_instances_configured_differently_do_not_overlap(tmp_path: Path) -> None:
    held = UidRange.reserve(tmp_path / "uids", 1_000_050, 100, 1)  # 1_000_050 .. 1_000_149
    mine = UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 4)
    assert mine.start == 1_000_200
    with pytest.raises(Unavailable, match="in use"):
        UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 2)
    held.release()
    mine.release()


def test_a_reservation_is_dropped_when_its_process_dies(tmp_path: Path) -> None:
    # A process that crashes (no clean-up at all) leaves its file behind but not its lock.
    code = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from atoll.runtime.pool import UidRange
        taken = UidRange.reserve(Path({str(tmp_path / "uids")!r}), 1_000_000, 100, 4)
        print(taken.start, flush=True)
        os._exit(0)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1000000"
    again = UidRange.reserve(tmp_path / "uids", 1_000_000, 100, 4)
    assert again.start == 1_000_000
    again.release()


def test_the_reservation_folder_must_be_the_platforms(tmp_path: Path) -> None:
    hostile = tmp_path / "uids"
    hostile.mkdir()
    os.chown(hostile, 54_321, 54_321)
    with pytest.raises(Unavailable, match="54321"):
        UidRange.reserve(hostile, 1_000_000, 100, 4)


def test_slots_stay_in_the_range() -> None:
    slots = SlotAllocator(UidRange(5_000, 2))
    assert [slots.uid(slots.take()), slots.uid(slots.take())] == [5_000, 5_001]
    with pytest.raises(Unavailable):
        slots.take()


def test_two_runtimes_in_one_process_get_disjoint_uid_ranges(
    loop_thread: LoopThread, tmp_path: Path
) -> None:
    base = 3_000_000 + (os.getpid() % 200) * 10_000

    def runtime(name: str) -> Runtime:
        runtime_dir = tmp_path / name
        return Runtime(
            Settings(
                data_dir=tmp_path / f"data-{name}",
                runtime=RuntimeSettings(
                    runtime_dir=runtime_dir,
                    sandbox_uid_base=base,
                    sandbox_uid_count=1000,
                    pool_size=0,
                ),
            )
        )

    first, second = runtime("a"), runtime("b")
    try:
        ranges = sorted((r.slots.uid(0), r.slots.uid(r.slots.size - 1)) for r in (first, second))
        assert ranges[0][1] < ranges[1][0], ranges
    finally:
        loop_thread.run(first.shutdown())
        loop_thread.run(second.shutdown())
    third = runtime("c")
    try:
        assert third.slots.uid(0) == base  # both released theirs at shutdown
    finally:
        loop_thread.run(third.shutdown())
