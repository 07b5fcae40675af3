"""A build's log: what each step of ``build_revision`` did and how long it took, and the
migrations it planned; a release keeps both (``store.releases``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from atoll.store.records import BuildError, PlannedMigration


def size_text(size: int) -> str:
    """A byte count for people: ``812 B``, ``112 KB``, ``3.4 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class BuildLog:
    """The progress lines of one build, in order, and the migrations it planned.

    Handed down to the build's steps (never a global), which each say what they did; the
    clock is a parameter so tests can give one that moves as they say.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lines: list[str] = []
        self.migrations: list[PlannedMigration] = []
        self._clock = clock

    def say(self, line: str) -> None:
        """Add one line."""
        self.lines.append(line)

    def start(self) -> float:
        """A mark to time a step from (``took``)."""
        return self._clock()

    def took(self, mark: float) -> str:
        """How long since ``mark``, as ``0.4 s``."""
        return f"{max(0.0, self._clock() - mark):.1f} s"

    def errors(self, errors: Iterable[BuildError]) -> None:
        """One line per error, as ``file:line:col: message``."""
        for error in errors:
            self.say(str(error))

    @property
    def text(self) -> str:
        """The log as one text, a line each."""
        return "\n".join(self.lines)
