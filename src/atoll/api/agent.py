"""The agent over HTTP: a turn streamed as server-sent events, stop, history and undo.

``POST /apps/{app}/agent/turns`` answers ``text/event-stream``: one ``data:`` line per step
(``text``, ``tool_call``, ``tool_result``, ``checks``, ``usage``), then a ``result`` event
with the turn's number, outcome, summary, revision and usage. A client that goes away stops
the turn (nothing is committed then). Which model is used comes from the server's
``ATOLL_LLM_BASE_URL``, ``ATOLL_LLM_MODEL`` and ``ATOLL_LLM_API_KEY``; without them the
call fails with 409 ``model_not_configured`` before anything runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from atoll.agent.models import check_reachable, checked_model, describe_model, model_for
from atoll.agent.provider import ModelNotConfigured, ModelSettings, Provider
from atoll.agent.session import Agent
from atoll.agent.turn import Event, Limits
from atoll.errors import AtollError, Forbidden, NotFound
from atoll.services import ControlPlane
from atoll.store import agent as turn_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import AgentModel, AgentTurn

from .apps import find_app
from .auth import Platform, TenantCaller

router = APIRouter(tags=["agent"])
log = logging.getLogger("atoll.agent")
INTERNAL = "the turn failed inside the platform (logged)"

MAX_PROMPT_CHARS = 20_000
HEARTBEAT_SECONDS = 15.0


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_steps: int = Field(40, ge=1, le=200)
    max_cost_usd: float | None = Field(
        None, ge=0, le=10_000, description="Stop the turn once the model cost this much."
    )


class TurnOut(BaseModel):
    number: int
    prompt: str
    outcome: str
    summary: str
    base_revision: str | None
    revision: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    steps: int
    author: str
    started_at: str
    finished_at: str | None
    undone_at: str | None

    @classmethod
    def of(cls, turn: AgentTurn) -> TurnOut:
        return cls(
            number=turn.number,
            prompt=turn.prompt,
            outcome=turn.outcome,
            summary=turn.summary,
            base_revision=turn.base_revision,
            revision=turn.revision,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
            cost_usd=round(turn.cost_usd, 6),
            steps=turn.steps,
            author=turn.author,
            started_at=turn.started_at.isoformat(),
            finished_at=turn.finished_at.isoformat() if turn.finished_at else None,
            undone_at=turn.undone_at.isoformat() if turn.undone_at else None,
        )


class UndoOut(BaseModel):
    turn: int
    revision: str | None
    database_restored: bool


def agent_of(request: Request) -> Agent:
    """The agent of the control plane serving the request (one per process)."""
    agent: Agent | None = getattr(request.app.state, "agent", None)
    if agent is None:
        cp = request.app.state.control_plane

        def provider(tenant_id: int) -> Provider:
            return model_for(cp, tenant_id).provider()

        agent = request.app.state.agent = Agent(cp, provider)
    return agent


AgentDep = Annotated[Agent, Depends(agent_of)]


@router.post("/apps/{app}/agent/turns", response_model=None)
async def run_turn(
    app: str, body: TurnIn, who: TenantCaller, cp: Platform, agent: AgentDep
) -> StreamingResponse:
    """Run one agent turn on the app; its steps stream as server-sent events."""
    assert who.tenant is not None
    tenant = who.tenant.slug
    found = await run_in_threadpool(find_app, cp, who.tenant.id, app)
    await run_in_threadpool(model_for, cp, who.tenant.id)  # no model: 409 before the stream
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    stop = threading.Event()
    agent.stops[found.id] = stop
    limits = Limits(max_steps=body.max_steps, max_cost_usd=_cost_limit(cp, body.max_cost_usd))

    def emit(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, {"kind": event.kind, **event.data})

    def work() -> None:
        final: dict[str, Any]
        try:
            number, result = agent.run(
                tenant, found, body.prompt, who.author, emit, stop.is_set, limits
            )
            final = {
                "kind": "result",
                "turn": number,
                "outcome": result.outcome,
                "summary": result.summary,
                "revision": result.revision.id if result.revision else None,
                "changed": result.changed,
                "errors": [str(e) for e in result.errors],
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "cost_usd": round(result.usage.cost_usd, 6),
                "steps": result.steps,
            }
        except AtollError as exc:
            final = {"kind": "error", **exc.to_dict()["error"]}
        except Exception:
            log.exception("agent turn on %s/%s failed", tenant, app)
            final = {"kind": "error", "code": "internal", "message": INTERNAL}
        finally:
            if agent.stops.get(found.id) is stop:
                del agent.stops[found.id]
        loop.call_soon_threadsafe(queue.put_nowait, final)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    loop.run_in_executor(None, work)

    async def events() -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
                    break
                yield f"data: {json.dumps(item, default=str)}\n\n".encode()
        finally:
            # The client went away (or the turn ended): stop at the next step. The turn's
            # thread records its end by itself.
            stop.set()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/apps/{app}/agent/stop")
def stop_turn(app: str, who: TenantCaller, cp: Platform, agent: AgentDep) -> dict[str, bool]:
    """Stop the agent's running turn on the app at its next step (nothing is committed)."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    stop = agent.stops.get(found.id)
    if stop is None:
        raise NotFound("the agent is not working on this app")
    stop.set()
    return {"stopping": True}


