"""Tenants and their API tokens (stored hashed, shown once)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from atoll.errors import AlreadyExists, BadRequest, NotFound
from atoll.names import check_slug
from atoll.store.records import Tenant, Token
from atoll.store.tables import tenants, tokens

TOKEN_PREFIX = "atl_"
_PREFIX_LEN = 12


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite returns stored UTC times naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def hash_token(secret: str) -> str:
    """The stored form of a token (tokens are 256-bit random, so one SHA-256 suffices)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def utc(value: datetime) -> datetime:
    """A stored, never-null timestamp as an aware UTC datetime."""
    aware = as_utc(value)
    assert aware is not None
    return aware


ISOLATION_TIERS = ("default", "bwrap", "gvisor")


def check_isolation(isolation: str) -> str:
    """``isolation`` if it names a tier; BadRequest otherwise."""
    if isolation not in ISOLATION_TIERS:
        raise BadRequest(
            f"unknown isolation tier {isolation!r}", isolation=isolation, known=ISOLATION_TIERS
        )
    return isolation


def _tenant(row: Any) -> Tenant:
    return Tenant(id=row.id, slug=row.slug, created_at=utc(row.created_at), isolation=row.isolation)


def _token(row: Any) -> Token:
    return Token(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        prefix=row.prefix,
        created_at=utc(row.created_at),
        last_used_at=as_utc(row.last_used_at),
        revoked_at=as_utc(row.revoked_at),
    )


def create_tenant(conn: sa.Connection, slug: str, isolation: str = "default") -> Tenant:
    """Create a tenant on an isolation tier; ``AlreadyExists`` if the slug is taken."""
    check_slug(slug, "tenant")
    check_isolation(isolation)
    if conn.execute(sa.select(tenants.c.id).where(tenants.c.slug == slug)).first():
        raise AlreadyExists(f"tenant {slug!r} already exists", tenant=slug)
    created = now()
    values = {"slug": slug, "created_at": created, "isolation": isolation}
    tid = conn.execute(tenants.insert().values(**values)).inserted_primary_key
    assert tid is not None
    return Tenant(id=tid[0], slug=slug, created_at=created, isolation=isolation)


def set_isolation(conn: sa.Connection, slug: str, isolation: str) -> Tenant:
    """Move a tenant to another isolation tier (its next sandboxes use it)."""
    check_isolation(isolation)
    tenant = get_tenant(conn, slug)
    conn.execute(tenants.update().where(tenants.c.id == tenant.id).values(isolation=isolation))
    return get_tenant(conn, slug)


def get_tenant(conn: sa.Connection, slug: str) -> Tenant:
    """The tenant named ``slug``."""
    row = conn.execute(sa.select(tenants).where(tenants.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"tenant {slug!r} not found", tenant=slug)
    return _tenant(row)


def get_tenant_by_id(conn: sa.Connection, tenant_id: int) -> Tenant:
    """The tenant with primary key ``tenant_id``."""
    row = conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise NotFound("tenant not found")
    return _tenant(row)


def list_tenants(conn: sa.Connection) -> list[Tenant]:
    """Every tenant, oldest first."""
    return [_tenant(r) for r in conn.execute(sa.select(tenants).order_by(tenants.c.id))]


def create_token(conn: sa.Connection, tenant_id: int | None, name: str) -> tuple[Token, str]:
    """Mint a token for a tenant (or an admin token for ``None``); returns it and its secret."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = now()
    values = {
        "tenant_id": tenant_id,
        "name": name,
        "prefix": secret[:_PREFIX_LEN],
        "hash": hash_token(secret),
        "created_at": created,
    }
    key = conn.execute(tokens.insert().values(**values)).inserted_primary_key
    assert key is not None
    token = Token(
        id=key[0],
        tenant_id=tenant_id,
        name=name,
        prefix=secret[:_PREFIX_LEN],
        created_at=created,
        last_used_at=None,
        revoked_at=None,
    )
    return token, secret


def resolve_token(conn: sa.Connection, secret: str) -> Token | None:
    """The live token whose secret is ``secret``, or None if unknown or revoked."""
    row = conn.execute(sa.select(tokens).where(tokens.c.hash == hash_token(secret))).first()
    if row is None or row.revoked_at is not None:
        return None
    return _token(row)


def get_token(conn: sa.Connection, token_id: int) -> Token:
    """A token by id (revoked ones too); ``NotFound`` if there is none."""
    row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"token {token_id} not found", token=token_id)
    return _token(row)


def touch_token(conn: sa.Connection, token_id: int) -> None:
    """Record that a token was just used."""
    conn.execute(tokens.update().where(tokens.c.id == token_id).values(last_used_at=now()))


def list_tokens(conn: sa.Connection, tenant_id: int | None) -> list[Token]:
    """The tenant's tokens (admin tokens for ``None``), revoked ones included."""
    owner = tokens.c.tenant_id.is_(None) if tenant_id is None else tokens.c.tenant_id == tenant_id
    rows = conn.execute(sa.select(tokens).where(owner).order_by(tokens.c.id))
    return [_token(r) for r in rows]


def revoke_token(conn: sa.Connection, tenant_id: int | None, token_id: int) -> Token:
    """Revoke one of the tenant's tokens; another tenant's token is ``NotFound``."""
    owner = tokens.c.tenant_id.is_(None) if tenant_id is None else tokens.c.tenant_id == tenant_id
    row = conn.execute(sa.select(tokens).where(owner, tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"token {token_id} not found", token=token_id)
    if row.revoked_at is None:
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked_at=now()))
    return _token(conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one())
