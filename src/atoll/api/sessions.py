"""Signing the IDE in and out: an API token exchanged for a session cookie.

``POST /session`` takes a tenant's token as JSON (a cross-site form cannot send that, so
nobody can be signed in to someone else's account) and sets an HttpOnly, SameSite=Strict
cookie; its answer carries the CSRF token the IDE sends back on every call that changes
anything. ``GET /session`` answers it again to a page that was reloaded.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from atoll.errors import BadInput, Forbidden, Unauthorized
from atoll.store import sessions as session_repo
from atoll.store import tenants as tenant_repo

from .auth import SESSION_COOKIE, Caller, Platform, check_same_origin

router = APIRouter(tags=["session"])


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="A tenant's API token.")


class SessionOut(BaseModel):
    tenant: str
    token_name: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change.")
    expires_at: str


def _json_only(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise BadInput("send the token as JSON (Content-Type: application/json)")


@router.post("/session", dependencies=[Depends(_json_only)])
def sign_in(body: SignIn, request: Request, response: Response, cp: Platform) -> SessionOut:
    """Sign the IDE in with a tenant's API token: sets the session cookie."""
    check_same_origin(request)
    max_age = timedelta(hours=cp.settings.ide.session_max_hours)
    with cp.engine.begin() as conn:
        token = tenant_repo.resolve_token(conn, body.token.strip())
        if token is None:
            raise Unauthorized("that token is not valid (revoked, or mistyped)")
        if token.tenant_id is None:
            raise Forbidden("the admin token owns no apps: sign in with a tenant's token")
        tenant = tenant_repo.get_tenant_by_id(conn, token.tenant_id)
        secret, session = session_repo.create_session(conn, token.id, max_age)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["cache-control"] = "no-store"
    return SessionOut(
        tenant=tenant.slug,
        token_name=token.name,
        csrf_token=session.csrf,
        expires_at=session.expires_at.isoformat(),
    )


@router.get("/session")
def current(who: Caller, response: Response) -> SessionOut:
    """The signed-in session: its tenant and CSRF token (401 when signed out)."""
    if who.session is None or who.tenant is None:
        raise Forbidden("this call is for the IDE's session cookie, not a bearer token")
    response.headers["cache-control"] = "no-store"
    return SessionOut(
        tenant=who.tenant.slug,
        token_name=who.token.name,
        csrf_token=who.session.csrf,
        expires_at=who.session.expires_at.isoformat(),
    )


@router.delete("/session")
def sign_out(who: Caller, request: Request, response: Response, cp: Platform) -> dict[str, bool]:
    """Sign the IDE out: the session ends and its cookie is cleared."""
    if who.session is None:
        raise Forbidden("this call is for the IDE's session cookie, not a bearer token")
    with cp.engine.begin() as conn:
        session_repo.end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return {"signed_out": True}
