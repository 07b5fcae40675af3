"""Named crash points for crash tests: ``ATOLL_CRASH_AT=after-snapshot`` makes the process
that reaches ``crash_point("after-snapshot")`` kill itself with SIGKILL there, the way a
power cut or the OOM killer would. Unset (always, outside tests), a crash point costs one
dictionary lookup.

The points, in the order a promotion passes them: ``after-snapshot`` (the target database
copied, no migration applied), ``after-migrate`` (its migrations applied, the pointer not
moved), ``before-switch`` (inside the transaction that moves the pointer, before it
commits).
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "ATOLL_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, at once and without cleaning up, when ``ATOLL_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
