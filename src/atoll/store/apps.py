"""Apps and their workspace revisions; the head moves only by compare-and-swap."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from atoll.errors import AlreadyExists, NotFound, StaleRevision
from atoll.names import check_slug
from atoll.store.records import App, Revision
from atoll.store.tables import (
    app_envs,
    apps,
    deploys,
    env_builds,
    env_releases,
    env_var_changes,
    env_vars,
    releases,
    revisions,
    tenants,
)
from atoll.store.tenants import now, utc


def _app(row: Any) -> App:
    return App(
        id=row.id,
        tenant_id=row.tenant_id,
        slug=row.slug,
        created_at=utc(row.created_at),
        head_revision=row.head_revision,
        revision_count=row.revision_count,
    )


def _revision(row: Any) -> Revision:
    tree = {path: (entry[0], int(entry[1])) for path, entry in json.loads(row.tree).items()}
    return Revision(
        id=row.id,
        app_id=row.app_id,
        number=row.number,
        parent_id=row.parent_id,
        author=row.author,
        message=row.message,
        created_at=utc(row.created_at),
        tree=tree,
        file_count=row.file_count,
        total_bytes=row.total_bytes,
    )


def create_app(conn: sa.Connection, tenant_id: int, slug: str) -> App:
    """Create an empty app (no revision yet); ``AlreadyExists`` if the slug is taken."""
    check_slug(slug, "app")
    taken = sa.select(apps.c.id).where(apps.c.tenant_id == tenant_id, apps.c.slug == slug)
    if conn.execute(taken).first():
        raise AlreadyExists(f"app {slug!r} already exists", app=slug)
    created = now()
    key = conn.execute(
        apps.insert().values(tenant_id=tenant_id, slug=slug, created_at=created)
    ).inserted_primary_key
    assert key is not None
    return App(
        id=key[0],
        tenant_id=tenant_id,
        slug=slug,
        created_at=created,
        head_revision=None,
        revision_count=0,
    )


def get_app(conn: sa.Connection, tenant_id: int, slug: str) -> App:
    """The tenant's app named ``slug``; another tenant's app is ``NotFound`` too."""
    row = conn.execute(
        sa.select(apps).where(apps.c.tenant_id == tenant_id, apps.c.slug == slug)
    ).first()
    if row is None:
        raise NotFound(f"app {slug!r} not found", app=slug)
    return _app(row)


def find_app(conn: sa.Connection, tenant_slug: str, app_slug: str) -> App | None:
    """The app ``app_slug`` of the tenant ``tenant_slug``, or None when either is missing."""
    row = conn.execute(
        sa.select(apps)
        .join(tenants, tenants.c.id == apps.c.tenant_id)
        .where(tenants.c.slug == tenant_slug, apps.c.slug == app_slug)
    ).first()
    return None if row is None else _app(row)


def list_apps(conn: sa.Connection, tenant_id: int) -> list[App]:
    """The tenant's apps, by name."""
    rows = conn.execute(sa.select(apps).where(apps.c.tenant_id == tenant_id).order_by(apps.c.slug))
    return [_app(r) for r in rows]


def delete_app(conn: sa.Connection, app_id: int) -> None:
    """Delete an app's rows (its revisions, builds, releases, deploys, vars and created
    environments go with it)."""
    tables = (deploys, env_releases, releases, env_builds, env_vars, env_var_changes, app_envs)
    for table in tables:
        conn.execute(table.delete().where(table.c.app_id == app_id))
    conn.execute(revisions.delete().where(revisions.c.app_id == app_id))
    conn.execute(apps.delete().where(apps.c.id == app_id))


def insert_revision(conn: sa.Connection, app: App, revision: Revision) -> None:
    """Store ``revision`` and move the app's head to it, if the head is still its parent."""
    moved = conn.execute(
        apps.update()
        .where(
            apps.c.id == app.id,
            apps.c.head_revision.is_(None)
            if revision.parent_id is None
            else apps.c.head_revision == revision.parent_id,
        )
        .values(head_revision=revision.id, revision_count=apps.c.revision_count + 1)
    )
    if moved.rowcount != 1:
        current = conn.execute(sa.select(apps.c.head_revision).where(apps.c.id == app.id)).scalar()
        raise StaleRevision(
            "the workspace moved since the revision this write was based on; "
            "read the new head and retry",
            base=revision.parent_id,
            head=current,
        )
    tree = {path: [sha, size] for path, (sha, size) in sorted(revision.tree.items())}
    conn.execute(
        revisions.insert().values(
            id=revision.id,
            app_id=revision.app_id,
            number=revision.number,
            parent_id=revision.parent_id,
            author=revision.author,
            message=revision.message,
            created_at=revision.created_at,
            tree=json.dumps(tree, separators=(",", ":")),
            file_count=revision.file_count,
            total_bytes=revision.total_bytes,
        )
    )


def get_revision(conn: sa.Connection, app_id: int, revision_id: str) -> Revision:
    """One of the app's revisions, by id, unique id prefix or ``rN`` number."""
    query = sa.select(revisions).where(revisions.c.app_id == app_id)
    if revision_id.startswith("r") and revision_id[1:].isdigit():
        rows = conn.execute(query.where(revisions.c.number == int(revision_id[1:]))).all()
    elif 4 <= len(revision_id) <= 64 and all(c in "0123456789abcdef" for c in revision_id):
        rows = conn.execute(query.where(revisions.c.id.startswith(revision_id)).limit(2)).all()
    else:
        rows = []
    if len(rows) != 1:
        raise NotFound(f"revision {revision_id!r} not found", revision=revision_id)
    return _revision(rows[0])


def referenced_blobs(conn: sa.Connection, app_id: int) -> set[str]:
    """The SHA-256 of every file in any of the app's revisions."""
    rows = conn.execute(sa.select(revisions.c.tree).where(revisions.c.app_id == app_id))
    return {entry[0] for row in rows for entry in json.loads(row.tree).values()}


def list_revisions(
    conn: sa.Connection, app_id: int, limit: int, before: int | None = None
) -> list[Revision]:
    """The app's revisions, newest first, optionally those numbered below ``before``."""
    query = sa.select(revisions).where(revisions.c.app_id == app_id)
    if before is not None:
        query = query.where(revisions.c.number < before)
    rows = conn.execute(query.order_by(revisions.c.number.desc()).limit(limit))
    return [_revision(r) for r in rows]
