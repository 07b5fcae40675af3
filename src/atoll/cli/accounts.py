"""Signing in (profiles), tenants (admin) and API tokens."""

from __future__ import annotations

import sys

from atoll.cli.commands import Cli, command
from atoll.cli.output import fail, table, when
from atoll.cli.parsing import Arg


def _read_token() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("API token: ").strip()
    return sys.stdin.readline().strip()  # piped: `... | atoll login`


@command(
    "login",
    "Check a server and token and keep them in a profile (see --help).",
    section="start",
)
def login(cli: Cli) -> None:
    """``atoll login``."""
    from atoll.cli import profiles

    given = cli.args
    server = given.server or _env("ATOLL_SERVER") or profiles.DEFAULT_SERVER
    token = given.token or _read_token()
    if not token:
        fail("no token given: pass --token T, or type it when asked", 2)
    from atoll.cli.client import ApiClient

    client = ApiClient(server, token)
    try:
        me = client.json("GET", "/me")
    finally:
        client.close()
    name = given.profile or (profiles.ADMIN if me["admin"] else "default")
    data = profiles.load()
    data["profiles"][name] = {"server": server.rstrip("/"), "token": token}
    # A plain `atoll login` with a tenant token means "this is me now"; a named profile
    # becomes the default only when there is none yet; the admin profile never does.
    if name != profiles.ADMIN and (not given.profile or not data.get("default")):
        data["default"] = name
    path = profiles.save(data)
    who = "the admin" if me["admin"] else f"tenant {me['tenant']}"
    cli.out(
        {"profile": name, "server": server, "tenant": me["tenant"], "admin": me["admin"]},
        f"logged in to {server} as {who} (profile {name}, kept in {path})",
    )


def _env(name: str) -> str | None:
    import os

    return os.environ.get(name) or None


@command("logout", "Forget a profile's token (--profile, default: the default).", section="start")
def logout(cli: Cli) -> None:
    """``atoll logout``."""
    from atoll.cli import profiles

    data = profiles.load()
    name = cli.args.profile or _env("ATOLL_PROFILE") or data.get("default")
    if not name or name not in data["profiles"]:
        fail(f"no profile {name or 'default'!r} to log out of", 1)
    del data["profiles"][name]
    if data.get("default") == name:
        data["default"] = None
    profiles.save(data)
    cli.out({"profile": name, "removed": True}, f"logged out of profile {name}")


@command("whoami", "Show the server, tenant and token this folder's commands use.", section="start")
def whoami(cli: Cli) -> None:
    """``atoll whoami``."""
    found = cli.credentials()
    me = cli.client().json("GET", "/me")
    who = "admin" if me["admin"] else f"tenant {me['tenant']}"
    cli.out(
        {**me, "server": found.server, "source": found.source},
        f"{who} at {found.server}\ntoken {me['token']['prefix']}… ({me['token']['name']}), "
        f"from {found.source}",
    )


@command(
    "tenant create",
    "Create a tenant and print its first token (shown once).",
    Arg("name", metavar="NAME"),
    Arg(
        "--isolation",
        choices=["bwrap", "gvisor"],
        default=None,
        help="its sandbox tier: bwrap or gvisor (gVisor only, never bwrap instead); "
        "default: the server's default backend",
    ),
    section="account",
)
def tenant_create(cli: Cli) -> None:
    """``atoll tenant create``."""
    body = {"name": cli.args.name, "isolation": cli.args.isolation or "default"}
    got = cli.client(admin=True).json("POST", "/tenants", json=body)
    isolation = got.get("isolation", "default")
    cli.out(
        {"tenant": got["tenant"], "token": got["token"], "isolation": isolation},
        f"tenant {got['tenant']} created (isolation {isolation})\ntoken: {got['token']}",
    )


@command("tenant list", "List tenants.", section="account")
def tenant_list(cli: Cli) -> None:
    """``atoll tenant list``."""
    got = cli.client(admin=True).json("GET", "/tenants")
    rows = [[t.get("name"), t.get("isolation"), when(t.get("created_at"))] for t in got]
    cli.out({"tenants": got}, table(["TENANT", "ISOLATION", "CREATED"], rows, "no tenants yet"))


@command("token list", "List your tenant's tokens by prefix.", section="account")
def token_list(cli: Cli) -> None:
    """``atoll token list``."""
    got = cli.client().json("GET", "/tokens")
    rows = [
        [t["id"], f"{t['prefix']}…", t["name"], "revoked" if t["revoked_at"] else "active"]
        for t in got
    ]
    cli.out({"tokens": got}, table(["ID", "PREFIX", "NAME", "STATE"], rows))


@command(
    "token create",
    "Mint another token (shown once).",
    Arg("--name", default="api", help="a name to tell it by (default: api)"),
    section="account",
)
def token_create(cli: Cli) -> None:
    """``atoll token create``."""
    got = cli.client().json("POST", "/tokens", json={"name": cli.args.name})
    cli.out({"token": got["token"], "id": got["token_info"]["id"]}, got["token"])


@command(
    "token revoke",
    "Revoke a token by id; it stops working at once.",
    Arg("token_id", type=int, metavar="ID"),
    section="account",
)
def token_revoke(cli: Cli) -> None:
    """``atoll token revoke``."""
    got = cli.client().json("DELETE", f"/tokens/{cli.args.token_id}")
    cli.out({"revoked": got["id"]}, f"token {got['id']} ({got['prefix']}…) revoked")
