"""A small stand-in for the gateway: serves one app's pages, assets and two fake functions.

It uses the same Python API the real gateway uses (``render_app_page``, ``find_asset``,
``check_page``), so the browser tests exercise the real HTML shell and built files.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from atoll.builder.assets import find_asset
from atoll.builder.components import ComponentManifest
from atoll.builder.pages import render_app_page
from atoll.builder.platform import PlatformAssets
from atoll.sdui.html import page_file_for_route, route_for_page
from atoll.sdui.validation import validate_page


def load_pages(app_dir: Path) -> dict[str, dict[str, Any]]:
    """Route -> checked page JSON for every ``pages/*.json`` of an app folder."""
    pages: dict[str, dict[str, Any]] = {}
    for path in sorted((app_dir / "pages").rglob("*.json")):
        rel = path.relative_to(app_dir).as_posix()
        pages[route_for_page(rel)] = validate_page(json.loads(path.read_text())).to_json()
    return pages


def make_app(
    app_dir: Path, out_dir: Path, platform: PlatformAssets, manifest: ComponentManifest
) -> Starlette:
    """The ASGI app serving one app environment."""
    pages = load_pages(app_dir)
    todos: list[dict[str, Any]] = []

    def file(root: Path, path: str) -> Response:
        asset = find_asset(root, path)
        if asset is None:
            return Response("not found", status_code=404)
        return FileResponse(asset.path, media_type=asset.content_type, headers=asset.headers)

    async def static(request: Request) -> Response:
        return file(platform.root, request.path_params["path"])

    async def assets(request: Request) -> Response:
        return file(out_dir, request.path_params["path"])

    async def page_json(request: Request) -> Response:
        route = "/" + request.path_params["name"]
        route = "/" if route == "/index" else route
        if route not in pages or page_file_for_route(route) is None:
            return JSONResponse({"error": {"code": "not_found"}}, status_code=404)
        return JSONResponse(pages[route])

    async def function(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "todos" and request.method == "GET":
            return JSONResponse(todos)
        if name == "todos" and request.method == "POST":
            body = await request.json()
            todos.append({"id": len(todos) + 1, "title": str(body["title"])})
            return JSONResponse({"ok": True})
        if name == "broken":
            return JSONResponse(
                {
                    "error": {
                        "code": "tenant_code_error",
                        "message": "RuntimeError: broken on purpose",
                    }
                },
                status_code=500,
            )
        return JSONResponse({"error": {"code": "not_found"}}, status_code=404)

    async def html(request: Request) -> Response:
        route = "/" + request.path_params.get("path", "").strip("/")
        route = route if route != "/" or not request.path_params.get("path") else "/"
        if route not in pages:
            return HTMLResponse("not found", status_code=404)
        return HTMLResponse(
            render_app_page(
                pages[route], platform=platform, components=manifest, route=route, routes=pages
            )
        )

    return Starlette(
        routes=[
            Route("/_atoll/static/{path:path}", static),
            Route("/_atoll/assets/{path:path}", assets),
            Route("/_atoll/pages/{name:path}.json", page_json),
            Route("/api/{name}", function, methods=["GET", "POST"]),
            Route("/", html),
            Route("/{path:path}", html),
        ]
    )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
