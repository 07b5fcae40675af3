"""Which code serves an app environment.

Until releases exist, the workspace head counts as deployed to ``dev`` and nothing is
deployed anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

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
        return Deployment(host=host, revision=revision.id, code_dir=code_dir)
