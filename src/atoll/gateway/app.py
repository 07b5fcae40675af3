"""The gateway: one origin per app environment, functions under ``/api/``.

``Gateway.function`` is the hot path (a function call as plain values, no framework in
between); ``Gateway.asgi`` serves everything else (pages, built assets, ``static/``) and,
as an ASGI app, function calls too. ``atoll.gateway.http`` serves both on a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from atoll.builder.assets import find_asset
from atoll.builder.frontend import AppFrontend
from atoll.config import Settings
from atoll.errors import AtollError, LimitExceeded, NotFound, error_headers
from atoll.gateway.appdocs import docs_response, is_docs_path
from atoll.gateway.headers import edge_headers
from atoll.gateway.pageshell import app_icon, dev_boot
from atoll.http_heads import read_body
from atoll.names import AppEnv
from atoll.releases.deployments import BUILD_ENV, Deployment, Deployments
from atoll.runtime import AppRef, InvokeRequest, InvokeResponse, Runtime, error_response
from atoll.sdui.html import DEFAULT_ICON
from atoll.services import ControlPlane

MAX_FUNCTION_BODY = 6 * 1024 * 1024
HOST_CACHE = 4096  # Host header values remembered as parsed
PREPARE_TIMEOUT = 60.0  # seconds a promotion waits for the new release's workers to start
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def frontend_response(
    frontend: AppFrontend,
    path: str,
    *,
    icon: str = DEFAULT_ICON,
    dev: Mapping[str, Any] | None = None,
) -> Response | None:
    """A built asset, page JSON or page for a GET of ``path``, if the build has one."""
    asset = frontend.asset(path)
    if asset is not None:
        return FileResponse(asset.path, media_type=asset.content_type, headers=asset.headers)
    page = frontend.page_json_for_path(path)
    if page is not None:
        return JSONResponse(page, headers={"cache-control": "public, max-age=31536000"})
    html = frontend.page_html(path, icon=icon, dev=dev)
    if html is not None:
        return HTMLResponse(html, headers={"cache-control": "no-cache"})
    return None


def _static_response(deployment: Deployment, path: str, settings: Settings) -> Response | None:
    """What the deployment's build serves at ``path``, else the file of ``static/``."""
    icon = app_icon(deployment.code_dir / "static")
    dev = (
        dev_boot(settings) if deployment.host.env == BUILD_ENV and not deployment.release else None
    )
    found = frontend_response(deployment.frontend, path, icon=icon, dev=dev)
    if found is not None:
        return found
    static = find_asset(deployment.code_dir / "static", path)
    if static is not None:
        headers = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
        return FileResponse(static.path, media_type=static.content_type, headers=headers)
    return None


def is_function_path(path: str) -> bool:
    """Whether ``path`` names a function (everything under ``/api``)."""
    return path == "/api" or path.startswith("/api/")


def too_large_body() -> LimitExceeded:
    """The error for a function request body over ``MAX_FUNCTION_BODY``."""
    return LimitExceeded(
        f"request body is larger than {MAX_FUNCTION_BODY} bytes",
        limit="max_function_body_bytes",
        max=MAX_FUNCTION_BODY,
    )


def _release_of(deployment: Deployment) -> str:
    """What the runtime calls the code of a deployment: its release (v3), or in dev the
    workspace revision's number (r7)."""
    return deployment.release or f"r{deployment.number}"


def _ref_of(deployment: Deployment) -> AppRef:
    host, given = deployment.host, deployment.vars
    release = _release_of(deployment)
    return AppRef(
        host.tenant,
        host.app,
        host.env,
        release,
        deployment.code_dir,
        given.values,
        given.secrets,
        deployment.python_lock,
        isolation=deployment.isolation,
    )


