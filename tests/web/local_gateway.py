"""A small stand-in for the gateway: one app's pages and assets, with functions faked in Python.

It serves through ``AppFrontend``, the API the real gateway uses, so the browser tests
exercise the real HTML shell, page JSON and built files.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atoll.builder.frontend import AppFrontend
from atoll.gateway.app import frontend_response

# A fake function: (method, query, body) -> (status, JSON reply).
FakeFunction = Callable[[str, dict[str, str], Any], tuple[int, Any]]


def todo_functions() -> dict[str, FakeFunction]:
    """In-memory ``todos`` (GET/POST/PATCH/DELETE), an always failing ``broken``, and ``echo``."""
    todos: list[dict[str, Any]] = []

    def todos_fn(method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, todos
        if method == "POST":
            if not isinstance(body, dict) or not str(body.get("title") or "").strip():
                return 422, {"error": {"code": "validation_failed", "message": "title: required"}}
            item = {"id": max([0, *(t["id"] for t in todos)]) + 1, "title": str(body["title"])}
            item["done"] = False
            todos.append(item)
            return 200, item
        if method == "PATCH":
            for item in todos:
                if item["id"] == body["id"]:
                    item["done"] = bool(body["done"])
            return 200, {"id": body["id"], "done": body["done"]}
        if method == "DELETE":
            gone = int(query.get("id", "0"))
            todos[:] = [t for t in todos if t["id"] != gone]
            return 200, {"deleted": gone}
        return 405, {"error": {"code": "method_not_allowed", "message": method}}

    def broken(method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        return 500, {"error": {"code": "tenant_code_error", "message": "RuntimeError: broken"}}

    def echo(method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"q": query.get("q", "")}

    return {"todos": todos_fn, "broken": broken, "echo": echo}


def make_app(frontend: AppFrontend, functions: dict[str, FakeFunction]) -> Starlette:
    """The ASGI app serving one app environment."""

    async def dispatch(request: Request) -> Response:
        path = request.url.path
        if path.startswith("/api/"):
            fn = functions.get(path.removeprefix("/api/"))
            if fn is None:
                return JSONResponse({"error": {"code": "not_found"}}, status_code=404)
            raw = await request.body()
            status, reply = fn(
                request.method, dict(request.query_params), json.loads(raw or "null")
            )
            return JSONResponse(reply, status_code=status)
        found = frontend_response(frontend, path)
        return found if found is not None else Response("not found", status_code=404)

    return Starlette(
        routes=[Route("/{path:path}", dispatch, methods=["GET", "POST", "PATCH", "DELETE"])]
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
