"""The control-plane application: routers under ``/api/v1``, front door, docs, health, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atoll import __version__
from atoll.api import (
    agent,
    apps,
    databases,
    envs,
    files,
    frontdoor,
    functions,
    ide,
    pagecheck,
    releases,
    sessions,
    tenants,
)
from atoll.api import vars as config_vars
from atoll.api.errors import install_error_handlers
from atoll.api.limits import BodySizeLimit
from atoll.sdui import page_json_schema
from atoll.services import ControlPlane

PAGE_SCHEMA = page_json_schema()

# The API answers data, never pages: nothing in a response may run, load or be framed.
STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


class SecurityHeaders:
    """Marks every response ``nosniff`` and, unless it sets its own, under a policy that lets
    nothing run (responses echo tenant strings, and this origin will hold the IDE session).

    The platform's own pages (``frontdoor``) set their own, narrower policies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = STRICT_POLICY
            await send(message)

        await self.app(scope, receive, send_guarded)


def make_app(cp: ControlPlane) -> FastAPI:
    """The control-plane ASGI app serving ``cp``."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        cp.close()

    app = FastAPI(
        title="Atoll control plane",
        version=__version__,
        openapi_url=frontdoor.OPENAPI_URL,
        docs_url=None,  # frontdoor serves its own, with Swagger UI's files from this machine
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.control_plane = cp
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limits=cp.settings.limits)
    # Added last, so it is outside every other middleware and sees their answers too.
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process serves and its metadata store answers."""
        with cp.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/schemas/page.json", tags=["schemas"])
    def page_schema() -> dict[str, Any]:
        """The JSON Schema of an SDUI page (public: editors and agents validate with it)."""
        return PAGE_SCHEMA

    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(tenants.router)
    v1.include_router(apps.router)
    v1.include_router(files.router)
    v1.include_router(pagecheck.router)
    v1.include_router(functions.router)
    v1.include_router(databases.router)
    v1.include_router(envs.router)
    v1.include_router(releases.router)
    v1.include_router(config_vars.router)
    v1.include_router(agent.router)
    v1.include_router(sessions.router)
    app.include_router(v1)
    app.include_router(ide.make_router())
    app.include_router(frontdoor.make_router())
    return app
