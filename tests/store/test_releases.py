"""Release records keep their build log (bounded) and planned migrations; lists leave the
log out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from atoll.store import apps as app_repo
from atoll.store import open_store
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import BuildError, PlannedMigration

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated metadata store in a temp file."""
    engine = open_store(f"sqlite:///{tmp_path / 'meta.db'}")
    yield engine
    engine.dispose()


def test_a_release_keeps_its_build_log_and_migrations(engine: sa.Engine) -> None:
    planned = [
        PlannedMigration("migrations/0001_init.sql", "additive"),
        PlannedMigration("migrations/0002_drop.sql", "destructive"),
    ]
    with engine.begin() as conn:
        app = app_repo.create_app(conn, tenant_repo.create_tenant(conn, "acme").id, "shop")
        started = release_repo.start_release(conn, app.id, "a" * 64, 1, "", "t", T0)
        assert started.build_log is None and started.migrations == ()
        release_repo.finish_release(
            conn, started.id, "ready", [], T0, build_log="one\ntwo", migrations=planned
        )
        # A finished release is never touched again.
        release_repo.finish_release(
            conn, started.id, "failed", [BuildError(None, None, None, "x")], T0, build_log="!"
        )
        got = release_repo.get_release(conn, app.id, 1)
        listed = release_repo.list_releases(conn, app.id)
    assert (got.state, got.build_log, got.migrations) == ("ready", "one\ntwo", tuple(planned))
    assert listed[0].build_log is None  # lists stay small
    assert listed[0].migrations == tuple(planned)


def test_a_long_log_keeps_its_end_from_a_whole_line_with_a_note() -> None:
    short = "line\n" * 10
    assert release_repo.bounded_log(short, limit=100) == short
    long = "".join(f"line {i}\n" for i in range(1000)) + "error: the end é"
    kept = release_repo.bounded_log(long, limit=200)
    assert len(kept.encode()) <= 200
    note, first, *_ = kept.splitlines()
    assert note == "[the start of this log was cut: it is kept to 200 bytes]"
    assert first.startswith("line ") and f"\n{first}\n" in long  # a whole line
    assert kept.endswith("error: the end é")
    # One line longer than the limit: its tail, never more than the limit.
    assert len(release_repo.bounded_log("é" * 1000, limit=100).encode()) <= 100
