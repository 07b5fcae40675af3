"""Build status per app environment: the latest attempt, its errors, and what it serves.

One row per (app, environment). Writes are compare-and-set on the revision number, in one
statement each, so writers racing in any order leave the newest revision's record: a
record of an older revision never replaces a newer one, and ``building`` never replaces
the finished record of the same revision.

Errors come from tenant files (messages echo their content), so what is stored is
bounded: at most ``MAX_ERRORS`` errors, each one line of at most ``MAX_MESSAGE_CHARS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from atoll.store.records import BuildError, BuildState, EnvBuild
from atoll.store.tables import apps, env_builds, revisions, tenants
from atoll.store.tenants import as_utc, utc

MAX_ERRORS = 50
MAX_MESSAGE_CHARS = 2000
MAX_FILE_CHARS = 1024
# Newlines, tabs and terminal escapes: each error prints as exactly one plain line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _clean(text: str, most: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    return text if len(text) <= most else text[: most - 1] + "…"


def _position(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def bounded_errors(errors: Sequence[BuildError]) -> list[BuildError]:
    """``errors`` as stored: at most ``MAX_ERRORS``, the last one counting any left out."""
    kept = [
        BuildError(
            file=_clean(e.file, MAX_FILE_CHARS) if e.file else None,
            line=_position(e.line),
            column=_position(e.column),
            message=_clean(e.message, MAX_MESSAGE_CHARS) or "(no message)",
        )
        for e in errors[:MAX_ERRORS]
    ]
    if len(errors) > MAX_ERRORS:
        left_out = len(errors) - MAX_ERRORS + 1
        kept[-1] = BuildError(None, None, None, f"... and {left_out} more errors")
    return kept


def errors_to_json(errors: Sequence[BuildError]) -> str:
    """Build errors as the JSON text the store keeps (bounded)."""
    return json.dumps(
        [
            {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
            for e in bounded_errors(errors)
        ],
        separators=(",", ":"),
    )


def errors_from_json(text: str) -> tuple[BuildError, ...]:
    """Build errors from the store's JSON text."""
    return tuple(
        BuildError(e.get("file"), e.get("line"), e.get("column"), str(e.get("message", "")))
        for e in json.loads(text)
    )


def _env_build(row: Any) -> EnvBuild:
    return EnvBuild(
        app_id=row.app_id,
        env=row.env,
        revision=row.revision,
        number=row.number,
        state=row.state,
        errors=errors_from_json(row.errors),
        started_at=utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        live_revision=row.live_revision,
        live_number=row.live_number,
    )


def get_build(conn: sa.Connection, app_id: int, env: str) -> EnvBuild | None:
    """The build record of one app environment, or None if it never built."""
    row = conn.execute(
        sa.select(env_builds).where(env_builds.c.app_id == app_id, env_builds.c.env == env)
    ).first()
    return _env_build(row) if row is not None else None


def _upsert(conn: sa.Connection, app_id: int, env: str, values: dict[str, Any], newer: Any) -> bool:
    """Insert the row, or update it where ``newer`` holds; whether anything was written."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(env_builds).values(app_id=app_id, env=env, **values)
    statement = insert.on_conflict_do_update(
        index_elements=[env_builds.c.app_id, env_builds.c.env],
        set_={name: insert.excluded[name] for name in values},
        where=newer(insert.excluded),
    )
    # RETURNING names the rows written on both dialects (rowcount does not, on PostgreSQL).
    return conn.execute(statement.returning(env_builds.c.app_id)).first() is not None


def start_build(
    conn: sa.Connection, app_id: int, env: str, revision: str, number: int, at: datetime
) -> bool:
    """Record that revision ``number`` of the environment is building, unless that revision
    or a newer one is recorded already; whether it was recorded."""
    values = {
        "revision": revision,
        "number": number,
        "state": "building",
        "errors": "[]",
        "started_at": at,
        "finished_at": None,
    }
    return _upsert(conn, app_id, env, values, lambda new: env_builds.c.number < new.number)


def finish_build(
    conn: sa.Connection,
    app_id: int,
    env: str,
    revision: str,
    number: int,
    state: BuildState,
    errors: Sequence[BuildError],
    started_at: datetime,
    finished_at: datetime,
) -> bool:
    """Record how the build of revision ``number`` ended (a ready one is what the environment
    serves from now on, unless it already serves a newer one); whether the attempt was
    recorded (not when a newer revision's is)."""
    values = {
        "revision": revision,
        "number": number,
        "state": state,
        "errors": errors_to_json(errors),
        "started_at": started_at,
        "finished_at": finished_at,
    }
    recorded = _upsert(conn, app_id, env, values, lambda new: env_builds.c.number <= new.number)
    if state == "ready":
        conn.execute(
            env_builds.update()
            .where(
                env_builds.c.app_id == app_id,
                env_builds.c.env == env,
                sa.or_(env_builds.c.live_number.is_(None), env_builds.c.live_number < number),
            )
            .values(live_revision=revision, live_number=number)
        )
    return recorded


def forget_live(conn: sa.Connection, app_id: int, env: str, number: int) -> None:
    """Record that the environment no longer serves revision ``number`` (it could not be
    deployed again)."""
    conn.execute(
        env_builds.update()
        .where(
            env_builds.c.app_id == app_id,
            env_builds.c.env == env,
            env_builds.c.live_number == number,
        )
        .values(live_revision=None, live_number=None)
    )


@dataclass(frozen=True)
class UnbuiltHead:
    """A workspace head whose build in one environment has not finished."""

    tenant: str
    app: str
    app_id: int
    revision: str
    number: int


def unbuilt_heads(conn: sa.Connection, env: str) -> list[UnbuiltHead]:
    """Heads that ``env`` never finished building: committed while no builder listened,
    or left ``building`` by a process that stopped."""
    joined = (
        apps.join(tenants, tenants.c.id == apps.c.tenant_id)
        .join(revisions, revisions.c.id == apps.c.head_revision)
        .outerjoin(env_builds, sa.and_(env_builds.c.app_id == apps.c.id, env_builds.c.env == env))
    )
    query = (
        sa.select(tenants.c.slug.label("tenant"), apps.c.slug, apps.c.id, revisions.c.number)
        .add_columns(revisions.c.id.label("revision"))
        .select_from(joined)
        .where(
            sa.or_(
                env_builds.c.app_id.is_(None),
                env_builds.c.state == "building",
                env_builds.c.number < revisions.c.number,
            )
        )
        .order_by(apps.c.id)
    )
    return [
        UnbuiltHead(row.tenant, row.slug, row.id, row.revision, row.number)
        for row in conn.execute(query)
    ]
