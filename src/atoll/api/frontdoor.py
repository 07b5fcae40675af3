"""The control plane's own pages: the front door (``/`` for a visitor not signed in to the
IDE), the API docs and their files."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from atoll import __version__
from atoll.builder.esbuild import REPO_ROOT
from atoll.errors import NotFound

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
SWAGGER_UI_DIST = REPO_ROOT / "node_modules" / "swagger-ui-dist"
DOCS_DIR = REPO_ROOT / "docs"
OPENAPI_URL = "/api/v1/openapi.json"

# Pages that only show text and the platform's own stylesheet and images.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The front door also runs the IDE's sign-in script, which posts the token to the API.
FRONT_DOOR_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Swagger UI sets inline styles, shows data: images and calls the API from the page.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# Only these names are served; anything else under the asset URLs is a 404.
OWN_ASSETS = {
    "frontdoor.css": "text/css; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
    "atoll.svg": "image/svg+xml",
}
SWAGGER_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
_DOC_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.md$")
_ASSET_CACHE = "public, max-age=3600"


@dataclass(frozen=True)
class ProjectDoc:
    """One Markdown guide from the repository's ``docs/`` folder."""

    name: str
    title: str
    path: Path


def find_project_docs(docs_dir: Path) -> dict[str, ProjectDoc]:
    """The guides in ``docs_dir`` by file name, titled by their first ``#`` heading."""
    if not docs_dir.is_dir():
        return {}
    found: dict[str, ProjectDoc] = {}
    for path in sorted(docs_dir.iterdir()):
        if not _DOC_NAME.match(path.name) or path.is_symlink() or not path.is_file():
            continue
        first = path.read_text("utf-8").partition("\n")[0]
        title = first.removeprefix("# ").replace("`", "").strip() or path.stem
        found[path.name] = ProjectDoc(path.name, title, path)
    return found


def project_docs_html(docs: dict[str, ProjectDoc]) -> str:
    """The front door's list of project docs (or where to find them when not installed)."""
    if not docs:
        return (
            '<p class="sub">Guides: the <code>docs/</code> folder of the Atoll source tree '
            "(not installed with this server).</p>"
        )
    items = "\n".join(
        f'<li><a href="/docs/{html.escape(d.name)}">{html.escape(d.title)}</a></li>'
        for d in docs.values()
    )
    return (
        '<p class="sub">Guides, as Markdown from the <code>docs/</code> folder</p>\n'
        f'<ul class="guides" id="project-docs">\n{items}\n</ul>'
    )


class FrontDoor:
    """The front door: what this server is, where its references are, how to start with the
    CLI, and the IDE's sign-in form (whose script is the only one the page runs)."""

    def __init__(self, docs_dir: Path = DOCS_DIR) -> None:
        self.template = Template((TEMPLATES_DIR / "frontdoor.html").read_text("utf-8"))
        self.docs_list = project_docs_html(find_project_docs(docs_dir))

    def page(self, request: Request, signin_script: str) -> HTMLResponse:
        body = self.template.substitute(
            version=html.escape(__version__),
            server=html.escape(server_url(request)),
            project_docs=self.docs_list,
            signin_script=html.escape(signin_script),
        )
        return _page(body, FRONT_DOOR_POLICY)


def server_url(request: Request) -> str:
    """The URL the visitor reached this server by, for commands they can paste."""
    return str(request.base_url).rstrip("/")


def _page(body: str, policy: str, status: int = 200) -> HTMLResponse:
    headers = {"content-security-policy": policy, "cache-control": "no-cache"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _file(path: Path, media_type: str) -> FileResponse:
    return FileResponse(path, media_type=media_type, headers={"cache-control": _ASSET_CACHE})


def make_router(swagger_dist: Path = SWAGGER_UI_DIST, docs_dir: Path = DOCS_DIR) -> APIRouter:
    """Routes of the front door, the API docs (Swagger UI from ``swagger_dist``) and the
    project docs (from ``docs_dir``); none of them needs a token."""
    router = APIRouter(include_in_schema=False)
    docs_page = Template((TEMPLATES_DIR / "docs.html").read_text("utf-8"))
    docs_missing = Template((TEMPLATES_DIR / "docs_missing.html").read_text("utf-8"))
    project_docs = find_project_docs(docs_dir)

    @router.api_route("/api/docs", methods=["GET", "HEAD"])
    def api_docs() -> HTMLResponse:
        """Swagger UI over the OpenAPI document, from files on this machine."""
        if not (swagger_dist / "swagger-ui-bundle.js").is_file():
            body = docs_missing.substitute(
                version=html.escape(__version__), openapi_url=OPENAPI_URL
            )
            return _page(body, PAGE_POLICY, status=503)
        return _page(docs_page.substitute(openapi_url=OPENAPI_URL), DOCS_POLICY)

    @router.api_route("/api/docs/assets/{name}", methods=["GET", "HEAD"])
    def swagger_asset(name: str) -> FileResponse:
        """One of Swagger UI's files."""
        media_type = SWAGGER_ASSETS.get(name)
        path = swagger_dist / name
        if media_type is None or not path.is_file():
            raise NotFound(f"no such API docs file: {name}", name=name)
        return _file(path, media_type)

    @router.api_route("/assets/{name}", methods=["GET", "HEAD"])
    def own_asset(name: str) -> FileResponse:
        """A stylesheet, script or image of the control plane's own pages."""
        media_type = OWN_ASSETS.get(name)
        if media_type is None:
            raise NotFound(f"no such asset: {name}", name=name)
        return _file(STATIC_DIR / name, media_type)

    @router.api_route("/docs/{name}", methods=["GET", "HEAD"])
    def project_doc(name: str) -> FileResponse:
        """A project guide as plain text (Markdown reads well as it is)."""
        doc = project_docs.get(name)
        if doc is None:
            raise NotFound(f"no such doc: {name}", name=name)
        return FileResponse(
            doc.path, media_type="text/plain; charset=utf-8", headers={"cache-control": "no-cache"}
        )

    return router
