"""Runs the runtime's JavaScript unit tests (``tests/web/js/*.test.mjs``) under ``node --test``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = sorted((Path(__file__).parent / "js").glob("*.test.mjs"))


@pytest.mark.parametrize("test_file", JS_TESTS, ids=[p.name for p in JS_TESTS])
def test_node_unit_tests(test_file: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node")
    proc = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(test_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
