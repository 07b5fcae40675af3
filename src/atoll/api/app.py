"""The control-plane application: routers under ``/api/v1``, docs, health, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from atoll import __version__
from atoll.api import apps, databases, files, functions, tenants
from atoll.api.errors import install_error_handlers
from atoll.api.limits import BodySizeLimit
from atoll.api.platform import ControlPlane
from atoll.sdui import page_json_schema

PAGE_SCHEMA = page_json_schema()


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
