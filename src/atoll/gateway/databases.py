"""How sandboxes reach their environment's database: the DB service plus a scoped token."""

from __future__ import annotations

import time

from atoll.config import Settings
from atoll.dbservice import DatabaseName, TokenIssuer, create_database
from atoll.runtime import AppRef
from atoll.runtime.database import DatabaseLink, DatabaseTarget

# The sandbox never sees this token: the runtime's proxy adds it outside the sandbox, and
# asks for a new one before it expires.
TOKEN_TTL_SECONDS = 3600


class ServiceDatabaseLink(DatabaseLink):
    """Links each app environment to its own database on this installation's DB service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = TokenIssuer.from_data_dir(settings.data_dir)

    async def target(self, ref: AppRef) -> DatabaseTarget | None:
        """The DB service address and a read-write token for ``ref``'s database only."""
        name = DatabaseName(tenant=ref.tenant, app=ref.app, env=ref.env)
        create_database(self.settings.data_dir, name)
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        token = self.issuer.issue(str(name), "rw", TOKEN_TTL_SECONDS)
        expires = time.time() + TOKEN_TTL_SECONDS
        return DatabaseTarget(host, self.settings.db_port, token, expires)
