"""The build's helper processes: a child that reads one JSON request on stdin and answers
one JSON object on stdout (compiling functions, describing them, describing components).

Tenant files are only ever parsed in such children, never in the process that serves other
apps; whatever goes wrong there comes back as one line saying why.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

MAX_ANSWER_CHARS = 8 << 20  # of a child's JSON answer


class ChildFailed(Exception):
    """A helper process gave no usable answer; the message says why, in one line."""


def json_child(
    command: list[str],
    request: object,
    cwd: Path,
    timeout: float,
    max_answer: int = MAX_ANSWER_CHARS,
) -> dict[str, Any]:
    """Run ``command`` in ``cwd`` with ``request`` as JSON on its stdin; the JSON object it
    printed, or ``ChildFailed``."""
    try:
        proc = subprocess.run(
            command,
            input=json.dumps(request),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"it took longer than {timeout:.0f} s") from exc
    except OSError as exc:
        raise ChildFailed(exc.strerror or str(exc)) from exc
    if proc.returncode != 0 or len(proc.stdout) > max_answer:
        reason = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise ChildFailed(reason[0][:300])
    try:
        found = json.loads(proc.stdout)
    except ValueError as exc:
        raise ChildFailed("its answer is not JSON") from exc
    if not isinstance(found, dict):
        raise ChildFailed("its answer is not a JSON object")
    return found
