"""Which code serves an app environment, built and migrated once per revision.

The workspace head is deployed to ``dev``; other environments serve the release promoted
there (``store.releases``), built from its revision. Every new head starts building at
once, on a worker thread; a
request that comes first builds it itself, through the same code and lock, so a head is
built once. A head whose build (functions, ``atoll.toml``, pages, components, migrations)
fails is not deployed: dev keeps serving the last revision that built, as the contract
asks. Each attempt is recorded in the metadata store (``store.builds``), where the API
reads it, and its outcome is appended to the environment's log. The build itself is
``artifacts.build_revision``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from atoll import dbservice
from atoll.builder.frontend import AppFrontend
from atoll.builder.platform import PlatformAssets, build_platform_assets
from atoll.builder.reports import build_errors
from atoll.errors import AtollError, NotFound
from atoll.names import AppEnv
from atoll.releases.artifacts import (
    INTERNAL_FAILURE,
    build_revision,
    code_migrations,
    kept_artifacts,
    python_lock,
)
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import builds
from atoll.store import envs as env_repo
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store import vars as vars_repo
from atoll.store.records import (
    App,
    BuildError,
    BuildState,
    EnvVars,
    Release,
    Revision,
)

log = logging.getLogger("atoll.releases")

BUILD_ENV = "dev"  # the one environment that follows the workspace
CONCURRENT_BUILDS = 4  # builds started by commits that run at once, over all apps


@dataclass(frozen=True)
class Deployment:
    """The code deployed to one app environment, ready to serve."""

    host: AppEnv
    revision: str
    code_dir: Path
    frontend: AppFrontend
    number: int
    release: str | None = None  # v3, outside dev (dev serves the workspace head)
    vars: EnvVars = field(default_factory=EnvVars)  # the environment's config vars
    python_lock: str | None = None  # the build's resolved dependencies (``AppRef``)
    isolation: str = "default"  # the tenant's isolation tier, read with the vars


# How long a resolved deployment is trusted without asking the metadata store again, when no
# change was seen in this process (changes made by other processes show up after this).
FRESH_SECONDS = 1.0


class Deployments:
    """Resolves app origins to the code deployed there, and builds each new head at once.

    Build it on the event loop's thread (when there is one): build results reach the
    log store through that loop.
    """

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self._live: dict[AppEnv, Deployment] = {}
        self._staged: dict[AppEnv, Deployment] = {}  # about to be switched to (``stage``)
        self._checked: dict[AppEnv, tuple[float, int]] = {}
        self._failed: dict[AppEnv, tuple[str, AtollError]] = {}
        self._locks: dict[AppEnv, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._platform: PlatformAssets | None = None
        self._platform_lock = threading.Lock()
        self._tenants: dict[int, str] = {}
        # Build workers: one thread per app environment with a head to build, and whether
        # another head came while it built (it then builds the newest head again).
        self._workers: dict[AppEnv, threading.Thread] = {}
        self._again: set[AppEnv] = set()
        self._queue_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(CONCURRENT_BUILDS)
        self._closed = False
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._unsubscribe = cp.workspaces.subscribe(self._committed)
        self._catching_up = threading.Thread(
            target=self._catch_up, name="atoll-build-catch-up", daemon=True
        )
        self._catching_up.start()

    def platform(self) -> PlatformAssets:
        """The shared browser runtime and React vendor bundle, built once."""
        with self._platform_lock:
            if self._platform is None:
                self._platform = build_platform_assets()
            return self._platform

    def cached(self, host: AppEnv) -> Deployment | None:
        """The deployment behind ``host`` if it was confirmed recently and nothing moved since.

        This is the hot path of every request: no metadata query, no thread hop.
        """
        checked = self._checked.get(host)
        if checked is None or checked[1] != self.cp.workspaces.generation:
            return None
        if time.monotonic() - checked[0] > FRESH_SECONDS:
            return None
        return self._live.get(host)

    def known(self, host: AppEnv) -> bool:
        """Whether ``host`` served a deployment here (maybe not confirmed lately)."""
        return host in self._live

    def resolve(self, host: AppEnv) -> Deployment:
        """The deployment behind ``host``; ``NotFound`` if there is none."""
        generation = self.cp.workspaces.generation
        deployment = self._with_vars(self._resolve(host))
        self._checked[host] = (time.monotonic(), generation)
        return deployment

    def close(self, timeout: float = 60.0) -> None:
        """Build no more heads; wait up to ``timeout`` s for the builds under way."""
        self._unsubscribe()
        with self._queue_lock:
            self._closed = True
            threads = [self._catching_up, *self._workers.values()]
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- building each new head at once ------------------------------------------------

    def _committed(self, app: App, revision: Revision) -> None:
        """A revision was committed: record its build as started, and start it."""
        if self._closed:
            return
        host = AppEnv(env=BUILD_ENV, app=app.slug, tenant=self._tenant(app.tenant_id))
        # Recorded before this returns, so whoever made the commit sees the build at once.
        at = tenant_repo.now()
        self._record(builds.start_build, app.id, BUILD_ENV, revision.id, revision.number, at)
        self._queue(host)

    def _catch_up(self) -> None:
        """Build the heads no build finished for: committed while nobody listened (before
        this gateway started, or elsewhere), or interrupted by a stop."""
        try:
            with self.cp.engine.connect() as conn:
                heads = builds.unbuilt_heads(conn, BUILD_ENV)
        except sa.exc.SQLAlchemyError:
            log.exception("cannot list the heads to build")
            return
        for head in heads:
            if self._closed:
                return
            at = tenant_repo.now()
            self._record(builds.start_build, head.app_id, BUILD_ENV, head.revision, head.number, at)
            self._queue(AppEnv(env=BUILD_ENV, app=head.app, tenant=head.tenant))

    def _queue(self, host: AppEnv) -> None:
        """Build the head of ``host`` on its worker thread (started unless one runs)."""
        with self._queue_lock:
            if self._closed:
                return
            if host in self._workers:
                self._again.add(host)  # the running worker builds the newest head next
                return
            thread = threading.Thread(
                target=self._work, args=(host,), name=f"atoll-build-{host.app}", daemon=True
            )
            self._workers[host] = thread
        thread.start()

    def _work(self, host: AppEnv) -> None:
        while True:
            with self._slots:
                try:
                    self.resolve(host)
                except AtollError:
                    pass  # recorded and logged by _build; dev serves what it served
                except Exception:
                    log.exception("%s: building the head failed", host)
            with self._queue_lock:
                if host not in self._again or self._closed:
                    self._again.discard(host)
                    del self._workers[host]
                    return
                self._again.discard(host)

    def _tenant(self, tenant_id: int) -> str:
        slug = self._tenants.get(tenant_id)
        if slug is None:
            with self.cp.engine.connect() as conn:
                slug = tenant_repo.get_tenant_by_id(conn, tenant_id).slug
            self._tenants[tenant_id] = slug
        return slug

    # -- resolving (and building on demand) ----------------------------------------------

    def _lock(self, host: AppEnv) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(host, threading.Lock())

    def _resolve(self, host: AppEnv) -> Deployment:
        self._checked.pop(host, None)
        if host.env != BUILD_ENV:
            return self._released(host)
        app = self._app(host)
        head = app.head_revision
        live = self._live.get(host)
        if live is not None and live.revision == head:
            return live
        with self._lock(host):
            live = self._live.get(host)
            if live is not None and live.revision == head:
                return live
            failed = self._failed.get(host)
            if failed is None or failed[0] != head:
                try:
                    live = self._build(host, app)
                    self._live[host] = live
                    self._failed.pop(host, None)
                    return live
                except AtollError as exc:
                    log.warning("%s: %s not deployed: %.2000s", host, head, exc.message)
                    failed = (head or "", exc)
                    self._failed[host] = failed
                    if live is None:
                        live = self._redeploy_last_good(host, app)
            if live is not None:
                return live  # the last revision that built keeps serving
            raise failed[1]

    def _app(self, host: AppEnv) -> App:
        with self.cp.engine.connect() as conn:
            app = app_repo.find_app(conn, host.tenant, host.app)
        if app is None:
            raise NotFound("no app is served at this address")
        if host.env != BUILD_ENV or app.head_revision is None:
            raise NotFound(f"nothing is deployed to {host.env} yet", env=host.env)
        return app

    def _released(self, host: AppEnv) -> Deployment:
        """What an environment other than dev serves: the release promoted there (its
        migrations were applied when it was promoted), built once per revision."""
        with self.cp.engine.connect() as conn:
            app = app_repo.find_app(conn, host.tenant, host.app)
            if app is None:
                raise NotFound("no app is served at this address")
            if not env_repo.is_app_environment(conn, app.id, host.env):
                self._live.pop(host, None)  # a deleted environment: it serves nothing now
                raise NotFound("no app is served at this address")
            pointer = release_repo.get_env_release(conn, app.id, host.env)
            if pointer is None:
                raise NotFound(f"nothing is deployed to {host.env} yet", env=host.env)
            release = release_repo.get_release(conn, app.id, pointer.release_number)
        live = self._live.get(host)
        if live is not None and _serves(live, release):
            return live
        with self._lock(host):
            live = self._live.get(host)
            if live is None or not _serves(live, release):
                staged = self._staged.pop(host, None)
                if staged is not None and _serves(staged, release):
                    live = staged
                else:
                    live = self._of_release(host, app, release)
                self._live[host] = live
            return live

    def stage(self, host: AppEnv, number: int) -> Deployment:
        """The deployment ``host`` will serve once its pointer moves to release
        ``v{number}``, made ready now (and kept for that moment) so the switch costs no
        build or load."""
        with self.cp.engine.connect() as conn:
            app = app_repo.find_app(conn, host.tenant, host.app)
            if app is None:
                raise NotFound("no app is served at this address")
            release = release_repo.get_release(conn, app.id, number)
        with self._lock(host):
            staged = self._with_vars(self._of_release(host, app, release))
            self._staged[host] = staged
            return staged

    def switched(self, host: AppEnv, number: int) -> None:
        """``host``'s pointer moved to ``v{number}`` in this process (committed, and
        ``workspaces.changed()`` called): the deployment staged for it goes live and is
        trusted as confirmed, so the next request finds it in ``cached``."""
        generation = self.cp.workspaces.generation
        with self._lock(host):
            staged = self._staged.get(host)
            if staged is None or staged.release != f"v{number}":
                return  # nothing staged (or a request took it already): the next one looks
            del self._staged[host]
            self._live[host] = staged
        self._with_vars(staged)  # vars set since it was staged replace it in ``_live``
        if self.cp.workspaces.generation == generation:
            self._checked[host] = (time.monotonic(), generation)

    def _with_vars(self, deployment: Deployment) -> Deployment:
        """``deployment`` with its environment's current config vars (read again only when
        their version moved) and its tenant's isolation tier; the live deployment is
        replaced by it (``cached`` serves it). Runs where lookups run: off the event loop."""
        host = deployment.host
        with self.cp.engine.connect() as conn:
            version = vars_repo.version_of(conn, host.tenant, host.app, host.env)
            isolation = tenant_repo.get_tenant(conn, host.tenant).isolation
            if version == deployment.vars.version and isolation == deployment.isolation:
                return deployment
            current = (
                deployment.vars
                if version == deployment.vars.version
                else vars_repo.load_env_vars(conn, host.tenant, host.app, host.env)
            )
        configured = dataclasses.replace(deployment, vars=current, isolation=isolation)
        if self._live.get(host) is deployment:
            self._live[host] = configured
        return configured

    def _of_release(self, host: AppEnv, app: App, release: Release) -> Deployment:
        revision = self.cp.workspaces.revision(app, release.revision)
        code_dir, built = kept_artifacts(self.cp, app, revision)  # it built: no checks again
        frontend = AppFrontend.load(built, self.platform())
        number = revision.number
        lock = python_lock(built)
        return Deployment(
            host, revision.id, code_dir, frontend, number, release.version, python_lock=lock
        )

    def _build(self, host: AppEnv, app: App) -> Deployment:
        """Deploy the app's head, recording the attempt and appending its outcome to the log."""
        revision = self.cp.workspaces.revision(app)
        started, clock = tenant_repo.now(), time.monotonic()
        self._record(builds.start_build, app.id, host.env, revision.id, revision.number, started)
        try:
            deployment = self._deploy(host, app, revision)
        except AtollError as exc:
            self._finished(host, app, revision, started, clock, build_errors(exc))
            raise
        except Exception:
            internal = [BuildError(None, None, None, INTERNAL_FAILURE)]
            self._finished(host, app, revision, started, clock, internal)
            raise
        self._finished(host, app, revision, started, clock, [])
        return deployment

    def _redeploy_last_good(self, host: AppEnv, app: App) -> Deployment | None:
        """The revision that last built, deployed again (this process never served it: it
        started after that build); None if there is none or it no longer deploys."""
        with self.cp.engine.connect() as conn:
            record = builds.get_build(conn, app.id, host.env)
        if record is None or record.live_revision is None or record.live_number is None:
            return None
        if record.live_revision == app.head_revision:
            return None  # the head itself: it just failed to deploy again
        try:
            revision = self.cp.workspaces.revision(app, record.live_revision)
            deployment = self._deploy(host, app, revision)
        except AtollError as exc:
            number = record.live_number
            log.warning("%s: r%s does not deploy again: %.2000s", host, number, exc.message)
            self._record(builds.forget_live, app.id, host.env, record.live_number)
            return None
        self._live[host] = deployment
        return deployment

    def _finished(
        self,
        host: AppEnv,
        app: App,
        revision: Revision,
        started: datetime,
        clock: float,
        errors: list[BuildError],
    ) -> None:
        errors = builds.bounded_errors(errors)
        status: BuildState = "failed" if errors else "ready"
        seconds = time.monotonic() - clock
        label = f"r{revision.number} ({revision.id[:12]})"
        if errors:
            serving = self._serving(host, app)
            text = f"{label} did not build; {host.env} still serves {serving}\n" + "\n".join(
                str(e) for e in errors
            )
        else:
            text = f"{label} built in {seconds:.1f} s; {host.env} serves it now"
        # The log first: who sees the record finished can read why at once.
        self._log(
            host,
            {
                "kind": "build",
                "status": status,
                "revision": revision.id,
                "number": revision.number,
                "duration_ms": round(seconds * 1000, 1),
                "text": text,
            },
        )
        self._record(
            builds.finish_build,
            app.id,
            host.env,
            revision.id,
            revision.number,
            status,
            errors,
            started,
            tenant_repo.now(),
        )

    def _serving(self, host: AppEnv, app: App) -> str:
        """Which revision the environment serves, as ``rN`` (for a log line)."""
        live = self._live.get(host)
        if live is not None:
            return f"r{live.number}"
        try:
            with self.cp.engine.connect() as conn:
                record = builds.get_build(conn, app.id, host.env)
        except sa.exc.SQLAlchemyError:
            record = None
        return f"r{record.live_number}" if record and record.live_number else "nothing"

    def _record(self, write: Callable[..., Any], *args: Any) -> None:
        """Run one ``store.builds`` write; a failure is logged, never passed on (a build
        record must not stop an app from being served)."""
        try:
            with self.cp.engine.begin() as conn:
                write(conn, *args)
        except sa.exc.SQLAlchemyError:
            log.exception("cannot record a build of app %s", args[0])

    def _log(self, host: AppEnv, entry: dict[str, Any]) -> None:
        key = host.key
        if self._loop is not None and not self._loop.is_closed():
            try:
                # Log followers are woken on the loop's thread; builds run on others.
                self._loop.call_soon_threadsafe(self.cp.logs.append, key, entry)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        self.cp.logs.append(key, entry)

    # -- what a build does -------------------------------------------------------------

    def _deploy(self, host: AppEnv, app: App, revision: Revision) -> Deployment:
        code_dir, built = build_revision(self.cp, app, revision)
        frontend = AppFrontend.load(built, self.platform())
        migrate(self.cp, host, code_dir)
        lock = python_lock(built)
        return Deployment(host, revision.id, code_dir, frontend, revision.number, python_lock=lock)


def migrate(cp: ControlPlane, host: AppEnv, code_dir: Path) -> None:
    """Bring the environment's database up to the code's migrations (snapshot first)."""
    migrations = code_migrations(code_dir)
    name = dbservice.DatabaseName.of(host)
    data_dir = cp.settings.data_dir
    dbservice.create_database(data_dir, name)
    if migrations:
        settings = cp.settings
        dbservice.apply_migrations(
            data_dir,
            name,
            migrations,
            # Migrations are tenant SQL: the operator's quota, a longer time limit.
            limits=dbservice.EngineLimits.from_settings(settings, statement_timeout=300.0),
            keep_snapshots=settings.databases.max_snapshots,
        )


def _serves(deployment: Deployment, release: Release) -> bool:
    """Whether ``deployment`` is ``release``: its version and its revision (an app deleted
    and created again under the same name has a ``v1`` of its own)."""
    return deployment.release == release.version and deployment.revision == release.revision
