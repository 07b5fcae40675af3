"""Which code serves an app environment, built and migrated once per revision.

Until releases exist, the workspace head counts as deployed to ``dev`` and nothing is
deployed anywhere else. A head whose build (pages, components, migrations) fails is not
deployed: dev keeps serving the last revision that built, as the contract asks.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from atoll import dbservice
from atoll.api.platform import ControlPlane
from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import PlatformAssets, build_platform_assets
from atoll.errors import AtollError, NotFound
from atoll.gateway.hosts import AppHost
from atoll.store import apps as app_repo
from atoll.store.records import App, Revision
from atoll.store.tables import apps, tenants
from atoll.workspace.checkouts import checkout

log = logging.getLogger("atoll.gateway")


@dataclass(frozen=True)
class Deployment:
    """The code deployed to one app environment, ready to serve."""

    host: AppHost
    revision: str
    code_dir: Path
    frontend: AppFrontend


# How long a resolved deployment is trusted without asking the metadata store again, when no
# change was seen in this process (changes made by other processes show up after this).
FRESH_SECONDS = 1.0


class Deployments:
    """Resolves app origins to the code deployed there."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self._live: dict[AppHost, Deployment] = {}
        self._checked: dict[AppHost, tuple[float, int]] = {}
        self._failed: dict[AppHost, tuple[str, AtollError]] = {}
        self._locks: dict[AppHost, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._platform: PlatformAssets | None = None
        self._platform_lock = threading.Lock()

    def platform(self) -> PlatformAssets:
        """The shared browser runtime and React vendor bundle, built once."""
        with self._platform_lock:
            if self._platform is None:
                self._platform = build_platform_assets()
            return self._platform

    def cached(self, host: AppHost) -> Deployment | None:
        """The deployment behind ``host`` if it was confirmed recently and nothing moved since.

        This is the hot path of every request: no metadata query, no thread hop.
        """
        checked = self._checked.get(host)
        if checked is None or checked[1] != self.cp.workspaces.generation:
            return None
        if time.monotonic() - checked[0] > FRESH_SECONDS:
            return None
        return self._live.get(host)

    def resolve(self, host: AppHost) -> Deployment:
        """The deployment behind ``host``; ``NotFound`` if there is none."""
        generation = self.cp.workspaces.generation
        deployment = self._resolve(host)
        self._checked[host] = (time.monotonic(), generation)
        return deployment

    def _resolve(self, host: AppHost) -> Deployment:
        self._checked.pop(host, None)
        app = self._app(host)
        head = app.head_revision
        live = self._live.get(host)
        if live is not None and live.revision == head:
            return live
        with self._locks_lock:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            live = self._live.get(host)
            if live is not None and live.revision == head:
                return live
            failed = self._failed.get(host)
            if failed is None or failed[0] != head:
                try:
                    live = self._deploy(host, app, self.cp.workspaces.revision(app))
                    self._live[host] = live
                    self._failed.pop(host, None)
                    return live
                except AtollError as exc:
                    log.warning("%s: revision %s not deployed: %s", host, head, exc.message)
                    failed = (head or "", exc)
                    self._failed[host] = failed
            if live is not None:
                return live  # the last revision that built keeps serving
            raise failed[1]

    def _app(self, host: AppHost) -> App:
        query = (
            sa.select(apps.c.tenant_id)
            .join(tenants, tenants.c.id == apps.c.tenant_id)
            .where(tenants.c.slug == host.tenant, apps.c.slug == host.app)
        )
        with self.cp.engine.connect() as conn:
            tenant_id = conn.execute(query).scalar()
            if tenant_id is None:
                raise NotFound("no app is served at this address")
            app = app_repo.get_app(conn, tenant_id, host.app)
        if host.env != "dev" or app.head_revision is None:
            raise NotFound(f"nothing is deployed to {host.env} yet", env=host.env)
        return app

    def _deploy(self, host: AppHost, app: App, revision: Revision) -> Deployment:
        code_dir = checkout(self.cp.workspaces, app, revision)
        frontend = self._frontend(app, revision, code_dir)
        self._migrate(host, code_dir)
        return Deployment(host=host, revision=revision.id, code_dir=code_dir, frontend=frontend)

    def _frontend(self, app: App, revision: Revision, code_dir: Path) -> AppFrontend:
        """The revision's pages and component bundles, built once into the app's folder."""
        root = self.cp.workspaces.apps_root / str(app.id) / "builds"
        target = root / revision.id
        if not target.is_dir():
            root.mkdir(parents=True, exist_ok=True)
            # The app's component packages stay pinned from build to build by their lockfile.
            lock_path = root.parent / "npm-lock.json"
            lock = lock_path.read_bytes() if lock_path.is_file() else None
            work = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
            try:
                built = build_frontend(code_dir, work, deps_dir=root.parent / "npm", lockfile=lock)
                for warning in built.warnings:
                    log.warning("%s@%s: %s", app.slug, revision.number, warning)
                if built.components.lockfile:
                    lock_path.write_text(built.components.lockfile)
                try:
                    work.rename(target)
                except OSError:
                    if not target.is_dir():  # lost a race to an identical build: fine
                        raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return AppFrontend.load(target, self.platform())

    def _migrate(self, host: AppHost, code_dir: Path) -> None:
        """Bring the environment's database up to the code's migrations (snapshot first)."""
        folder = code_dir / "migrations"
        files = {p.name: p.read_text("utf-8") for p in sorted(folder.glob("*.sql"))}
        name = dbservice.DatabaseName(tenant=host.tenant, app=host.app, env=host.env)
        data_dir = self.cp.settings.data_dir
        dbservice.create_database(data_dir, name)
        if files:
            settings = self.cp.settings
            dbservice.apply_migrations(
                data_dir,
                name,
                dbservice.load_migrations(files),
                # Migrations are tenant SQL: the operator's quota, a longer time limit.
                limits=dbservice.EngineLimits.from_settings(settings, statement_timeout=300.0),
                keep_snapshots=settings.databases.max_snapshots,
            )
