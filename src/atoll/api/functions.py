"""Calling an app's functions (through the gateway) and reading their logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import Body
from atoll.errors import Unavailable
from atoll.names import AppEnv, check_slug

router = APIRouter(tags=["functions"])

HEARTBEAT_SECONDS = 15.0


class InvokeIn(Body):
    """``POST /apps/{app}/invoke``: one call of a function, as a visitor would make it."""

    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$|^openapi\.json$")
    env: str = Field("dev", max_length=40)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, description="JSON body to send; null sends none.")


class InvokeOut(BaseModel):
    """What the function answered."""

    status: int
    headers: dict[str, str]
    body: Any
    request_id: str | None


@router.post("/apps/{app}/invoke")
async def invoke(app: str, req: InvokeIn, who: TenantCaller, cp: Platform) -> InvokeOut:
    """Call a function of an app environment through the gateway and return its answer."""
    assert who.tenant is not None
    check_slug(req.env, "environment")
    tenant = who.tenant
    await run_in_threadpool(find_app, cp, tenant.id, app)
    headers = {"Host": cp.origin_host(req.env, app, tenant.slug)}
    try:
        # Plain HTTP on this machine: no certificate store to load (~0.1 s per client) and
        # no proxy from the environment between the control plane and its own gateway.
        async with httpx.AsyncClient(
            base_url=cp.gateway_url, timeout=120.0, verify=False, trust_env=False
        ) as http:
            r = await http.request(
                req.method,
                f"/api/{req.function}",
                params=req.query,
                headers=headers,
                content=None if req.body is None else json.dumps(req.body).encode(),
            )
    except httpx.TransportError as exc:
        raise Unavailable(f"the app gateway is not reachable: {exc}") from exc
    body: Any = r.text
    if r.headers.get("content-type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):
            body = r.json()
    return InvokeOut(
        status=r.status_code,
        headers=dict(r.headers),
        body=body,
        request_id=r.headers.get("x-atoll-request-id"),
    )


@router.get("/apps/{app}/envs/{env}/logs", response_model=None)
async def logs(
    app: str,
    env: str,
    who: TenantCaller,
    cp: Platform,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 100,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    follow: Annotated[bool, Query(description="Stream new entries (server-sent events).")] = False,
) -> dict[str, Any] | StreamingResponse:
    """Function logs of an app environment; ``follow`` streams them as server-sent events."""
    assert who.tenant is not None
    check_slug(env, "environment")
    await run_in_threadpool(find_app, cp, who.tenant.id, app)
    key = AppEnv(tenant=who.tenant.slug, app=app, env=env).key
    if not follow:
        entries = await run_in_threadpool(cp.logs.read, key, limit, request_id)
        return {"entries": entries}

    async def events() -> AsyncIterator[bytes]:
        # One entry at a time: the entries a slow reader has not taken wait in the log
        # store, which bounds them in bytes.
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)

        async def pump() -> None:
            async for entry in cp.logs.follow(key, backlog=limit):
                await queue.put(entry)

        task = asyncio.get_running_loop().create_task(pump())
        try:
            while True:
                try:
                    entry = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if request_id is None or entry.get("request_id") == request_id:
                    yield f"data: {json.dumps(entry, default=str)}\n\n".encode()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
