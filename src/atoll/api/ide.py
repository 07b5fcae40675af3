"""The IDE's pages on the control plane's origin: ``/`` is the IDE for a signed-in browser
and the front door (with the sign-in form) for anyone else; ``/ide/assets/`` its files.

Every IDE page gets a strict Content-Security-Policy: scripts and styles from this origin
only (no inline script), API calls to this origin only, frames only from the apps'
origins (the preview), and no page may frame the IDE.
"""

from __future__ import annotations

import html
import threading
from datetime import timedelta
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from atoll.errors import NotFound
from atoll.ide.assets import BOOT, IdeAssets, build_ide_assets
from atoll.services import ControlPlane
from atoll.store import sessions as session_repo

from .auth import SESSION_COOKIE
from .frontdoor import TEMPLATES_DIR, FrontDoor

_IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def ide_policy(cp: ControlPlane) -> str:
    """The IDE pages' Content-Security-Policy (frames: the apps' origins, for the preview)."""
    apps = f"http://*.{cp.settings.public_host}:{cp.settings.gateway_port}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; frame-src {apps}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class _Assets:
    """The IDE's build, made once per process (and again if its files went away)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: IdeAssets | None = None

    def get(self) -> IdeAssets:
        with self._lock:
            if self._built is None or not (self._built.root / self._built.stamp).is_dir():
                self._built = build_ide_assets()
            return self._built


def make_router(front_door: FrontDoor | None = None) -> APIRouter:
    """Routes of ``/`` and the IDE's files (none needs a token; the IDE signs in)."""
    router = APIRouter(include_in_schema=False)
    door = front_door or FrontDoor()
    shell = Template((TEMPLATES_DIR / "ide.html").read_text("utf-8"))
    assets = _Assets()

    @router.api_route("/", methods=["GET", "HEAD"])
    def home(request: Request) -> HTMLResponse:
        """The IDE when this browser is signed in, else the front door and its sign-in."""
        built = assets.get()
        cookie = request.cookies.get(SESSION_COOKIE, "")
        cp: ControlPlane | None = getattr(request.app.state, "control_plane", None)
        if cp is None or not _signed_in(cp, cookie):
            return door.page(request, built.scripts["signin"])
        body = shell.substitute(
            theme_script=html.escape(built.scripts[BOOT]),
            stylesheet=html.escape(built.stylesheet),
            script=html.escape(built.scripts["main"]),
        )
        headers = {"content-security-policy": ide_policy(cp), "cache-control": "no-cache"}
        return HTMLResponse(body, headers=headers)

    @router.api_route("/ide/assets/{stamp}/{name}", methods=["GET", "HEAD"])
    def asset(stamp: str, name: str) -> Response:
        """One of the IDE's built files (its URL names the build, so it never changes)."""
        built = assets.get()
        path = built.file(name) if stamp == built.stamp else None
        if path is None:
            raise NotFound(f"no such IDE file: {name}", name=name)
        kind = _TYPES.get(path.suffix, "application/octet-stream")
        return FileResponse(path, media_type=kind, headers={"cache-control": _IMMUTABLE})

    return router


def _signed_in(cp: ControlPlane, cookie: str) -> bool:
    if not cookie:
        return False
    idle = timedelta(minutes=cp.settings.ide.session_idle_minutes)
    with cp.engine.begin() as conn:
        return session_repo.resolve_session(conn, cookie, idle) is not None
