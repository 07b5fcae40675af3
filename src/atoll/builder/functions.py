"""Checking an app's functions before they deploy: every ``functions/**/*.py`` must compile.

The files are compiled, never run, and in a child interpreter: compiling a hostile file
can hold the GIL for seconds or exhaust the parser's memory, and neither may stall the
process that serves other apps.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from atoll.store.records import BuildError

FUNCTIONS_DIR = "functions"
CHECK_SCRIPT = Path(__file__).with_name("_compile_check.py")
CHECK_TIMEOUT_S = 60.0


def function_files(src_dir: Path) -> list[str]:
    """The Python files under ``functions/``, relative to ``src_dir``, in order."""
    folder = src_dir / FUNCTIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(src_dir).as_posix()
        for p in folder.rglob("*.py")
        if p.is_file() and not p.is_symlink()
    )


def _position(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_functions(src_dir: Path) -> list[BuildError]:
    """Every function file of the app at ``src_dir`` that does not compile, with its line."""
    files = function_files(src_dir)
    if not files:
        return []
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", str(CHECK_SCRIPT)],
            input=json.dumps(files),
            cwd=src_dir,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"compiling the functions took longer than {CHECK_TIMEOUT_S:.0f} s"
        return [BuildError(FUNCTIONS_DIR, None, None, message)]
    try:
        found = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        found = None
    if not isinstance(found, list):
        reason = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        message = f"the functions could not be compiled: {reason[0][:500]}"
        return [BuildError(FUNCTIONS_DIR, None, None, message)]
    return [
        BuildError(
            file=str(e.get("file")),
            line=_position(e.get("line")),
            column=_position(e.get("column")),
            message=str(e.get("message")),
        )
        for e in found
        if isinstance(e, dict)
    ]