class Gateway:
    """Serves every app environment of ``cp`` through ``runtime``."""

    def __init__(self, cp: ControlPlane, runtime: Runtime) -> None:
        self.cp = cp
        self.runtime = runtime
        self.deployments = Deployments(cp)
        self._hosts: dict[str, AppEnv] = {}
        self._refs: dict[AppEnv, AppRef] = {}
        self._resolving: dict[tuple[AppEnv, int], asyncio.Future[Deployment]] = {}
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop (tests): nothing is prepared
            self._loop = None
        cp.switches = self
        # Every path belongs to the app: the gateway has no routes of its own to shadow them.
        self._pages = Starlette(routes=[Route("/{path:path}", self._page, methods=METHODS)])

    def close(self, timeout: float = 10.0) -> None:
        """Build no more heads; wait up to ``timeout`` s for the builds under way."""
        if self.cp.switches is self:
            self.cp.switches = None
        self.deployments.close(timeout)

    def _host(self, host_header: str) -> AppEnv:
        host = self._hosts.get(host_header)
        if host is None:
            host = AppEnv.from_host(host_header, self.cp.settings.public_host)
            if host is None:
                raise NotFound("no app is served at this address")
            if len(self._hosts) >= HOST_CACHE:
                self._hosts.clear()
            self._hosts[host_header] = host
        return host

    def share_of(self, host_header: str) -> tuple[str, int]:
        """Whose share of the gateway a request counts in, and the least that share may be.

        The tenant of a known deployment, at least its app's concurrency; requests for
        hosts that name no known deployment (made-up tenants included) share one "" key.
        """
        try:
            host = self._host(host_header)
        except NotFound:
            return "", 0
        if not self.deployments.known(host):
            return "", 0
        concurrency = self.runtime.concurrency(host.key)
        return host.tenant, concurrency or 0

    async def deployment(self, host_header: str) -> Deployment:
        """The deployment an origin serves; ``NotFound`` when it names none."""
        host = self._host(host_header)
        deployment = self.deployments.cached(host)
        if deployment is not None:
            return deployment
        # One lookup per host at a time: when the cached answer lapses under load, the
        # requests arriving meanwhile wait for it instead of each queueing its own (which
        # held a neighbour's lookup behind a thousand of them).
        # A lookup begun before the last change (a promotion, a push) may answer what was
        # deployed before it: join only one begun since.
        key = (host, self.cp.workspaces.generation)
        pending = self._resolving.get(key)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(self.deployments.resolve, host))
            self._resolving[key] = pending
            pending.add_done_callback(lambda done: self._resolved(key, done))
        return await asyncio.shield(pending)

    def _resolved(self, key: tuple[AppEnv, int], done: asyncio.Future[Deployment]) -> None:
        self._resolving.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here: its waiters may all have gone

    def _ref(self, deployment: Deployment) -> AppRef:
        """The runtime's name for a deployment (one object per deployment, so the runtime's
        check that an app instance still runs the deployed code is an identity test)."""
        ref = self._refs.get(deployment.host)
        if (
            ref is None
            or ref.release != _release_of(deployment)
            or ref.code_dir != deployment.code_dir
            or ref.vars is not deployment.vars.values
            or ref.isolation != deployment.isolation
        ):
            ref = self._refs[deployment.host] = _ref_of(deployment)
        return ref

    async def prepare(self, host: AppEnv, number: int) -> None:
        """Make release ``v{number}`` ready to serve at ``host`` before its pointer moves
        there: its deployment loaded and its workers started (as many as run now)."""
        deployment = await run_in_threadpool(self.deployments.stage, host, number)
        await self.runtime.prepare(_ref_of(deployment))

    def before_switch(self, host: AppEnv, number: int) -> None:
        """``prepare``, for the control plane's worker threads (``ReleaseSwitches``)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.prepare(host, number), loop).result(PREPARE_TIMEOUT)

    def after_switch(self, host: AppEnv, number: int) -> None:
        """The pointer of ``host`` moved to ``v{number}``: its prepared deployment serves the
        next request with no lookup (``ReleaseSwitches``, from a worker thread)."""
        self.deployments.switched(host, number)

    async def function(
        self,
        host_header: str,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...],
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> InvokeResponse:
        """Run a function call; every failure is an error response, never an exception."""
        try:
            deployment = self.deployments.cached(self._host(host_header))
            if deployment is None:
                deployment = await self.deployment(host_header)
            request = InvokeRequest(method, path, query, headers, body)
            reply = await self.runtime.invoke(self._ref(deployment), request)
            # Here the function's answer leaves the platform for the browser.
            sent = edge_headers(reply.headers, reply.request_id)
            return InvokeResponse(reply.status, tuple(sent), reply.body, reply.request_id)
        except AtollError as exc:
            return error_response(exc)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The gateway as an ASGI app."""
        if scope["type"] == "http" and is_function_path(scope["path"]):
            await self._asgi_function(scope, receive, send)
        else:
            await self._pages(scope, receive, send)

    async def _asgi_function(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            body = await read_body(request, MAX_FUNCTION_BODY, "max_function_body_bytes")
        except AtollError as exc:
            reply = error_response(exc)
        else:
            reply = await self.function(
                request.headers.get("host", ""),
                scope["method"],
                scope["path"],
                tuple(request.query_params.multi_items()),
                tuple(request.headers.items()),
                body,
            )
        headers = [
            (k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for k, v in reply.headers
        ]
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _page(self, request: Request) -> Response:
        response = await self._page_or_error(request)
        response.headers.setdefault("x-content-type-options", "nosniff")
        return response

    async def _page_or_error(self, request: Request) -> Response:
        try:
            deployment = await self.deployment(request.headers.get("host", ""))
            path = request.url.path
            if request.method in ("GET", "HEAD") and is_docs_path(path):
                return await docs_response(deployment, path, self.cp.settings)
            if request.method in ("GET", "HEAD"):
                found = _static_response(deployment, path, self.cp.settings)
                if found is not None:
                    return found
            raise NotFound(f"no page at {path}", path=path)
        except AtollError as exc:
            return JSONResponse(exc.to_dict(), exc.status, headers=error_headers(exc.status))


def make_gateway(cp: ControlPlane, runtime: Runtime) -> Callable[[Scope, Receive, Send], Any]:
    """The gateway serving every app environment of ``cp`` through ``runtime``, as ASGI."""
    return Gateway(cp, runtime).asgi
