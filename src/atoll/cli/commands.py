"""The command registry and what every command is handed: parsed options, credentials,
the app it is about, and output in the form asked for."""

from __future__ import annotations

import argparse
import os

from atoll.cli.output import emit, fail
from atoll.cli.parsing import Arg, Command

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from atoll.cli.client import ApiClient
    from atoll.cli.parsing import Handler

COMMANDS: list[Command] = []

# Help titles of command groups (the words before the last) and of the overview sections.
GROUPS = {
    "tenant": "Tenants (admin).",
    "token": "API tokens of your tenant.",
    "app": "Apps of your tenant.",
    "env": "An app's environments.",
    "release": "An app's releases: its code built once, numbered v1, v2, ...",
    "db": "An app environment's database.",
    "vars": "An app environment's config vars and secrets.",
    "agent": "The AI agent: build or change an app by asking.",
}
SECTIONS = {
    "start": "Getting started",
    "code": "Apps and their code",
    "run": "Running apps",
    "ship": "Releases",
    "data": "Data",
    "account": "Tenants and tokens",
    "shell": "This program",
}

APP = Arg("--app", metavar="APP", help="the app (default: the folder's linked app)")
ENV = Arg("--env", default="dev", metavar="ENV", help="the environment (default: dev)")
YES = Arg("--yes", "-y", action="store_true", help="do not ask (needed without a terminal)")


def command(name: str, help: str, *args: Arg, section: str) -> Callable[[Handler], Handler]:
    """Register a handler as the command ``name`` (``"app create"``)."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(tuple(name.split()), help, args, handler, section))
        return handler

    return register


class Cli:
    """One run of a command: its options and the means to act on them."""

    def __init__(self, args: argparse.Namespace, command: Command) -> None:
        self.args = args
        self.command = command
        self.as_json: bool = bool(getattr(args, "json", False))
        self._clients: dict[bool, ApiClient] = {}

    def credentials(self, admin: bool = False) -> Any:
        """The server and token this command uses (flags, environment, profiles)."""
        from atoll.cli.profiles import resolve

        return resolve(
            getattr(self.args, "server", None),
            getattr(self.args, "token", None),
            getattr(self.args, "profile", None),
            admin=admin,
        )

    def client(self, admin: bool = False) -> ApiClient:
        """A client of the control plane with this command's credentials."""
        if admin not in self._clients:
            found = self.credentials(admin)
            if not found.token:
                hint = (
                    "the admin token is in <data-dir>/admin.token; 'atoll login --profile "
                    "admin --token T' keeps it"
                    if admin
                    else "'atoll login' keeps one, or pass --token or set ATOLL_TOKEN"
                )
                fail(f"no token: {hint}", 2)
            from atoll.cli.client import ApiClient

            self._clients[admin] = ApiClient(found.server, found.token)
        return self._clients[admin]

    def app(self, folder: str | None = None) -> str:
        """The app the command is about: ``--app``, else the folder's (or the current
        folder's) linked app."""
        given = getattr(self.args, "app", None)
        if given:
            return str(given)
        from atoll.cli.links import find_linked, folder_app

        found = folder_app(folder) if folder is not None else None
        if found is None and folder is None:
            linked = find_linked(os.getcwd())
            found = linked[1] if linked else None
        if found is None:
            where = f"{folder} is" if folder is not None else "this folder is"
            fail(
                f"which app? pass --app NAME ({where} not linked to an app; "
                "'atoll link --app NAME' links it)",
                2,
            )
        return found

    def out(self, data: dict[str, Any], human: str) -> None:
        """Print one JSON object with ``--json``, else the human text."""
        emit(self.as_json, data, human)

    def close(self) -> None:
        """Close the connections this run opened."""
        for client in self._clients.values():
            client.close()
