"""Release records: numbered per app, written once when built, never changed after."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from atoll.errors import Conflict, NotFound
from atoll.store.builds import bounded_errors, errors_from_json, errors_to_json
from atoll.store.records import (
    BuildError,
    BuildState,
    Deploy,
    EnvRelease,
    PlannedMigration,
    Release,
)
from atoll.store.tables import deploys, env_releases, releases
from atoll.store.tenants import as_utc, utc

MAX_NOTES_CHARS = 2000
MAX_LOG_BYTES = 64 * 1024  # of a build log as kept; its end is kept (where errors are)
MAX_MIGRATIONS = 1000  # planned migrations kept per release


def bounded_log(text: str, limit: int = MAX_LOG_BYTES) -> str:
    """A build log as kept: at most ``limit`` bytes of UTF-8, its start cut (with a note
    saying so) when it is longer, since the outcome and the errors come last."""
    data = text.encode()
    if len(data) <= limit:
        return text
    note = f"[the start of this log was cut: it is kept to {limit} bytes]\n"
    tail = data[len(data) - limit + len(note.encode()) :].decode(errors="ignore")
    newline = tail.find("\n")
    if 0 <= newline < len(tail) - 1:
        tail = tail[newline + 1 :]  # from the start of a whole line
    return note + tail


def migrations_to_json(migrations: Sequence[PlannedMigration]) -> str:
    """Planned migrations as the JSON text the store keeps (bounded)."""
    return json.dumps(
        [{"file": m.file[:500], "kind": m.kind[:20]} for m in migrations[:MAX_MIGRATIONS]],
        separators=(",", ":"),
    )


def migrations_from_json(text: str | None) -> tuple[PlannedMigration, ...]:
    """Planned migrations from the store's JSON text (none for releases from before 0006)."""
    if not text:
        return ()
    return tuple(PlannedMigration(str(m["file"]), str(m["kind"])) for m in json.loads(text))


def _release(row: Any) -> Release:
    fields = row._mapping
    return Release(
        id=row.id,
        app_id=row.app_id,
        number=row.number,
        revision=row.revision,
        revision_number=row.revision_number,
        state=row.state,
        errors=errors_from_json(row.errors),
        notes=row.notes,
        created_by=row.created_by,
        created_at=utc(row.created_at),
        finished_at=as_utc(row.finished_at),
        build_log=fields.get("build_log"),
        migrations=migrations_from_json(fields.get("migrations")),
    )


def start_release(
    conn: sa.Connection,
    app_id: int,
    revision: str,
    revision_number: int,
    notes: str,
    created_by: str,
    at: datetime,
) -> Release:
    """Record a new release of the app, building; it takes the next number."""
    number = (
        conn.execute(
            sa.select(sa.func.max(releases.c.number)).where(releases.c.app_id == app_id)
        ).scalar()
        or 0
    ) + 1
    values = {
        "app_id": app_id,
        "number": number,
        "revision": revision,
        "revision_number": revision_number,
        "state": "building",
        "errors": "[]",
        "notes": notes[:MAX_NOTES_CHARS],
        "created_by": created_by[:200],
        "created_at": at,
    }
    try:
        with conn.begin_nested():
            release_id = conn.execute(sa.insert(releases).values(**values)).inserted_primary_key
    except sa.exc.IntegrityError as exc:  # another release took the number meanwhile
        raise Conflict("another release of this app is being created; try again") from exc
    assert release_id is not None
    return _release(conn.execute(sa.select(releases).where(releases.c.id == release_id[0])).one())


def finish_release(
    conn: sa.Connection,
    release_id: int,
    state: BuildState,
    errors: list[BuildError],
    at: datetime,
    build_log: str | None = None,
    migrations: Sequence[PlannedMigration] = (),
) -> None:
    """Record how a building release's build went (its errors, its log, the migrations it
    planned); a finished release is never touched."""
    conn.execute(
        sa.update(releases)
        .where(releases.c.id == release_id, releases.c.state == "building")
        .values(
            state=state,
            errors=errors_to_json(bounded_errors(errors)),
            finished_at=at,
            build_log=bounded_log(build_log) if build_log is not None else None,
            migrations=migrations_to_json(migrations),
        )
    )


