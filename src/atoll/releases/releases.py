"""Releases: the workspace head built once into ``v1``, ``v2``, ... of an app.

A release is a record pointing at a workspace revision and at that revision's build
artifacts (its checked-out code and its built pages and components, both kept per revision
and shared by every release of it, so building an unchanged revision again reuses them).
The record is written when the build starts and finished once with its outcome; nothing
changes it after that. A failed build is kept with its errors (file, line, message) and
deploys nowhere. A build cut short by a stop of the server is recorded as failed when the
server starts again.

Promotion deploys an existing release to ``staging``, ``prod`` or a created environment
(``dev`` follows the workspace): no rebuild, the same artifacts; the environment's
database is migrated to the release's migrations first (a snapshot is taken before), the
release's workers are started, then its pointer moves, in one metadata transaction with
the history entry. Rollback moves the pointer back to an earlier release, after checking
that it can run on the database (``--restore-db`` restores the snapshot that lets it).
Each is recorded (who, when, from, to, result, duration).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from atoll import dbservice
from atoll.builder.reports import build_errors
from atoll.errors import AtollError, Conflict, NotFound
from atoll.faults import crash_point
from atoll.names import AppEnv
from atoll.releases.artifacts import (
    INTERNAL_FAILURE,
    artifact_digest,
    build_revision,
    built_dir,
    code_migrations,
    kept_artifacts,
)
from atoll.releases.buildlog import BuildLog
from atoll.releases.deployments import BUILD_ENV, migrate
from atoll.services import ControlPlane
from atoll.store import envs as env_repo
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, BuildError, BuildState, Deploy, EnvRelease, Release
from atoll.store.tables import releases
from atoll.workspace.checkouts import checkout_dir

log = logging.getLogger("atoll.releases")

INTERRUPTED = "the build was cut short (the server stopped); create the release again"
CUT_SHORT = (
    "cut short: the server stopped during it; the environment kept its release (migrations "
    "applied before the stop stay applied: promote again to finish)"
)


class RollbackBlocked(Conflict):
    """The release cannot run on the environment's database: a destructive migration it
    never saw ran there. ``detail`` names the migration and the snapshot to restore."""

    code = "rollback_blocked"


@dataclass(frozen=True)
class RestoredDb:
    """What a rollback with ``--restore-db`` did to the environment's database."""

    snapshot: str  # the snapshot restored: taken before ``migration`` ran
    migration: str  # the destructive migration it undid (and every one after it)
    safety_snapshot: str | None  # the content it replaced, kept to undo the restore
    lost_rows: dict[str, int]  # per table, rows written or changed since ``snapshot``

    @property
    def summary(self) -> str:
        """One line for the history."""
        lost = ", ".join(f"{t} {n}" for t, n in sorted(self.lost_rows.items())) or "none"
        return (
            f"database restored to {self.snapshot} (before {self.migration}); rows lost: "
            f"{lost}; the replaced content is snapshot {self.safety_snapshot}"
        )