@router.get("/apps/{app}/agent/turns")
def history(app: str, who: TenantCaller, cp: Platform, agent: AgentDep) -> list[TurnOut]:
    """The agent's turns on the app, newest first."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    return [TurnOut.of(t) for t in agent.history(found)]


@router.post("/apps/{app}/agent/undo")
def undo(app: str, who: TenantCaller, cp: Platform, agent: AgentDep) -> UndoOut:
    """Put back the files and the dev database as they were before the newest kept turn."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    done = agent.undo(who.tenant.slug, found, who.author)
    revision = done.revision.id if done.revision else None
    return UndoOut(
        turn=done.turn.number, revision=revision, database_restored=done.database_restored
    )


def _cost_limit(cp: ControlPlane, asked: float | None) -> float | None:
    """The turn's cost budget: the caller's, never above the operator's."""
    limits = [x for x in (asked, cp.settings.agent.max_cost_usd) if x is not None]
    return min(limits) if limits else None


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(max_length=2000, description="The server's /v1 base URL.")
    model: str = Field(max_length=200)
    api_key: str = Field("", max_length=4000, description="Write-only; never answered.")
    price_input: float = Field(0.0, description="US dollars per million prompt tokens.")
    price_output: float = Field(0.0, description="US dollars per million completion tokens.")


@router.get("/agent/model")
def show_model(who: TenantCaller, cp: Platform) -> dict[str, Any]:
    """The model the tenant's turns use: its own (never the key) or the server's."""
    assert who.tenant is not None
    with cp.engine.connect() as conn:
        own = turn_repo.get_model(conn, who.tenant.id)
    shown = describe_model(own if cp.settings.agent.tenant_models else None)
    if shown["source"] == "server":
        try:
            server = ModelSettings.from_env()
            shown.update(configured=True, model=server.model)
        except ModelNotConfigured:
            shown.update(configured=False)
    else:
        shown.update(configured=True)
    return shown


@router.put("/agent/model")
def set_model(body: ModelIn, who: TenantCaller, cp: Platform) -> dict[str, Any]:
    """Use this model server for the tenant's turns instead of the server's."""
    assert who.tenant is not None
    if not cp.settings.agent.tenant_models:
        raise Forbidden("this server's operator does not let tenants choose the agent's model")
    base_url, model, key, price_in, price_out = checked_model(
        body.base_url, body.model, body.api_key, body.price_input, body.price_output
    )
    check_reachable(base_url, cp.settings.agent.tenant_model_private_hosts)
    record = AgentModel(
        tenant_id=who.tenant.id,
        base_url=base_url,
        model=model,
        api_key=key,
        price_input=price_in,
        price_output=price_out,
        updated_at=tenant_repo.now(),
        updated_by=who.author,
    )
    with cp.engine.begin() as conn:
        turn_repo.set_model(conn, record)
    return {**describe_model(record), "configured": True}


@router.delete("/agent/model")
def unset_model(who: TenantCaller, cp: Platform) -> dict[str, bool]:
    """Go back to the server's model for the tenant's turns."""
    assert who.tenant is not None
    with cp.engine.begin() as conn:
        had = turn_repo.delete_model(conn, who.tenant.id)
    return {"deleted": had}