def list_releases(conn: sa.Connection, app_id: int) -> list[Release]:
    """The app's releases, newest first (without their build logs: lists stay small)."""
    listed = [c for c in releases.c if c.name != "build_log"]
    rows = conn.execute(
        sa.select(*listed).where(releases.c.app_id == app_id).order_by(releases.c.number.desc())
    )
    return [_release(row) for row in rows]


def get_release(conn: sa.Connection, app_id: int, number: int) -> Release:
    """The app's release ``v{number}``; ``NotFound`` when it has none."""
    row = conn.execute(
        sa.select(releases).where(releases.c.app_id == app_id, releases.c.number == number)
    ).first()
    if row is None:
        raise NotFound(f"release v{number} not found", release=f"v{number}")
    return _release(row)


def _env_release(row: Any) -> EnvRelease:
    return EnvRelease(
        app_id=row.app_id,
        env=row.env,
        release_number=row.release_number,
        deployed_at=utc(row.deployed_at),
        deployed_by=row.deployed_by,
    )


def get_env_release(conn: sa.Connection, app_id: int, env: str) -> EnvRelease | None:
    """The release ``env`` serves, or None when none was deployed there."""
    row = conn.execute(
        sa.select(env_releases).where(env_releases.c.app_id == app_id, env_releases.c.env == env)
    ).first()
    return None if row is None else _env_release(row)


def list_env_releases(conn: sa.Connection, app_id: int) -> dict[str, EnvRelease]:
    """The releases the app's environments serve, by environment."""
    rows = conn.execute(sa.select(env_releases).where(env_releases.c.app_id == app_id))
    return {row.env: _env_release(row) for row in rows}


def set_env_release(
    conn: sa.Connection, app_id: int, env: str, number: int, by: str, at: datetime
) -> None:
    """Point ``env`` at release ``v{number}``."""
    values = {"release_number": number, "deployed_at": at, "deployed_by": by[:200]}
    done = conn.execute(
        sa.update(env_releases)
        .where(env_releases.c.app_id == app_id, env_releases.c.env == env)
        .values(**values)
    )
    if not done.rowcount:
        conn.execute(sa.insert(env_releases).values(app_id=app_id, env=env, **values))


def record_deploy(
    conn: sa.Connection,
    app_id: int,
    env: str,
    action: str,
    from_number: int | None,
    to_number: int,
    result: str,
    detail: str,
    by: str,
    at: datetime,
    duration_ms: float,
) -> int:
    """Add one promotion or rollback to the environment's history; its id."""
    done = conn.execute(
        sa.insert(deploys).values(
            app_id=app_id,
            env=env,
            action=action,
            from_number=from_number,
            to_number=to_number,
            result=result,
            detail=detail[:2000],
            by=by[:200],
            at=at,
            duration_ms=duration_ms,
        )
    )
    key = done.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_deploy(
    conn: sa.Connection, deploy_id: int, result: str, detail: str, duration_ms: float
) -> None:
    """Record how a promotion or rollback recorded as ``running`` ended."""
    conn.execute(
        sa.update(deploys)
        .where(deploys.c.id == deploy_id)
        .values(result=result, detail=detail[:2000], duration_ms=duration_ms)
    )


def fail_running_deploys(conn: sa.Connection, detail: str) -> int:
    """Record every promotion or rollback still ``running`` as failed (the server stopped
    during it); how many there were."""
    done = conn.execute(
        sa.update(deploys)
        .where(deploys.c.result == "running")
        .values(result="failed", detail=detail)
    )
    return int(done.rowcount or 0)


def list_deploys(conn: sa.Connection, app_id: int, env: str, limit: int = 100) -> list[Deploy]:
    """The environment's promotions and rollbacks, newest first."""
    rows = conn.execute(
        sa.select(deploys)
        .where(deploys.c.app_id == app_id, deploys.c.env == env)
        .order_by(deploys.c.id.desc())
        .limit(limit)
    )
    return [
        Deploy(
            id=row.id,
            env=row.env,
            action=row.action,
            from_number=row.from_number,
            to_number=row.to_number,
            result=row.result,
            detail=row.detail,
            by=row.by,
            at=utc(row.at),
            duration_ms=row.duration_ms,
        )
        for row in rows
    ]
