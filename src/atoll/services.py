"""The long-lived objects ``server.py`` builds once and hands to the API and the gateway:
settings, the metadata store, workspaces and logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from atoll.config import Settings
from atoll.names import AppEnv
from atoll.runtime.logs import LogStore
from atoll.store import open_store
from atoll.workspace import Workspaces


class ReleaseSwitches(Protocol):
    """What serves releases in this process (the gateway), told around each switch of an
    environment's pointer. Both are called from worker threads."""

    def before_switch(self, host: AppEnv, number: int) -> None:
        """The pointer is about to move to release ``v{number}``: start its workers now, so
        the first request after the switch is not a cold start. Best effort: it may fail."""

    def after_switch(self, host: AppEnv, number: int) -> None:
        """The pointer moved to ``v{number}`` (committed): serve it from the next request on."""


@dataclass
class ControlPlane:
    """The control plane's long-lived state, built once at start-up."""

    settings: Settings
    engine: sa.Engine
    workspaces: Workspaces
    # Shared with the runtime when both run in one process, so ``logs --follow`` is live.
    logs: LogStore
    # Set by the gateway when it serves in this process.
    switches: ReleaseSwitches | None = None

    @classmethod
    def open(cls, settings: Settings) -> ControlPlane:
        """Create the data dir, migrate the metadata store and wire the services."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_store(settings.metadata_url)
        workspaces = Workspaces(engine, settings.data_dir / "apps", settings.limits)
        logs = LogStore(settings.data_dir / "logs", settings.logs)
        return cls(settings=settings, engine=engine, workspaces=workspaces, logs=logs)

    @property
    def gateway_url(self) -> str:
        """Where the control plane reaches the app gateway."""
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.settings.gateway_port}"

    def origin_host(self, env: str, app: str, tenant: str) -> str:
        """The ``Host`` of one app environment's origin."""
        app_env = AppEnv(tenant=tenant, app=app, env=env)
        return app_env.origin_host(self.settings.public_host, self.settings.gateway_port)

    def origin_url(self, env: str, app: str, tenant: str) -> str:
        """The browser origin of one app environment, as a URL (``http://{host}/``)."""
        return f"http://{self.origin_host(env, app, tenant)}/"

    def close(self) -> None:
        """Release database connections and flush logs."""
        self.logs.close()
        self.engine.dispose()
