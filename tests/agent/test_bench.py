"""bench/agent.py runs end to end and prints one JSON object (its numbers are not judged)."""

from __future__ import annotations

import shutil

import pytest

from tests.benches import run_bench


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_agent_bench_prints_one_json_object() -> None:
    result = run_bench("agent.py", "--quick", timeout=600)
    assert result["benchmark"] == "agent" and result["settings"]["quick"]
    keys = {
        "context_pack_tokens_200_files",
        "context_pack_ms_200_files",
        "check_cycle_s_todo",
        "tool_call_overhead_ms",
    }
    assert set(result["targets"]) == set(result["measured"]) == set(result["targets_met"]) == keys
    packs = result["context_pack"]
    assert packs["generated_200_files"]["files"] == 200 and packs["todo"]["files"] > 1
    for pack in packs.values():
        assert pack["tokens_estimate"] > 0 and pack["build"]["n"] > 0
    assert result["check_cycle_todo"]["warm"]["n"] > 0
    for call in ("read_file", "edit_file", "bare_disk_read_baseline", "blob_store_read_baseline"):
        assert result["tool_calls"][call]["n"] > 0
    assert result["machine"]["cpus"] >= 1
