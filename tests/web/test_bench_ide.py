"""bench/ide.py runs end to end and prints one JSON object (its numbers are not judged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import run_bench


@pytest.mark.browser
def test_ide_bench_prints_one_json_object() -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium")
    result = run_bench("ide.py", "--quick", timeout=600)
    assert result["benchmark"] == "ide" and result["settings"]["edits"] == 3
    assert set(result["targets"]) == set(result["measured"]) == set(result["targets_met"])
    assert set(result["save_to_preview"]) == {"component", "function"}
    assert {"p50_ms", "p90_ms", "n"} <= set(result["save_to_preview"]["component"])
    assert result["javascript"]["all_js_gz_bytes"] > 0
