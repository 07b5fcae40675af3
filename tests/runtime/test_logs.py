"""LogStore: append, read by request id, file fallback and rotation, follow; and every
thing it holds bounded in bytes, whatever tenants write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from atoll.config import LogSettings
from atoll.runtime import LogStore
from atoll.runtime.logs import invocation_size, weigh


def test_read_recent_and_by_request(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    for i in range(5):
        logs.append("t/a/dev", {"request_id": f"r{i}", "status": 200})
    assert [e["request_id"] for e in logs.read("t/a/dev", 2)] == ["r3", "r4"]
    assert logs.read("t/a/dev", request_id="r1")[0]["status"] == 200
    assert logs.read("t/a/prod") == []
    logs.close()
    # A new store (a restarted platform) reads the file.
    assert len(LogStore(tmp_path).read("t/a/dev")) == 5


def test_output_is_capped_and_files_rotate(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, LogSettings(file_bytes=10_000))
    logs.append("t/a/dev", {"stdout": "x" * 200_000})
    entry = logs.read("t/a/dev")[-1]
    assert entry["truncated"] is True and len(entry["stdout"]) == 64 * 1024
    logs.append("t/a/dev", {"stdout": "y"})
    logs.close()
    assert (tmp_path / "t/a/dev.jsonl.1").exists()


def test_follow_yields_new_entries(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    logs.append("t/a/dev", {"request_id": "old"})

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def reader() -> None:
            async for entry in logs.follow("t/a/dev", backlog=1):
                seen.append(entry["request_id"])
                if len(seen) == 3:
                    return

        task = asyncio.ensure_future(reader())
        await asyncio.sleep(0.01)
        logs.append("t/a/dev", {"request_id": "new1"})
        logs.append("t/b/dev", {"request_id": "elsewhere"})
        logs.append("t/a/dev", {"request_id": "new2"})
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == ["old", "new1", "new2"]
    logs.close()


def deep_size(value: object) -> int:
    """Bytes held by a JSON-like value and everything in it (measured here, not by the store)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(sys.getsizeof(k) + deep_size(v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(deep_size(v) for v in value)
    return size


def big(i: int) -> dict[str, object]:
    return {"request_id": f"r{i}", "stdout": "x" * 60_000, "logs": [{"message": "m" * 4000}] * 5}


def test_memory_per_environment_is_bounded_in_bytes(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, LogSettings(bytes_per_environment=256 * 1024))
    for i in range(100):
        logs.append("t/a/dev", big(i))
    held = logs.in_memory("t/a/dev")
    assert 1 <= len(held) < 10 and held[-1]["request_id"] == "r99"
    assert deep_size(held) <= 256 * 1024
    assert logs.memory_bytes("t/a/dev") == logs.memory_bytes() <= 256 * 1024
    # What memory let go of is read from the file.
    assert [e["request_id"] for e in logs.read("t/a/dev", 20)] == [f"r{i}" for i in range(80, 100)]
    assert logs.read("t/a/dev", request_id="r85")[0]["stdout"] == "x" * 60_000
    # An entry larger than the whole budget is not held at all, and still read.
    logs.append("t/a/dev", {"request_id": "huge", "logs": [{"message": "m" * 4000}] * 100})
    assert logs.in_memory("t/a/dev") == [] and logs.memory_bytes() == 0
    assert logs.read("t/a/dev", 1)[0]["request_id"] == "huge"
    logs.close()


def test_environments_kept_in_memory_are_bounded(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, LogSettings(environments=3))
    keys = [f"t/app{i}/dev" for i in range(10)]
    for key in keys:
        logs.append(key, {"request_id": key})
    assert [k for k in keys if logs.in_memory(k)] == keys[-3:]
    assert logs.read(keys[0]) == [{"ts": logs.read(keys[0])[0]["ts"], "request_id": keys[0]}]
    logs.close()


def test_open_log_files_are_bounded(tmp_path: Path) -> None:
    def open_here() -> int:
        paths = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the listing's own descriptor is gone
                paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        return sum(1 for p in paths if p.startswith(str(tmp_path)))

    logs = LogStore(tmp_path, LogSettings(open_files=2))
    for i in range(6):
        logs.append(f"t/app{i}/dev", {"request_id": str(i)})
    assert open_here() <= 2
    logs.close()
    assert open_here() == 0


def test_a_burst_is_written_before_the_batch_timer(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, LogSettings(bytes_per_environment=128 * 1024))

    async def burst() -> int:
        for i in range(10):
            logs.append("t/a/dev", big(i))
        # No await since the appends: only a write made during them can be in the file.
        return (tmp_path / "t/a/dev.jsonl").stat().st_size

    assert asyncio.run(burst()) > 128 * 1024
    logs.close()


def test_broken_lines_in_a_log_file_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "t/a").mkdir(parents=True)
    (tmp_path / "t/a/dev.jsonl").write_text('{"request_id": "ok"}\n{"request_id": \n[1]\n')
    assert LogStore(tmp_path).read("t/a/dev") == [{"request_id": "ok"}]


def test_a_slow_follower_holds_a_bounded_backlog(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, LogSettings(follower_bytes=256 * 1024))

    async def scenario() -> list[str]:
        stream = logs.follow("t/a/dev")
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)  # the follower is registered
        for i in range(50):  # the reader takes nothing while these arrive
            logs.append("t/a/dev", big(i))
        seen = [(await first)["request_id"]]
        while True:
            try:
                entry = await asyncio.wait_for(stream.__anext__(), 0.1)
            except TimeoutError:
                break
            seen.append(entry["request_id"])
        await stream.aclose()
        assert logs._followers == {}  # a reader that went away leaves nothing behind
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == "r0" and 1 < len(seen) <= 6
    logs.close()


@pytest.mark.parametrize(
    ("stdout", "logs"),
    [("", []), ("printed\n" * 100, []), ("é" * 50, [{"level": "info", "message": "m" * 300}])],
    ids=["empty", "ascii", "wide-with-logs"],
)
def test_an_invocations_size_is_what_weighing_it_says(stdout: str, logs: list[Any]) -> None:
    # Runtime.invoke passes this instead of walking every entry on every call: it must not
    # say less than the entry holds, or the per-environment byte bound would not hold.
    entry = {
        "ts": time.time(),
        "request_id": os.urandom(8).hex(),
        "function": "hello",
        "method": "GET",
        "status": 200,
        "stdout": stdout,
        "stderr": "",
        "logs": logs,
        "duration_ms": 0.25,
    }
    size = invocation_size("hello", stdout, "", logs)
    assert weigh(entry) <= size <= weigh(entry) + 512