@dataclass(frozen=True)
class _SchemaFit:
    """How a release's code fits an environment's database (``Releases._schema_fit``)."""

    unseen: tuple[tuple[str, str], ...]  # (file, kind) of migrations run there it never saw
    blocking: dbservice.AppliedMigration | None  # the first destructive one of them
    snapshot: dbservice.SnapshotInfo | None  # taken before ``blocking``; None when gone


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do to the environment's database, told before it is done (the
    IDE's confirmation says it): whether the release runs on the database as it is, and if
    not, what restoring the snapshot that lets it would lose."""

    env: str
    release: str  # the release the rollback would serve
    current: str  # what the environment serves now
    migrations_after: tuple[tuple[str, str], ...]  # (file, kind) run there, never seen by it
    blocking: str | None  # the first destructive one of them: it blocks the plain rollback
    snapshot: dbservice.SnapshotInfo | None  # restore_db restores it (None: it is gone)
    lost_rows: dict[str, int]  # per table, rows written or changed since ``snapshot``

    @property
    def compatible(self) -> bool:
        """Whether the release runs on the database as it is (no restore needed)."""
        return self.blocking is None

    @property
    def destructive(self) -> list[str]:
        """The migrations run since that the release never saw and that do more than add."""
        return [file for file, kind in self.migrations_after if kind != "additive"]

    @property
    def would_lose(self) -> str | None:
        """One sentence on what ``restore_db`` would lose; None when none is needed."""
        if self.blocking is None:
            return None
        if self.snapshot is None:
            return (
                f"the snapshot taken before {self.blocking} is gone, so {self.env}'s database "
                f"cannot be put back: {self.release} cannot be restored with it"
            )
        taken = f"{self.snapshot.created_at:%Y-%m-%d %H:%M:%S} UTC"
        rows = sum(self.lost_rows.values())
        counted = (
            ", ".join(f"{table}: {n}" for table, n in sorted(self.lost_rows.items()))
            if rows
            else "none counted now"
        )
        return (
            f"the data written in {self.env} since {taken} (rows written or changed since, "
            f"counted now: {counted}) and the schema changes of {self.blocking} and every "
            "migration after it"
        )


class Releases:
    """Creating and reading an installation's releases."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp

    def recover(self) -> int:
        """Mark releases left building, and promotions and rollbacks left running, by a
        stopped server as failed; how many there were."""
        with self.cp.engine.begin() as conn:
            cut = release_repo.fail_running_deploys(conn, CUT_SHORT)
            stale = [r.id for r in conn.execute(
                sa.select(releases.c.id).where(releases.c.state == "building")
            )]  # fmt: skip
            for release_id in stale:
                release_repo.finish_release(
                    conn,
                    release_id,
                    "failed",
                    [BuildError(None, None, None, INTERRUPTED)],
                    tenant_repo.now(),
                )
        return len(stale) + cut

    def create(self, app: App, notes: str, created_by: str) -> tuple[Release, float]:
        """Build the app's workspace head into its next release; the release (ready or
        failed, with its errors) and the build's seconds."""
        if app.head_revision is None:
            raise Conflict(f"app {app.slug!r} has no revision to release yet: push first")
        revision = self.cp.workspaces.revision(app)
        with self.cp.engine.begin() as conn:
            release = release_repo.start_release(
                conn, app.id, revision.id, revision.number, notes, created_by, tenant_repo.now()
            )
        clock = time.monotonic()
        errors: list[BuildError] = []
        build_log = BuildLog()  # kept with the release, for `atoll release show`
        try:
            build_revision(self.cp, app, revision, build_log, document=True)
        except AtollError as exc:
            errors = build_errors(exc)
        except Exception:
            log.exception("release %s of app %s: the build failed", release.version, app.slug)
            errors = [BuildError(None, None, None, INTERNAL_FAILURE)]
        finally:
            seconds = time.monotonic() - clock
            with self.cp.engine.begin() as conn:
                state: BuildState = "failed" if errors else "ready"
                release_repo.finish_release(
                    conn,
                    release.id,
                    state,
                    errors,
                    tenant_repo.now(),
                    build_log=build_log.text,
                    migrations=build_log.migrations,
                )
                release = release_repo.get_release(conn, app.id, release.number)
        return release, seconds

    def of_app(self, app: App) -> list[Release]:
        """The app's releases, newest first."""
        with self.cp.engine.connect() as conn:
            return release_repo.list_releases(conn, app.id)

    def get(self, app: App, number: int) -> Release:
        """The app's release ``v{number}``; ``NotFound`` when there is none."""
        with self.cp.engine.connect() as conn:
            return release_repo.get_release(conn, app.id, number)

    def digest(self, app: App, revision_id: str) -> str | None:
        """The digest of a revision's kept artifacts (``artifact_digest``); None when they
        were never built (or are gone): reading never builds."""
        code_dir = checkout_dir(self.cp.workspaces, app, revision_id)
        built = built_dir(self.cp, app, revision_id)
        if not (code_dir.is_dir() and built.is_dir()):
            return None
        return artifact_digest(code_dir, built)

    # -- environments ------------------------------------------------------------------

    def deployed(self, app: App) -> dict[str, EnvRelease]:
        """What each of the app's environments serves (dev serves the workspace: absent)."""
        with self.cp.engine.connect() as conn:
            return release_repo.list_env_releases(conn, app.id)

    def history(self, app: App, env: str) -> list[Deploy]:
        """The environment's promotions and rollbacks, newest first."""
        with self.cp.engine.connect() as conn:
            env_repo.check_app_environment(conn, app, env)
            return release_repo.list_deploys(conn, app.id, env)

    def promote(
        self,
        tenant: str,
        app: App,
        env: str,
        by: str,
        number: int | None = None,
        from_env: str | None = None,
    ) -> tuple[int | None, Release]:
        """Deploy release ``v{number}`` (or what ``from_env`` serves, or the newest that
        built) to ``env``; what it served before, and the release it serves now."""
        _check_env(self.cp, app, env)
        with self.cp.engine.connect() as conn:
            if from_env is not None:
                number = self._serving(conn, app, from_env)
            elif number is None:
                ready = [r for r in release_repo.list_releases(conn, app.id) if r.state == "ready"]
                if not ready:
                    raise Conflict(
                        f"app {app.slug!r} has no release that built: "
                        "'atoll release create' builds one"
                    )
                number = ready[0].number
            release = _deployable(release_repo.get_release(conn, app.id, number))
            current = release_repo.get_env_release(conn, app.id, env)
        before = current.release_number if current else None
        host = AppEnv(tenant=tenant, app=app.slug, env=env)
        self._deploy(host, app, "promote", before, release, by)
        return before, release

    def rollback(
        self,
        tenant: str,
        app: App,
        env: str,
        by: str,
        number: int | None = None,
        restore_db: bool = False,
    ) -> tuple[int, Release, RestoredDb | None]:
        """Point ``env`` back at release ``v{number}`` (or at what it served before); what
        it served before, the release it serves now, and the database restore if one was
        needed and asked for (``restore_db``).

        The database is left as it is unless a destructive migration the release never saw
        ran on it since: then ``RollbackBlocked`` names the migration and the snapshot
        ``restore_db`` restores (rows written since are lost, and counted).
        """
        current, release = self._rollback_target(app, env, number)
        host = AppEnv(tenant=tenant, app=app.slug, env=env)
        restored: list[RestoredDb] = []

        def fit_schema(code_dir: Path) -> str:
            done = self._fit_schema(host, release, code_dir, restore_db)
            if done is None:
                return ""
            restored.append(done)
            return done.summary

        self._deploy(host, app, "rollback", current, release, by, fit_schema)
        return current, release, restored[0] if restored else None

    def rollback_plan(
        self, tenant: str, app: App, env: str, number: int | None = None
    ) -> RollbackPlan:
        """What ``rollback`` to ``v{number}`` (or to what ``env`` served before) would do
        to the database, asked before doing it: the same checks, nothing changed. Refused
        exactly when the rollback would be for another reason than the database."""
        current, release = self._rollback_target(app, env, number)
        host = AppEnv(tenant=tenant, app=app.slug, env=env)
        revision = self.cp.workspaces.revision(app, release.revision)
        code_dir, _built = kept_artifacts(self.cp, app, revision)
        fit = self._schema_fit(host, release, code_dir)
        lost: dict[str, int] = {}
        if fit.blocking is not None and fit.snapshot is not None:
            name = dbservice.DatabaseName.of(host)
            lost = dbservice.rows_since(self.cp.settings.data_dir, name, fit.snapshot.id)
        return RollbackPlan(
            env=env,
            release=release.version,
            current=f"v{current}",
            migrations_after=fit.unseen,
            blocking=fit.blocking.filename if fit.blocking is not None else None,
            snapshot=fit.snapshot,
            lost_rows=lost,
        )

    def _rollback_target(self, app: App, env: str, number: int | None) -> tuple[int, Release]:
        """What ``env`` serves and the release a rollback to ``v{number}`` (default: what
        it served before) would serve; ``Conflict`` when there is no such rollback."""
        _check_env(self.cp, app, env)
        with self.cp.engine.connect() as conn:
            current = release_repo.get_env_release(conn, app.id, env)
            if current is None:
                raise Conflict(f"nothing is deployed to {env} yet: nothing to roll back")
            if number is None:
                earlier = [
                    d.from_number
                    for d in release_repo.list_deploys(conn, app.id, env)
                    if d.result == "ok"
                    and d.to_number == current.release_number
                    and d.from_number is not None
                ]
                if not earlier:
                    raise Conflict(
                        f"{env} served no release before v{current.release_number}: "
                        "name one with --to"
                    )
                number = earlier[0]
            if number == current.release_number:
                raise Conflict(f"{env} already serves v{number}")
            release = _deployable(release_repo.get_release(conn, app.id, number))
        return current.release_number, release

    def _schema_fit(self, host: AppEnv, release: Release, code_dir: Path) -> _SchemaFit:
        """How ``release``'s code (in ``code_dir``) fits the environment's database as it
        is: what ran there that it never saw, the first destructive one, and the snapshot
        that undoes it. ``Conflict`` when the release brings migrations not run there."""
        data_dir = self.cp.settings.data_dir
        name = dbservice.DatabaseName.of(host)
        try:
            applied = dbservice.list_applied_migrations(data_dir, name)
        except NotFound:
            return _SchemaFit((), None, None)  # no database yet: nothing it could disagree with
        brings = {m.version: m for m in code_migrations(code_dir)}
        done = {m.version for m in applied}
        unapplied = [m.filename for v, m in sorted(brings.items()) if v not in done]
        if unapplied:
            raise Conflict(
                f"{release.version} brings migrations {host.env}'s database has not run "
                f"({', '.join(unapplied)}): promote it instead",
                migrations=unapplied,
            )
        unseen = tuple((m.filename, m.kind) for m in applied if m.version not in brings)
        blocking = dbservice.blocking_migration(applied, brings.keys())
        if blocking is None:
            return _SchemaFit(unseen, None, None)
        snapshot = dbservice.snapshot_before(
            dbservice.list_snapshots(data_dir, name), max(brings, default=0), blocking.version
        )
        return _SchemaFit(unseen, blocking, snapshot)

    def _fit_schema(
        self, host: AppEnv, release: Release, code_dir: Path, restore_db: bool
    ) -> RestoredDb | None:
        """Check that ``release`` can run on the environment's database as it is; restore
        the snapshot that makes it so when ``restore_db`` (else ``RollbackBlocked``)."""
        fit = self._schema_fit(host, release, code_dir)
        blocking, snapshot = fit.blocking, fit.snapshot
        if blocking is None:
            return None
        if not restore_db:
            offer = (
                f"--restore-db restores snapshot {snapshot.id}, taken before it "
                "(rows written since are lost)"
                if snapshot is not None
                else "the snapshot taken before it is gone, so it cannot be undone here"
            )
            raise RollbackBlocked(
                f"{release.version} cannot run on {host.env}'s database: migration "
                f"{blocking.filename} ({blocking.kind}) ran after it. {offer}",
                migration=blocking.filename,
                snapshot=snapshot.id if snapshot is not None else None,
            )
        if snapshot is None:
            raise Conflict(
                f"the snapshot taken before migration {blocking.filename} is gone (only the "
                f"newest {self.cp.settings.databases.max_snapshots} are kept); "
                f"{release.version} cannot be restored with its database",
                migration=blocking.filename,
            )
        data_dir = self.cp.settings.data_dir
        name = dbservice.DatabaseName.of(host)
        lost = dbservice.rows_since(data_dir, name, snapshot.id)
        safety = dbservice.restore_snapshot(
            data_dir, name, snapshot.id, keep=self.cp.settings.databases.max_snapshots
        )
        return RestoredDb(
            snapshot=snapshot.id,
            migration=blocking.filename,
            safety_snapshot=safety.id if safety is not None else None,
            lost_rows=lost,
        )

    def _serving(self, conn: sa.Connection, app: App, env: str) -> int:
        _check_env(self.cp, app, env, source=True)
        pointer = release_repo.get_env_release(conn, app.id, env)
        if pointer is None:
            raise Conflict(f"nothing is deployed to {env} yet: promote a release there first")
        return pointer.release_number

    def _deploy(
        self,
        host: AppEnv,
        app: App,
        action: str,
        before: int | None,
        release: Release,
        by: str,
        fit_schema: Callable[[Path], str] | None = None,
    ) -> None:
        """Move ``host``'s pointer to ``release`` and record it: a promotion migrates the
        database first, a rollback fits it (``fit_schema``, which says what it did)."""
        clock = time.monotonic()
        # In the history from the start: a promotion cut short by a stop of the server (it
        # may have migrated the database) shows as failed, not as nothing.
        with self.cp.engine.begin() as conn:
            deploy_id = release_repo.record_deploy(
                conn, app.id, host.env, action, before, release.number, "running", "", by,
                tenant_repo.now(), 0.0,
            )  # fmt: skip
        failure: AtollError | None = None
        detail = ""
        try:
            revision = self.cp.workspaces.revision(app, release.revision)
            code_dir, _built = kept_artifacts(self.cp, app, revision)  # no rebuild, no checks
            if fit_schema is not None:
                detail = fit_schema(code_dir)
            else:
                migrate(self.cp, host, code_dir)  # snapshot, then the release's migrations
                crash_point("after-migrate")
        except AtollError as exc:
            failure = exc
        if failure is None:
            self._prepare(host, release)
        # The pointer and its history entry's outcome move together; a failure is history only.
        with self.cp.engine.begin() as conn:
            if failure is None:
                at = tenant_repo.now()
                release_repo.set_env_release(conn, app.id, host.env, release.number, by, at)
                crash_point("before-switch")
            result, detail = ("failed", failure.message) if failure else ("ok", detail)
            ms = round((time.monotonic() - clock) * 1000, 1)
            release_repo.finish_deploy(conn, deploy_id, result, detail, ms)
        if failure is not None:
            raise failure
        self.cp.workspaces.changed()  # the gateway looks again at once
        self._switched(host, release)

    def _prepare(self, host: AppEnv, release: Release) -> None:
        """Start the release's workers before the switch, where a gateway serves here; a
        failure only costs the first request its warm start."""
        switches = self.cp.switches
        if switches is None:
            return
        try:
            switches.before_switch(host, release.number)
        except Exception:
            log.warning(
                "%s: could not start %s before the switch", host.key, release.version, exc_info=True
            )

    def _switched(self, host: AppEnv, release: Release) -> None:
        """Tell a gateway serving here that the pointer moved, so its next request needs no
        lookup; a failure only costs that request the lookup."""
        switches = self.cp.switches
        if switches is None:
            return
        try:
            switches.after_switch(host, release.number)
        except Exception:
            log.warning("%s: could not switch to %s here", host.key, release.version, exc_info=True)


def _check_env(cp: ControlPlane, app: App, env: str, source: bool = False) -> None:
    """Refuse ``env`` as a promotion's or rollback's target (or, with ``source``, as the
    environment a promotion takes its release from): dev, and what is not the app's."""
    if env == BUILD_ENV:
        raise Conflict(
            f"{BUILD_ENV} serves the workspace, not a release: name a release"
            if source
            else f"{BUILD_ENV} follows the workspace: promote to staging, prod or an "
            "environment created with 'atoll env create'"
        )
    with cp.engine.connect() as conn:
        env_repo.check_app_environment(conn, app, env)


def _deployable(release: Release) -> Release:
    if release.state != "ready":
        raise Conflict(f"{release.version} did not build ({release.state}); it deploys nowhere")
    return release
