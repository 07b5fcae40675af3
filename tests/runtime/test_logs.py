"""LogStore: append, read by request id, file fallback and rotation, follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atoll.runtime import LogStore


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
    logs = LogStore(tmp_path, max_file_bytes=10_000)
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
