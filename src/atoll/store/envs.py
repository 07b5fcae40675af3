"""An app's environments: ``dev``, ``staging`` and ``prod``, which every app has, and the
ones its tenant creates (rows of ``app_envs``); the rules a created one's name follows.

``check_app_environment`` is the one answer to "is ENV an environment of this app": every
route and operation that names an environment asks it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from atoll.errors import AlreadyExists, Conflict, InvalidName, LimitExceeded, NotFound
from atoll.names import DEFAULT_ENVIRONMENTS, MAX_ORIGIN_LABEL, AppEnv, check_slug
from atoll.store import vars as vars_repo
from atoll.store.records import App, CustomEnv
from atoll.store.tables import app_envs, deploys, env_builds, env_releases
from atoll.store.tenants import utc

MAX_CUSTOM_ENVS = 20  # environments a tenant may create per app, beside the three defaults


# -- the rules (no I/O) ------------------------------------------------------------------


def check_env_name(name: str, app: str, tenant: str) -> str:
    """``name`` if an environment of ``app`` (of ``tenant``) may take it: a slug (2-40
    characters, no ``--``, which separates the parts of the origin host) that keeps the
    origin's first label ``{env}--{app}--{tenant}`` a valid DNS label (63 characters at
    most); else ``InvalidName`` saying which rule it breaks."""
    check_slug(name, "environment")
    label = AppEnv(tenant=tenant, app=app, env=name).label
    if len(label) > MAX_ORIGIN_LABEL:
        room = MAX_ORIGIN_LABEL - (len(label) - len(name))
        raise InvalidName(
            f"environment name {name!r} is too long for app {app!r}: its origin would start "
            f"with {label!r}, {len(label)} characters, and a DNS label holds at most "
            f"{MAX_ORIGIN_LABEL}; use at most {room} characters",
            kind="environment",
            name=name,
            max_length=max(room, 0),
        )
    return name


# -- rows ---------------------------------------------------------------------------------


def _custom(row: Any) -> CustomEnv:
    return CustomEnv(
        app_id=row.app_id, name=row.name, created_at=utc(row.created_at), created_by=row.created_by
    )


def _of_app(app_id: int, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(app_envs.c.app_id == app_id, app_envs.c.name == name)


def list_custom_envs(conn: sa.Connection, app_id: int) -> list[CustomEnv]:
    """The environments created for the app, oldest first."""
    rows = conn.execute(
        sa.select(app_envs)
        .where(app_envs.c.app_id == app_id)
        .order_by(app_envs.c.created_at, app_envs.c.name)
    )
    return [_custom(r) for r in rows]


def app_environments(conn: sa.Connection, app_id: int) -> tuple[str, ...]:
    """The app's environments in their stable order: dev, staging, prod, then the ones
    created for it, oldest first."""
    return DEFAULT_ENVIRONMENTS + tuple(e.name for e in list_custom_envs(conn, app_id))


def is_app_environment(conn: sa.Connection, app_id: int, env: str) -> bool:
    """Whether ``env`` is one of the app's environments (no query for the defaults)."""
    if env in DEFAULT_ENVIRONMENTS:
        return True
    found = conn.execute(sa.select(app_envs.c.name).where(_of_app(app_id, env))).first()
    return found is not None


def check_app_environment(conn: sa.Connection, app: App, env: str) -> str:
    """``env`` if it is one of the app's environments, else ``NotFound`` (404)."""
    if not is_app_environment(conn, app.id, env):
        raise _not_found(app, env)
    return env


def _not_found(app: App, env: str) -> NotFound:
    return NotFound(
        f"environment {env!r} not found in app {app.slug!r} ('atoll env create' makes one)",
        env=env,
        app=app.slug,
    )


def create_env(
    conn: sa.Connection, app: App, tenant: str, name: str, by: str, at: datetime
) -> CustomEnv:
    """Create the environment ``name`` for ``app`` (of ``tenant``): ``InvalidName`` for a
    name it may not take, ``AlreadyExists`` when the app has it (the defaults included),
    ``LimitExceeded`` past ``MAX_CUSTOM_ENVS``. It starts empty: no release, no vars; its
    database is made when a release is first promoted there."""
    check_env_name(name, app.slug, tenant)
    if is_app_environment(conn, app.id, name):
        raise AlreadyExists(f"app {app.slug!r} already has environment {name!r}", env=name)
    _forget(conn, app.id, name, by, at)  # left by a promotion that raced the last deletion
    created = CustomEnv(app_id=app.id, name=name, created_at=at, created_by=by[:200])
    try:
        with conn.begin_nested():
            conn.execute(
                app_envs.insert().values(
                    app_id=app.id, name=name, created_at=at, created_by=created.created_by
                )
            )
    except sa.exc.IntegrityError as exc:  # created meanwhile by another request
        raise AlreadyExists(f"app {app.slug!r} already has environment {name!r}", env=name) from exc
    # Counted after the insert: of two creations at once, the later one sees both.
    count = conn.execute(
        sa.select(sa.func.count()).select_from(app_envs).where(app_envs.c.app_id == app.id)
    ).scalar_one()
    if count > MAX_CUSTOM_ENVS:
        raise LimitExceeded(
            f"an app has at most {MAX_CUSTOM_ENVS} environments besides dev, staging and "
            "prod; delete one first ('atoll env delete')",
            limit="max_envs",
            max=MAX_CUSTOM_ENVS,
        )
    return created


def delete_env(conn: sa.Connection, app: App, name: str, by: str, at: datetime) -> CustomEnv:
    """Delete the created environment ``name`` of ``app``: its row, its release pointer, its
    deploy history and its vars (their names-only history is kept, with one last change
    that unsets them all, so a version seen before never means other vars). ``Conflict``
    for dev, staging and prod; ``NotFound`` when the app has no such environment. Its
    database is the caller's to delete, after this commits."""
    if name in DEFAULT_ENVIRONMENTS:
        raise Conflict(
            f"{name} is an environment of every app and cannot be deleted; "
            "only environments created with 'atoll env create' can",
            env=name,
        )
    row = conn.execute(sa.select(app_envs).where(_of_app(app.id, name))).first()
    if row is None:
        raise _not_found(app, name)
    conn.execute(app_envs.delete().where(_of_app(app.id, name)))
    _forget(conn, app.id, name, by, at)
    return _custom(row)


def _forget(conn: sa.Connection, app_id: int, env: str, by: str, at: datetime) -> None:
    """Delete what an environment served and held: its pointer, deploy history and builds;
    its vars are unset in one change (the version moves on: caches keyed by it refresh)."""
    for table in (env_releases, deploys, env_builds):
        conn.execute(table.delete().where(table.c.app_id == app_id, table.c.env == env))
    keys = [v.key for v in vars_repo.list_vars(conn, app_id, env)]
    if keys:
        vars_repo.change_vars(conn, app_id, env, {}, keys, False, by, at)
