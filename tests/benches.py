"""Running a script of ``bench/`` as a user would, for the tests of what it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def run_bench(script: str, *args: str, timeout: float) -> dict[str, Any]:
    """The one JSON object that ``bench/<script> <args>`` prints on its one line of output
    (it must exit 0; its numbers are not judged)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = proc.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(line)
    return result
