"""An app environment's generated docs, at ``/_atoll/docs/`` on its own origin.

``/_atoll/docs/`` is the page, ``docs.json`` the document (``atoll.builder.appdocs``) of the
deployment the origin serves, ``openapi.json`` its functions' OpenAPI, ``try`` Swagger UI
over them; ``assets/`` their stylesheet and scripts. The document is the one kept with the
deployed revision's build; a dev revision's is generated on the first request for it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from atoll.builder.appdocs import app_docs
from atoll.builder.esbuild import REPO_ROOT
from atoll.config import Settings
from atoll.errors import NotFound
from atoll.gateway.docspage import render_docs_page, render_try_page
from atoll.gateway.pageshell import ide_origins
from atoll.releases.deployments import Deployment
from atoll.runtime.limits import app_docs_hidden_in

DOCS_PATH = "/_atoll/docs"
STATIC_DIR = Path(__file__).resolve().parent / "static"
SWAGGER_UI_DIST = REPO_ROOT / "node_modules" / "swagger-ui-dist"
ASSETS = {
    "appdocs.css": (STATIC_DIR, "text/css; charset=utf-8"),
    "try.js": (STATIC_DIR, "text/javascript; charset=utf-8"),
    "swagger-ui.css": (SWAGGER_UI_DIST, "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (SWAGGER_UI_DIST, "text/javascript; charset=utf-8"),
}
_ASSET_CACHE = "public, max-age=3600"


def is_docs_path(path: str) -> bool:
    """Whether ``path`` is under the docs' fixed path."""
    return path == DOCS_PATH or path.startswith(DOCS_PATH + "/")


def docs_policy(settings: Settings, *, scripts: bool) -> str:
    """The pages' Content-Security-Policy: the platform's files only, framed by the IDE.
    Swagger UI (``scripts``) runs its own script, sets inline styles and calls the API."""
    ancestors = " ".join(["'self'", *ide_origins(settings)])
    if scripts:
        allowed = (
            "script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; "
        )
    else:
        allowed = "style-src 'self'; img-src 'self' data:; "
    return (
        f"default-src 'none'; {allowed}base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


def _where(deployment: Deployment) -> str:
    if deployment.release:
        return f"{deployment.host.env}, release {deployment.release}"
    return f"{deployment.host.env}, revision r{deployment.number}"


async def docs_response(deployment: Deployment, path: str, settings: Settings) -> Response:
    """What the docs serve at ``path`` for ``deployment`` (a GET); ``NotFound`` for the rest."""
    hidden = await run_in_threadpool(app_docs_hidden_in, deployment.code_dir)
    if deployment.host.env in hidden or "*" in hidden:
        raise NotFound(f"no docs at {path}", path=path)
    if path == DOCS_PATH:
        return RedirectResponse(DOCS_PATH + "/", status_code=308)
    rest = path[len(DOCS_PATH) + 1 :]
    if rest.startswith("assets/"):
        return _asset(rest.removeprefix("assets/"))
    if rest not in ("", "docs.json", "openapi.json", "try"):
        raise NotFound(f"no docs at {path}", path=path)
    headers = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
    if rest == "try":
        headers["content-security-policy"] = docs_policy(settings, scripts=True)
        return HTMLResponse(render_try_page(deployment.host.app), headers=headers)
    document = await run_in_threadpool(
        app_docs, deployment.code_dir, deployment.frontend.out_dir, deployment.host.app
    )
    if rest == "docs.json":
        return JSONResponse(document, headers=headers)
    if rest == "openapi.json":
        return JSONResponse(document.get("functions", {}), headers=headers)
    headers["content-security-policy"] = docs_policy(settings, scripts=False)
    return HTMLResponse(render_docs_page(document, _where(deployment)), headers=headers)


def _asset(name: str) -> FileResponse:
    found = ASSETS.get(name)
    if found is None or not (found[0] / name).is_file():
        raise NotFound(f"no docs file {name}", name=name)
    folder, media_type = found
    headers = {"cache-control": _ASSET_CACHE, "x-content-type-options": "nosniff"}
    return FileResponse(folder / name, media_type=media_type, headers=headers)
