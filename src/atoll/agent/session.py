"""The agent as the control plane runs it: a turn per prompt with its checkpoint, the turns'
history, and undo.

A turn's checkpoint is the workspace head it began on and a snapshot of the dev database
taken before it (the dependency lock is a file of the revision, so it comes back with the
files). Undo puts all of them back: a new revision with the files as they were, and the
database as it was (the replaced content kept as a ``before-restore`` snapshot).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from atoll import dbservice
from atoll.errors import Conflict, NotFound
from atoll.names import AppEnv
from atoll.services import ControlPlane
from atoll.store import agent as turn_repo
from atoll.store import builds
from atoll.store import tenants as tenant_repo
from atoll.store.records import AgentTurn, App, Revision
from atoll.workspace import Change

from .checks import CHECK_ENV
from .context import context_pack, system_prompt
from .draft import Draft, ReadLedger
from .provider import Provider
from .turn import Event, Limits, Turn, TurnResult


@dataclass(frozen=True)
class Undone:
    """What an undo put back."""

    turn: AgentTurn
    revision: Revision | None  # the new head, with the files as before the turn
    database_restored: bool


class Agent:
    """Runs turns on the apps of ``cp``, one at a time per app; ``provider`` gives the model
    of a tenant (by id)."""

    def __init__(self, cp: ControlPlane, provider: Callable[[int], Provider]) -> None:
        self.cp = cp
        self.provider = provider
        self._ledgers: dict[int, ReadLedger] = {}  # per app: what the model read so far
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self.stops: dict[int, threading.Event] = {}  # per app: the running turn's stop flag

    def recover(self) -> int:
        """Finish the turns a stop cut short as failed (at start-up); how many."""
        with self.cp.engine.begin() as conn:
            return turn_repo.fail_running(conn, tenant_repo.now())

    def run(
        self,
        tenant: str,
        app: App,
        prompt: str,
        author: str,
        on_event: Callable[[Event], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        limits: Limits | None = None,
    ) -> tuple[int, TurnResult]:
        """Run one turn on ``app``; its number and result. ``Conflict`` while another turn
        runs on the app."""
        with self._lock:
            if app.id in self._busy:
                raise Conflict(f"the agent is already working on {app.slug}: wait or stop it")
            self._busy.add(app.id)
        try:
            return self._run(tenant, app, prompt, author, on_event, should_stop, limits)
        finally:
            with self._lock:
                self._busy.discard(app.id)

    def _run(
        self,
        tenant: str,
        app: App,
        prompt: str,
        author: str,
        on_event: Callable[[Event], None] | None,
        should_stop: Callable[[], bool] | None,
        limits: Limits | None,
    ) -> tuple[int, TurnResult]:
        ledger = self._ledgers.setdefault(app.id, ReadLedger())
        draft = Draft.of_head(self.cp, app, ledger)
        snapshot = self._checkpoint(tenant, app)
        base = draft.base.id if draft.base is not None else None
        with self.cp.engine.begin() as conn:
            number = turn_repo.start_turn(
                conn, app.id, prompt, base, snapshot, author, tenant_repo.now()
            )
            last = builds.get_build(conn, app.id, CHECK_ENV)
        errors = [str(e) for e in last.errors] if last is not None else []
        provider = self.provider(app.tenant_id)
        # A turn that raises (the model's server refused it, a bug) is recorded as failed.
        result = TurnResult("failed", "the turn failed inside the platform")
        try:
            turn = Turn(
                provider,
                draft,
                tenant,
                system_prompt(),
                limits=limits,
                on_event=on_event,
                should_stop=should_stop,
                author=f"agent for {author}",
                context=context_pack(draft, tenant, errors),
            )
            result = turn.run(prompt)
            return number, result
        finally:
            close = getattr(provider, "close", None)
            if callable(close):
                close()
            with self.cp.engine.begin() as conn:
                turn_repo.finish_turn(
                    conn,
                    app.id,
                    number,
                    result.outcome,
                    result.summary,
                    result.revision.id if result.revision else None,
                    result.usage.prompt_tokens,
                    result.usage.completion_tokens,
                    result.usage.cost_usd,
                    result.steps,
                    tenant_repo.now(),
                )

    def _checkpoint(self, tenant: str, app: App) -> str | None:
        """A snapshot of the dev database before the turn (None while there is none)."""
        name = dbservice.DatabaseName.of(AppEnv(tenant=tenant, app=app.slug, env=CHECK_ENV))
        try:
            return dbservice.take_snapshot(self.cp.settings.data_dir, name, "agent turn").id
        except NotFound:
            return None

    def history(self, app: App, limit: int = 100) -> list[AgentTurn]:
        with self.cp.engine.connect() as conn:
            return turn_repo.list_turns(conn, app.id, limit)

    def undo(self, tenant: str, app: App, author: str) -> Undone:
        """Put back the files and the dev database as they were before the newest turn that
        committed; ``Conflict`` when the workspace moved since that turn (undo the newer
        change first, or restore by hand)."""
        with self.cp.engine.connect() as conn:
            turn = turn_repo.last_kept_turn(conn, app.id)
        if app.head_revision != turn.revision:
            raise Conflict(
                f"the workspace changed after agent turn {turn.number}: its files are not "
                "put back over newer work",
                turn=turn.number,
            )
        workspaces = self.cp.workspaces
        before = workspaces.revision(app, turn.base_revision) if turn.base_revision else None
        after = workspaces.revision(app, turn.revision)
        changes = [
            Change(path, before.tree[path][0] if before and path in before.tree else None)
            for path in sorted(set(after.tree) | set(before.tree if before else {}))
            if (before.tree.get(path) if before else None) != after.tree.get(path)
        ]
        message = f"undo agent turn {turn.number}"
        revision, _new = workspaces.commit(app, turn.revision, changes, author, message)
        restored = False
        if turn.snapshot is not None:
            name = dbservice.DatabaseName.of(AppEnv(tenant=tenant, app=app.slug, env=CHECK_ENV))
            dbservice.restore_snapshot(self.cp.settings.data_dir, name, turn.snapshot)
            restored = True
        with self.cp.engine.begin() as conn:
            turn_repo.mark_undone(conn, app.id, turn.number, tenant_repo.now())
        self._ledgers.pop(app.id, None)  # what the model read is not what is there now
        return Undone(turn, revision, restored)
