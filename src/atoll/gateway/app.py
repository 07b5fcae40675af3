"""The gateway ASGI app: one origin per app environment, functions under ``/api/``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from atoll.api.errors import error_response
from atoll.api.limits import read_body
from atoll.api.platform import ControlPlane
from atoll.builder.assets import find_asset
from atoll.builder.frontend import AppFrontend
from atoll.errors import AtollError, NotFound, Overloaded
from atoll.gateway.deployments import Deployment, Deployments
from atoll.gateway.hosts import parse_host
from atoll.runtime import AppRef, InvokeRequest, Runtime

MAX_FUNCTION_BODY = 6 * 1024 * 1024
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def frontend_response(frontend: AppFrontend, path: str) -> Response | None:
    """A built asset, page JSON or page for a GET of ``path``, if the build has one."""
    asset = frontend.asset(path)
    if asset is not None:
        return FileResponse(asset.path, media_type=asset.content_type, headers=asset.headers)
    page = frontend.page_json_for_path(path)
    if page is not None:
        return JSONResponse(page, headers={"cache-control": "public, max-age=31536000"})
    html = frontend.page_html(path)
    if html is not None:
        return HTMLResponse(html, headers={"cache-control": "no-cache"})
    return None


def _static_response(deployment: Deployment, path: str) -> Response | None:
    """What the deployment's build serves at ``path``, else the file of ``static/``."""
    found = frontend_response(deployment.frontend, path)
    if found is not None:
        return found
    static = find_asset(deployment.code_dir / "static", path)
    if static is not None:
        return FileResponse(
            static.path, media_type=static.content_type, headers={"cache-control": "no-cache"}
        )
    return None


def make_gateway(cp: ControlPlane, runtime: Runtime) -> Starlette:
    """The gateway serving every app environment of ``cp`` through ``runtime``."""
    deployments = Deployments(cp)

    async def dispatch(request: Request) -> Response:
        try:
            host = parse_host(request.headers.get("host", ""), cp.settings.public_host)
            if host is None:
                raise NotFound("no app is served at this address")
            deployment = deployments.cached(host)
            if deployment is None:
                deployment = await run_in_threadpool(deployments.resolve, host)
            path = request.url.path
            if path == "/api" or path.startswith("/api/"):
                ref = AppRef(
                    tenant=host.tenant,
                    app=host.app,
                    env=host.env,
                    release=deployment.revision,
                    code_dir=deployment.code_dir,
                )
                invoke = InvokeRequest(
                    method=request.method,
                    path=path,
                    query=tuple(request.query_params.multi_items()),
                    headers=tuple((k, v) for k, v in request.headers.items()),
                    body=await read_body(request, MAX_FUNCTION_BODY, "max_function_body_bytes"),
                )
                reply = await runtime.invoke(ref, invoke)
                return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))
            if request.method in ("GET", "HEAD"):
                found = _static_response(deployment, path)
                if found is not None:
                    return found
            raise NotFound(f"no page at {path}", path=path)
        except AtollError as exc:
            response = error_response(exc.status, exc.code, exc.message, **exc.detail)
            if isinstance(exc, Overloaded):
                response.headers["Retry-After"] = str(exc.detail.get("retry_after", 1))
            return response

    # Every path belongs to the app: the gateway has no routes of its own to shadow them.
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=METHODS)])
