"""How sandboxes reach their environment's database: the DB service plus a scoped token."""

from __future__ import annotations

import time
from collections import OrderedDict

from atoll.config import Settings
from atoll.dbservice import DatabaseName, TokenIssuer, create_database, database_generation
from atoll.runtime import AppRef
from atoll.runtime.database import (
    DatabaseLink,
    DatabaseTarget,
    InProcessService,
    InProcessTarget,
)

# Deployments remembered with the database generation they were first linked to.
_REMEMBERED = 4096


class ServiceDatabaseLink(DatabaseLink):
    """Links each app environment to its own database on this installation's DB service.

    The sandbox never sees the token: the runtime's proxy adds it outside the sandbox and
    asks for a new one before it expires. A deployment keeps the database it started with:
    once its app is deleted, its renewed tokens name the deleted database, so code still
    draining from the old app neither re-creates it nor reaches a new app of the same name.

    With ``in_process`` (the service's ``ServiceApp.handle``, when it runs in this process)
    the proxy hands requests to it directly; without it, they go over HTTP to
    ``settings.host:settings.db_port``. The token, and so what the service allows, is the
    same either way.
    """

    def __init__(self, settings: Settings, in_process: InProcessService | None = None) -> None:
        self.settings = settings
        self.in_process = in_process
        self.issuer = TokenIssuer.from_data_dir(settings.data_dir)
        self._generations: OrderedDict[tuple[str, str], str] = OrderedDict()

    def _generation(self, ref: AppRef, name: DatabaseName) -> str:
        # code_dir names the app by its id, which is never reused, so a new app of the
        # same name is a new deployment here.
        key = (ref.key, str(ref.code_dir))
        generation = self._generations.get(key)
        if generation is None:
            create_database(self.settings.data_dir, name)
            generation = database_generation(self.settings.data_dir, name)
            self._generations[key] = generation
            if len(self._generations) > _REMEMBERED:
                self._generations.popitem(last=False)
        else:
            self._generations.move_to_end(key)
        return generation

    async def target(self, ref: AppRef) -> DatabaseTarget | InProcessTarget | None:
        """The DB service and a read-write token for ``ref``'s database only."""
        name = DatabaseName.of(ref.app_env)
        ttl = self.settings.databases.proxy_token_ttl_seconds
        token = self.issuer.issue(str(name), "rw", ttl, generation=self._generation(ref, name))
        if self.in_process is not None:
            return InProcessTarget(self.in_process, token, time.time() + ttl)
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return DatabaseTarget(host, self.settings.db_port, token, time.time() + ttl)
