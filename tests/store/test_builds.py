"""Build records per app environment: newest revision wins, errors bounded, heads to build."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from atoll.errors import NotFound
from atoll.store import apps as app_repo
from atoll.store import builds, open_store
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, BuildError, BuildState, Revision

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated metadata store in a temp file."""
    engine = open_store(f"sqlite:///{tmp_path / 'meta.db'}")
    yield engine
    engine.dispose()


def _app(engine: sa.Engine, tenant: str = "acme", name: str = "shop") -> App:
    with engine.begin() as conn:
        try:
            owner = tenant_repo.get_tenant(conn, tenant)
        except NotFound:
            owner = tenant_repo.create_tenant(conn, tenant)
        return app_repo.create_app(conn, owner.id, name)


def _commit(engine: sa.Engine, app: App) -> Revision:
    """A new (empty) revision on top of the app's head."""
    with engine.begin() as conn:
        fresh = app_repo.get_app(conn, app.tenant_id, app.slug)
        number = fresh.revision_count + 1
        rev = Revision(
            id=f"{app.id:04x}{number:060x}",
            app_id=app.id,
            number=number,
            parent_id=fresh.head_revision,
            author="t",
            message="",
            created_at=T0,
            tree={},
            file_count=0,
            total_bytes=0,
        )
        app_repo.insert_revision(conn, fresh, rev)
        return rev


def test_a_build_goes_from_building_to_ready_and_becomes_live(engine: sa.Engine) -> None:
    app = _app(engine)
    with engine.begin() as conn:
        assert builds.get_build(conn, app.id, "dev") is None
        assert builds.start_build(conn, app.id, "dev", "r1", 1, T0)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None
        assert (record.revision, record.number, record.state) == ("r1", 1, "building")
        assert record.started_at == T0 and record.finished_at is None
        assert record.live_revision is None and record.errors == ()

        later = T0 + timedelta(seconds=2)
        assert builds.finish_build(conn, app.id, "dev", "r1", 1, "ready", [], T0, later)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None
        assert (record.state, record.finished_at) == ("ready", later)
        assert (record.live_revision, record.live_number) == ("r1", 1)
        # Other environments and apps are separate rows.
        assert builds.get_build(conn, app.id, "prod") is None


def test_a_failed_build_keeps_the_live_revision(engine: sa.Engine) -> None:
    app = _app(engine)
    error = BuildError("pages/index.json", 3, 5, "Expecting value")
    with engine.begin() as conn:
        builds.finish_build(conn, app.id, "dev", "r1", 1, "ready", [], T0, T0)
        builds.start_build(conn, app.id, "dev", "r2", 2, T0)
        builds.finish_build(conn, app.id, "dev", "r2", 2, "failed", [error], T0, T0)
        record = builds.get_build(conn, app.id, "dev")
    assert record is not None
    assert (record.revision, record.state, record.errors) == ("r2", "failed", (error,))
    assert (record.live_revision, record.live_number) == ("r1", 1)
    assert str(error) == "pages/index.json:3:5: Expecting value"


def test_the_newest_revision_wins_whatever_the_order(engine: sa.Engine) -> None:
    app = _app(engine)
    with engine.begin() as conn:
        assert builds.start_build(conn, app.id, "dev", "r3", 3, T0)
        # An older revision's start or end never replaces the newer record...
        assert not builds.start_build(conn, app.id, "dev", "r2", 2, T0)
        assert not builds.finish_build(conn, app.id, "dev", "r2", 2, "failed", [], T0, T0)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None and (record.revision, record.state) == ("r3", "building")
        # ... but an older revision that built is what the environment serves meanwhile.
        builds.finish_build(conn, app.id, "dev", "r2", 2, "ready", [], T0, T0)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None and (record.revision, record.live_revision) == ("r3", "r2")
        # Once finished, a late "building" of the same revision does not reopen it.
        builds.finish_build(conn, app.id, "dev", "r3", 3, "ready", [], T0, T0)
        assert not builds.start_build(conn, app.id, "dev", "r3", 3, T0)
        # And the live revision never moves back.
        builds.finish_build(conn, app.id, "dev", "r1", 1, "ready", [], T0, T0)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None
        assert (record.state, record.live_revision, record.live_number) == ("ready", "r3", 3)
        builds.forget_live(conn, app.id, "dev", 2)  # not the live one: nothing changes
        assert builds.get_build(conn, app.id, "dev") == record
        builds.forget_live(conn, app.id, "dev", 3)
        record = builds.get_build(conn, app.id, "dev")
        assert record is not None and record.live_revision is None


def test_errors_are_bounded_in_number_and_size(engine: sa.Engine) -> None:
    app = _app(engine)
    hostile = "\x1b[31mred\x1b[0m\nsecond line\ud800" + "x" * 10_000
    many = [BuildError("components/A.jsx", i + 1, 1, hostile) for i in range(500)]
    with engine.begin() as conn:
        builds.finish_build(conn, app.id, "dev", "r1", 1, "failed", many, T0, T0)
        record = builds.get_build(conn, app.id, "dev")
    assert record is not None
    assert len(record.errors) == builds.MAX_ERRORS
    assert record.errors[-1] == BuildError(None, None, None, "... and 451 more errors")
    first = record.errors[0]
    assert first.file == "components/A.jsx" and first.line == 1
    assert len(first.message) == builds.MAX_MESSAGE_CHARS
    assert first.message.startswith("[31mred [0m second line?xxx")
    assert all(ord(c) >= 0x20 for e in record.errors for c in e.message)
    # Nonsense positions are dropped, not stored.
    odd = builds.bounded_errors([BuildError("a.py", 0, -3, "")])
    assert odd == [BuildError("a.py", None, None, "(no message)")]


def test_heads_still_to_build(engine: sa.Engine) -> None:
    built, broken, fresh, interrupted, moved = (
        _app(engine, name=n) for n in ("built", "broken", "fresh", "interrupted", "moved")
    )
    _app(engine, name="empty")  # no revision: nothing to build
    other = _app(engine, tenant="globex", name="shop")
    revs = {a.slug: _commit(engine, a) for a in (built, broken, fresh, interrupted, moved)}
    other_rev = _commit(engine, other)
    with engine.begin() as conn:
        states: list[tuple[App, BuildState]] = [
            (built, "ready"),
            (broken, "failed"),
            (moved, "ready"),
        ]
        for app, state in states:
            rev = revs[app.slug]
            builds.finish_build(conn, app.id, "dev", rev.id, rev.number, state, [], T0, T0)
        rev = revs["interrupted"]
        builds.start_build(conn, interrupted.id, "dev", rev.id, rev.number, T0)
    newer = _commit(engine, moved)
    with engine.begin() as conn:
        heads = builds.unbuilt_heads(conn, "dev")
        assert builds.unbuilt_heads(conn, "prod") != []  # other environments are separate
    assert {(h.tenant, h.app, h.revision, h.number) for h in heads} == {
        ("acme", "fresh", revs["fresh"].id, 1),
        ("acme", "interrupted", revs["interrupted"].id, 1),
        ("acme", "moved", newer.id, 2),
        ("globex", "shop", other_rev.id, 1),
    }


def test_deleting_an_app_deletes_its_build_records(engine: sa.Engine) -> None:
    app = _app(engine)
    with engine.begin() as conn:
        builds.start_build(conn, app.id, "dev", "r1", 1, T0)
        app_repo.delete_app(conn, app.id)
        assert builds.get_build(conn, app.id, "dev") is None
