"""The IDE's sessions (``ide_sessions``): a browser signed in with an API token.

The cookie holds a 256-bit secret; only its SHA-256 is stored. A session lives while its
token does (revoking the token ends its sessions), until its idle time or its maximum age
runs out, or until it signs out. Each carries the CSRF token the IDE's scripts send back on
every state-changing call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from atoll.store.tables import ide_sessions, tokens
from atoll.store.tenants import hash_token, now, utc

_TOUCH_EVERY = timedelta(minutes=1)  # seen_at is written at most this often


@dataclass(frozen=True)
class Session:
    """A live session: whose token it runs on, and its CSRF token."""

    token_id: int
    csrf: str
    created_at: datetime
    expires_at: datetime


def create_session(conn: sa.Connection, token_id: int, max_age: timedelta) -> tuple[str, Session]:
    """A new session for the token: the cookie's secret and the session."""
    secret = secrets.token_urlsafe(32)
    at = now()
    session = Session(token_id, secrets.token_urlsafe(32), at, at + max_age)
    conn.execute(
        ide_sessions.insert().values(
            hash=hash_token(secret),
            token_id=token_id,
            csrf=session.csrf,
            created_at=at,
            seen_at=at,
            expires_at=session.expires_at,
        )
    )
    return secret, session


def resolve_session(conn: sa.Connection, secret: str, idle: timedelta) -> Session | None:
    """The live session whose cookie holds ``secret``: None when unknown, expired, idle
    too long or on a revoked token (an ended session's row is deleted on the way)."""
    if not secret or len(secret) > 200:
        return None
    key = hash_token(secret)
    row = conn.execute(
        sa.select(ide_sessions, tokens.c.revoked_at)
        .join(tokens, tokens.c.id == ide_sessions.c.token_id)
        .where(ide_sessions.c.hash == key)
    ).first()
    if row is None:
        return None
    at = now()
    seen = utc(row.seen_at)
    if row.revoked_at is not None or utc(row.expires_at) <= at or seen + idle <= at:
        conn.execute(ide_sessions.delete().where(ide_sessions.c.hash == key))
        return None
    if at - seen > _TOUCH_EVERY:
        conn.execute(ide_sessions.update().where(ide_sessions.c.hash == key).values(seen_at=at))
    return Session(row.token_id, row.csrf, utc(row.created_at), utc(row.expires_at))


def end_session(conn: sa.Connection, secret: str) -> bool:
    """Sign the session out; whether there was one."""
    result = conn.execute(ide_sessions.delete().where(ide_sessions.c.hash == hash_token(secret)))
    return bool(result.rowcount)


def end_token_sessions(conn: sa.Connection, token_id: int) -> int:
    """End every session of a token (it was revoked); how many."""
    result = conn.execute(ide_sessions.delete().where(ide_sessions.c.token_id == token_id))
    return int(result.rowcount or 0)
