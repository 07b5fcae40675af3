"""Bearer-token authentication: every call is scoped to the token's tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from atoll.errors import Forbidden, Unauthorized
from atoll.services import ControlPlane
from atoll.store import tenants as tenant_repo
from atoll.store.records import Tenant, Token

# last_used_at is advisory; writing it on every request would serialise all readers.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token and, unless it is an admin token, its tenant."""

    token: Token
    tenant: Tenant | None

    @property
    def author(self) -> str:
        """How this caller is named in revision history."""
        owner = self.tenant.slug if self.tenant else "admin"
        return f"{owner}/{self.token.name}"


def control_plane(request: Request) -> ControlPlane:
    """The control plane the request is served by."""
    cp: ControlPlane = request.app.state.control_plane
    return cp


# Declared in the OpenAPI document, so the interactive docs can send a token ("Authorize").
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token of a tenant, or the admin token (`atoll login` keeps one).",
)


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    secret = credentials.credentials.strip() if credentials is not None else ""
    if not secret:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return secret


def principal(
    cp: Annotated[ControlPlane, Depends(control_plane)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
) -> Principal:
    """Resolve the bearer token of the request; 401 when missing, unknown or revoked."""
    secret = _bearer(credentials)
    with cp.engine.begin() as conn:
        token = tenant_repo.resolve_token(conn, secret)
        if token is None:
            raise Unauthorized("invalid or revoked token")
        last = token.last_used_at
        if last is None or tenant_repo.now() - last > _TOUCH_EVERY:
            tenant_repo.touch_token(conn, token.id)
        tenant = (
            tenant_repo.get_tenant_by_id(conn, token.tenant_id)
            if token.tenant_id is not None
            else None
        )
    return Principal(token=token, tenant=tenant)


def tenant_principal(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """A caller acting for a tenant (admin tokens own no apps)."""
    if who.tenant is None:
        raise Forbidden("admin tokens have no apps; use a tenant token")
    return who


def admin_principal(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """A caller holding an admin token."""
    if who.tenant is not None:
        raise Forbidden("this call needs the admin token")
    return who


Caller = Annotated[Principal, Depends(principal)]
TenantCaller = Annotated[Principal, Depends(tenant_principal)]
AdminCaller = Annotated[Principal, Depends(admin_principal)]
Platform = Annotated[ControlPlane, Depends(control_plane)]
