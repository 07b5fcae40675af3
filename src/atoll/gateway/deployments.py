"""Which code serves an app environment.

Until releases exist, the workspace head counts as deployed to ``dev`` and nothing is
deployed anywhere else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from atoll import dbservice
from atoll.api.platform import ControlPlane
from atoll.errors import NotFound
from atoll.gateway.hosts import AppHost
from atoll.store import apps as app_repo
from atoll.store.tables import apps, tenants
from atoll.workspace.checkouts import checkout


@dataclass(frozen=True)
class Deployment:
    """The code deployed to one app environment."""

    host: AppHost
    revision: str
    code_dir: Path


class Deployments:
    """Resolves app origins to the code deployed there."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self._migrated: dict[AppHost, str] = {}
        self._migrating = threading.Lock()

    def resolve(self, host: AppHost) -> Deployment:
        """The deployment behind ``host``; ``NotFound`` if there is none."""
        query = (
            sa.select(apps)
            .join(tenants, tenants.c.id == apps.c.tenant_id)
            .where(tenants.c.slug == host.tenant, apps.c.slug == host.app)
        )
        with self.cp.engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                raise NotFound("no app is served at this address")
            if host.env != "dev" or row.head_revision is None:
                raise NotFound(f"nothing is deployed to {host.env} yet", env=host.env)
            app = app_repo.get_app(conn, row.tenant_id, host.app)
        revision = self.cp.workspaces.revision(app)
        code_dir = checkout(self.cp.workspaces, app, revision)
        if self._migrated.get(host) != revision.id:
            with self._migrating:
                if self._migrated.get(host) != revision.id:
                    self._migrate(host, code_dir)
                    self._migrated[host] = revision.id
        return Deployment(host=host, revision=revision.id, code_dir=code_dir)

    def _migrate(self, host: AppHost, code_dir: Path) -> None:
        """Bring the environment's database up to the code's migrations (snapshot first)."""
        folder = code_dir / "migrations"
        files = {p.name: p.read_text("utf-8") for p in sorted(folder.glob("*.sql"))}
        name = dbservice.DatabaseName(tenant=host.tenant, app=host.app, env=host.env)
        data_dir = self.cp.settings.data_dir
        dbservice.create_database(data_dir, name)
        if files:
            dbservice.apply_migrations(data_dir, name, dbservice.load_migrations(files))
