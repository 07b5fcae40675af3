"""``atoll serve`` takes its settings from options, then ``ATOLL_*``, and a setting that does
not fit stops it with one line naming the variable, before anything listens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ATOLL = Path(sys.executable).parent / "atoll"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ATOLL_PORT", "abc"),
        ("ATOLL_GATEWAY_PORT", "99999999999999999999999"),
        ("ATOLL_IDE_SESSION_IDLE_MINUTES", "0"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(name: str, value: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    env[name] = value
    ran = subprocess.run(
        [str(ATOLL), "serve", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(f"atoll: error: setting {name}=")
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    assert not (tmp_path / "data").exists()  # it stopped before writing anything
