"""Authentication: a bearer token, or the IDE's session cookie; every call is scoped to the
token's tenant.

A call made with the session cookie alone must also carry the session's CSRF token in
``X-CSRF-Token`` when it changes anything, and must not come from another origin: the
cookie is HttpOnly and SameSite=Strict, and these two checks hold even in a browser that
sends it cross-site anyway.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from atoll.errors import Forbidden, Unauthorized
from atoll.services import ControlPlane
from atoll.store import sessions as session_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import Tenant, Token

SESSION_COOKIE = "atoll_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# last_used_at is advisory; writing it on every request would serialise all readers.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token and, unless it is an admin token, its tenant."""

    token: Token
    tenant: Tenant | None
    session: session_repo.Session | None = None  # signed in through the IDE

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
    request: Request,
    cp: Annotated[ControlPlane, Depends(control_plane)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
) -> Principal:
    """Resolve the bearer token of the request, else its session cookie; 401 when neither
    is there or valid, 403 for a session call without its CSRF token or from elsewhere."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if credentials is None and cookie:
        return _session_principal(request, cp, cookie)
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


def _session_principal(request: Request, cp: ControlPlane, cookie: str) -> Principal:
    idle = timedelta(minutes=cp.settings.ide.session_idle_minutes)
    with cp.engine.begin() as conn:
        session = session_repo.resolve_session(conn, cookie, idle)
    if session is None:  # raised outside: the ended session's row is deleted for good
        raise Unauthorized("the session ended: sign in again")
    with cp.engine.connect() as conn:
        token = tenant_repo.get_token(conn, session.token_id)
        tenant = (
            tenant_repo.get_tenant_by_id(conn, token.tenant_id)
            if token.tenant_id is not None
            else None
        )
    if request.method not in SAFE_METHODS:
        check_same_origin(request)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header for this session")
    return Principal(token=token, tenant=tenant, session=session)


def check_same_origin(request: Request) -> None:
    """``Forbidden`` for a browser call whose ``Origin`` (or ``Sec-Fetch-Site``) says it
    comes from another site or origin."""
    origin = request.headers.get("origin")
    # The host only: behind a proxy that ends TLS the scheme seen here is not the browser's.
    if (
        origin is not None
        and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()
    ):
        raise Forbidden("a call from another origin is refused")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("a call from another origin is refused")


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
