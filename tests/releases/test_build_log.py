"""A build's log: lines in order, steps timed by the clock it is given, errors as file:line."""

from __future__ import annotations

from atoll.releases.buildlog import BuildLog, size_text
from atoll.store.records import BuildError, PlannedMigration


def test_lines_timings_errors_and_migrations() -> None:
    now = [10.0]
    build_log = BuildLog(clock=lambda: now[0])
    mark = build_log.start()
    now[0] += 0.44
    build_log.say(f"functions: 2 compiled in {build_log.took(mark)}")
    build_log.errors(
        [
            BuildError("pages/index.json", 3, 7, "unknown node type"),
            BuildError(None, None, None, "something without a file"),
        ]
    )
    build_log.migrations.append(PlannedMigration("migrations/0001_init.sql", "additive"))
    assert build_log.text == (
        "functions: 2 compiled in 0.4 s\n"
        "pages/index.json:3:7: unknown node type\n"
        "something without a file"
    )
    assert build_log.migrations == [PlannedMigration("migrations/0001_init.sql", "additive")]
    now[0] -= 5  # a clock that went back never gives a negative time
    assert build_log.took(mark) == "0.0 s"


def test_sizes_for_people() -> None:
    assert [size_text(n) for n in (0, 1023, 1024, 114_688, 3_565_158)] == [
        "0 B",
        "1023 B",
        "1 KB",
        "112 KB",
        "3.4 MB",
    ]
