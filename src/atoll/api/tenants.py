"""Tenants (admin), tokens and ``/me``."""

from __future__ import annotations

from fastapi import APIRouter

from atoll import dbservice
from atoll.api.auth import AdminCaller, Caller, Platform
from atoll.api.schemas import (
    Me,
    TenantCreate,
    TenantCreated,
    TenantOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
)
from atoll.store import sessions as session_repo
from atoll.store import tenants as repo

router = APIRouter(tags=["tenants"])


@router.get("/me")
def me(who: Caller) -> Me:
    """The caller's tenant and token."""
    return Me(
        tenant=who.tenant.slug if who.tenant else None,
        admin=who.tenant is None,
        token=TokenOut.of(who.token),
    )


@router.post("/tenants", status_code=201)
def create_tenant(body: TenantCreate, _who: AdminCaller, cp: Platform) -> TenantCreated:
    """Create a tenant and its first API token (admin only; the token is shown once)."""
    with cp.engine.begin() as conn:
        tenant = repo.create_tenant(conn, body.name, body.isolation)
        token, secret = repo.create_token(conn, tenant.id, "default")
    return TenantCreated(
        tenant=tenant.slug, token=secret, token_info=TokenOut.of(token), isolation=tenant.isolation
    )


@router.get("/tenants")
def list_tenants(_who: AdminCaller, cp: Platform) -> list[TenantOut]:
    """Every tenant (admin only)."""
    with cp.engine.connect() as conn:
        return [TenantOut.of(t) for t in repo.list_tenants(conn)]


@router.get("/tokens")
def list_tokens(who: Caller, cp: Platform) -> list[TokenOut]:
    """The caller's tenant's tokens, by prefix (secrets are never shown again)."""
    with cp.engine.connect() as conn:
        tid = who.tenant.id if who.tenant else None
        return [TokenOut.of(t) for t in repo.list_tokens(conn, tid)]


@router.post("/tokens", status_code=201)
def create_token(body: TokenCreate, who: Caller, cp: Platform) -> TokenCreated:
    """Mint another token for the caller's tenant (shown once)."""
    with cp.engine.begin() as conn:
        tid = who.tenant.id if who.tenant else None
        token, secret = repo.create_token(conn, tid, body.name)
    return TokenCreated(token=secret, token_info=TokenOut.of(token))


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: int, who: Caller, cp: Platform) -> TokenOut:
    """Revoke one of the caller's tenant's tokens and the database tokens it minted, at once."""
    with cp.engine.begin() as conn:
        tid = who.tenant.id if who.tenant else None
        revoked = repo.revoke_token(conn, tid, token_id)
        # Inside the transaction: if telling the DB service fails, the token stays valid and
        # the caller sees the error, rather than database tokens outliving a revoked token.
        dbservice.revoke_database_tokens(cp.settings.data_dir, str(revoked.id))
        session_repo.end_token_sessions(conn, revoked.id)  # signed-in IDEs too
        return TokenOut.of(revoked)
