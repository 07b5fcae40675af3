"""Releases: the workspace head built once into ``v1``, ``v2``, ... of an app.

A release is a record pointing at a workspace revision and at that revision's build
artifacts (its checked-out code and its built pages and components, both kept per revision
and shared by every release of it, so building an unchanged revision again reuses them).
The record is written when the build starts and finished once with its outcome; nothing
changes it after that. A failed build is kept with its errors (file, line, message) and
deploys nowhere. A build cut short by a stop of the server is recorded as failed when the
server starts again.

Promotion deploys an existing release to ``staging`` or ``prod`` (``dev`` follows the
workspace): no rebuild, the same artifacts; the environment's database is migrated to the
release's migrations first (a snapshot is taken before), then its pointer moves, in one
metadata transaction with the history entry. Rollback moves the pointer back to an earlier
release. Each is recorded (who, when, from, to, result, duration).
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from atoll.builder.reports import build_errors
from atoll.errors import AtollError, Conflict, NotFound
from atoll.names import DEFAULT_ENVIRONMENTS, AppEnv
from atoll.releases.deployments import BUILD_ENV, INTERNAL_FAILURE, build_revision, migrate
from atoll.services import ControlPlane
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, BuildError, BuildState, Deploy, EnvRelease, Release
from atoll.store.tables import releases

log = logging.getLogger("atoll.releases")

INTERRUPTED = "the build was cut short (the server stopped); create the release again"


class Releases:
    """Creating and reading an installation's releases."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp

    def recover(self) -> int:
        """Mark releases left building by a stopped server as failed; how many there were."""
        with self.cp.engine.begin() as conn:
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
        return len(stale)

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
        try:
            build_revision(self.cp, app, revision)
        except AtollError as exc:
            errors = build_errors(exc)
        except Exception:
            log.exception("release %s of app %s: the build failed", release.version, app.slug)
            errors = [BuildError(None, None, None, INTERNAL_FAILURE)]
        finally:
            seconds = time.monotonic() - clock
            with self.cp.engine.begin() as conn:
                state: BuildState = "failed" if errors else "ready"
                release_repo.finish_release(conn, release.id, state, errors, tenant_repo.now())
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

    # -- environments ------------------------------------------------------------------

    def deployed(self, app: App) -> dict[str, EnvRelease]:
        """What each of the app's environments serves (dev serves the workspace: absent)."""
        with self.cp.engine.connect() as conn:
            return release_repo.list_env_releases(conn, app.id)

    def history(self, app: App, env: str) -> list[Deploy]:
        """The environment's promotions and rollbacks, newest first."""
        if env not in DEFAULT_ENVIRONMENTS:
            raise NotFound(f"environment {env!r} not found", env=env)
        with self.cp.engine.connect() as conn:
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
        _check_env(env)
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
        self._deploy(tenant, app, env, "promote", before, release, by)
        return before, release

    def rollback(
        self, tenant: str, app: App, env: str, by: str, number: int | None = None
    ) -> tuple[int, Release]:
        """Point ``env`` back at release ``v{number}`` (or at what it served before);
        what it served before, and the release it serves now."""
        _check_env(env)
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
        self._deploy(tenant, app, env, "rollback", current.release_number, release, by)
        return current.release_number, release

    def _serving(self, conn: sa.Connection, app: App, env: str) -> int:
        _check_env(env, source=True)
        pointer = release_repo.get_env_release(conn, app.id, env)
        if pointer is None:
            raise Conflict(f"nothing is deployed to {env} yet: promote a release there first")
        return pointer.release_number

    def _deploy(
        self,
        tenant: str,
        app: App,
        env: str,
        action: str,
        before: int | None,
        release: Release,
        by: str,
    ) -> None:
        clock = time.monotonic()
        host = AppEnv(tenant=tenant, app=app.slug, env=env)
        failure: AtollError | None = None
        try:
            revision = self.cp.workspaces.revision(app, release.revision)
            code_dir, _built = build_revision(self.cp, app, revision)  # kept: no rebuild
            if action == "promote":
                migrate(self.cp, host, code_dir)  # snapshot, then the release's migrations
        except AtollError as exc:
            failure = exc
        # The pointer and its history entry move together; a failure is history only.
        with self.cp.engine.begin() as conn:
            at = tenant_repo.now()
            if failure is None:
                release_repo.set_env_release(conn, app.id, env, release.number, by, at)
            result, detail = ("failed", failure.message) if failure else ("ok", "")
            ms = round((time.monotonic() - clock) * 1000, 1)
            release_repo.record_deploy(
                conn, app.id, env, action, before, release.number, result, detail, by, at, ms
            )
        if failure is not None:
            raise failure
        self.cp.workspaces.changed()  # the gateway looks again at once


def _check_env(env: str, source: bool = False) -> None:
    if env == BUILD_ENV:
        raise Conflict(
            f"{BUILD_ENV} serves the workspace, not a release: name a release"
            if source
            else f"{BUILD_ENV} follows the workspace: promote to staging or prod"
        )
    if env not in DEFAULT_ENVIRONMENTS:
        raise NotFound(f"environment {env!r} not found", env=env)


def _deployable(release: Release) -> Release:
    if release.state != "ready":
        raise Conflict(f"{release.version} did not build ({release.state}); it deploys nowhere")
    return release
