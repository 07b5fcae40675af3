"""The agent's turns per app (``agent_turns``): started as ``running``, finished with their
outcome, marked undone; a turn a stop of the server cut short is finished as ``failed``.
And the model a tenant chose for its turns (``agent_models``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from atoll.errors import NotFound
from atoll.store.records import AgentModel, AgentTurn
from atoll.store.tables import agent_models, agent_turns
from atoll.store.tenants import utc

MAX_PROMPT_CHARS = 20_000
MAX_SUMMARY_CHARS = 8_000
CUT_SHORT = "cut short by a stop of the server"


def _turn(row: Any) -> AgentTurn:
    return AgentTurn(
        app_id=row.app_id,
        number=row.number,
        prompt=row.prompt,
        outcome=row.outcome,
        summary=row.summary,
        base_revision=row.base_revision,
        revision=row.revision,
        snapshot=row.snapshot,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        steps=row.steps,
        author=row.author,
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at) if row.finished_at else None,
        undone_at=utc(row.undone_at) if row.undone_at else None,
        cost_usd=float(row.cost_usd),
    )


def start_turn(
    conn: sa.Connection,
    app_id: int,
    prompt: str,
    base_revision: str | None,
    snapshot: str | None,
    author: str,
    at: datetime,
) -> int:
    """Record a running turn; its number."""
    newest = conn.execute(
        sa.select(sa.func.max(agent_turns.c.number)).where(agent_turns.c.app_id == app_id)
    ).scalar()
    number = int(newest or 0) + 1
    conn.execute(
        agent_turns.insert().values(
            app_id=app_id,
            number=number,
            prompt=prompt[:MAX_PROMPT_CHARS],
            outcome="running",
            summary="",
            base_revision=base_revision,
            revision=None,
            snapshot=snapshot,
            prompt_tokens=0,
            completion_tokens=0,
            steps=0,
            author=author,
            started_at=at,
        )
    )
    return number


def finish_turn(
    conn: sa.Connection,
    app_id: int,
    number: int,
    outcome: str,
    summary: str,
    revision: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
    steps: int,
    at: datetime,
) -> None:
    conn.execute(
        agent_turns.update()
        .where(agent_turns.c.app_id == app_id, agent_turns.c.number == number)
        .values(
            outcome=outcome,
            summary=summary[:MAX_SUMMARY_CHARS],
            revision=revision,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd,
            steps=steps,
            finished_at=at,
        )
    )


def mark_undone(conn: sa.Connection, app_id: int, number: int, at: datetime) -> None:
    conn.execute(
        agent_turns.update()
        .where(agent_turns.c.app_id == app_id, agent_turns.c.number == number)
        .values(undone_at=at)
    )


def list_turns(conn: sa.Connection, app_id: int, limit: int = 100) -> list[AgentTurn]:
    """The app's turns, newest first."""
    rows = conn.execute(
        sa.select(agent_turns)
        .where(agent_turns.c.app_id == app_id)
        .order_by(agent_turns.c.number.desc())
        .limit(limit)
    )
    return [_turn(r) for r in rows]


def last_kept_turn(conn: sa.Connection, app_id: int) -> AgentTurn:
    """The newest turn that committed a revision and was not undone; ``NotFound`` if none."""
    row = conn.execute(
        sa.select(agent_turns)
        .where(
            agent_turns.c.app_id == app_id,
            agent_turns.c.revision.is_not(None),
            agent_turns.c.undone_at.is_(None),
        )
        .order_by(agent_turns.c.number.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound("the agent has no turn to undo on this app")
    return _turn(row)


def fail_running(conn: sa.Connection, at: datetime) -> int:
    """Finish every turn still ``running`` (its process stopped) as failed; how many."""
    result = conn.execute(
        agent_turns.update()
        .where(agent_turns.c.outcome == "running")
        .values(outcome="failed", summary=CUT_SHORT, finished_at=at)
    )
    return int(result.rowcount or 0)


def get_model(conn: sa.Connection, tenant_id: int) -> AgentModel | None:
    """The tenant's own model, if it set one."""
    row = conn.execute(sa.select(agent_models).where(agent_models.c.tenant_id == tenant_id)).first()
    if row is None:
        return None
    return AgentModel(
        tenant_id=row.tenant_id,
        base_url=row.base_url,
        model=row.model,
        api_key=row.api_key,
        price_input=float(row.price_input),
        price_output=float(row.price_output),
        updated_at=utc(row.updated_at),
        updated_by=row.updated_by,
    )


def set_model(conn: sa.Connection, model: AgentModel) -> None:
    """Set (or replace) the tenant's own model."""
    conn.execute(agent_models.delete().where(agent_models.c.tenant_id == model.tenant_id))
    conn.execute(
        agent_models.insert().values(
            tenant_id=model.tenant_id,
            base_url=model.base_url,
            model=model.model,
            api_key=model.api_key,
            price_input=model.price_input,
            price_output=model.price_output,
            updated_at=model.updated_at,
            updated_by=model.updated_by,
        )
    )


def delete_model(conn: sa.Connection, tenant_id: int) -> bool:
    """Go back to the server's model; whether the tenant had its own."""
    result = conn.execute(agent_models.delete().where(agent_models.c.tenant_id == tenant_id))
    return bool(result.rowcount)
