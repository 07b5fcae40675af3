"""Releases: the workspace head built once into ``v1``, ``v2``, ... of an app.

A release is a record pointing at a workspace revision and at that revision's build
artifacts (its checked-out code and its built pages and components, both kept per revision
and shared by every release of it, so building an unchanged revision again reuses them).
The record is written when the build starts and finished once with its outcome; nothing
changes it after that. A failed build is kept with its errors (file, line, message) and
deploys nowhere. A build cut short by a stop of the server is recorded as failed when the
server starts again.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from atoll.builder.reports import build_errors
from atoll.errors import AtollError, Conflict
from atoll.releases.deployments import INTERNAL_FAILURE, build_revision
from atoll.services import ControlPlane
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, BuildError, BuildState, Release
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

    def list(self, app: App) -> list[Release]:
        """The app's releases, newest first."""
        with self.cp.engine.connect() as conn:
            return release_repo.list_releases(conn, app.id)

    def get(self, app: App, number: int) -> Release:
        """The app's release ``v{number}``; ``NotFound`` when there is none."""
        with self.cp.engine.connect() as conn:
            return release_repo.get_release(conn, app.id, number)
