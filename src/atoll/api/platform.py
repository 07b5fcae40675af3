"""What every control-plane request can reach: settings, the metadata store, workspaces."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from atoll.config import Settings
from atoll.store import open_store
from atoll.workspace import Workspaces


@dataclass
class ControlPlane:
    """The control plane's long-lived state, built once at start-up."""

    settings: Settings
    engine: sa.Engine
    workspaces: Workspaces

    @classmethod
    def open(cls, settings: Settings) -> ControlPlane:
        """Create the data dir, migrate the metadata store and wire the services."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_store(settings.metadata_url)
        workspaces = Workspaces(engine, settings.data_dir / "apps", settings.limits)
        return cls(settings=settings, engine=engine, workspaces=workspaces)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
