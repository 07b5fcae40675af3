"""bench/ide.py runs end to end and prints one JSON object (its numbers are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "ide.py"


@pytest.mark.browser
def test_ide_bench_prints_one_json_object() -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium")
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = proc.stdout.strip().splitlines()
    result = json.loads(line)
    assert result["benchmark"] == "ide" and result["settings"]["edits"] == 3
    assert set(result["targets"]) == set(result["measured"]) == set(result["targets_met"])
    assert set(result["save_to_preview"]) == {"component", "function"}
    assert {"p50_ms", "p90_ms", "n"} <= set(result["save_to_preview"]["component"])
    assert result["javascript"]["all_js_gz_bytes"] > 0
