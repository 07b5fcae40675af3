"""The control-plane application: routers under ``/api/v1``, docs, health, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atoll import __version__
from atoll.api import apps, databases, files, functions, tenants
from atoll.api.errors import install_error_handlers
from atoll.api.limits import BodySizeLimit
from atoll.api.platform import ControlPlane
from atoll.sdui import page_json_schema

PAGE_SCHEMA = page_json_schema()

# The API answers data, never pages: nothing in a response may run, load or be framed.
STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


class SecurityHeaders:
    """Marks every response ``nosniff`` and, unless it sets its own, under a policy that lets
    nothing run (responses echo tenant strings, and this origin will hold the IDE session)."""

    def __init__(self, app: ASGIApp, pages: frozenset[str]) -> None:
        self.app = app
        self.pages = pages  # the platform's own HTML pages (docs): they run their scripts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = scope["path"] not in self.pages

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if strict and "content-security-policy" not in headers:
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
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.control_plane = cp
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limits=cp.settings.limits)
    # Added last, so it is outside every other middleware and sees their answers too.
    pages = frozenset(p for p in (app.docs_url, app.swagger_ui_oauth2_redirect_url) if p)
    app.add_middleware(SecurityHeaders, pages=pages)

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
    v1.include_router(functions.router)
    v1.include_router(databases.router)
    app.include_router(v1)
    return app
