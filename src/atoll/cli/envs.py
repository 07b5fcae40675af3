"""An app's environments: list them, create one beside dev, staging and prod, delete it."""

from __future__ import annotations

from atoll.cli.commands import APP, YES, Cli, command
from atoll.cli.output import confirm_deletion, fail, table
from atoll.cli.parsing import Arg

NAME = Arg("name", metavar="NAME", help="the environment")


@command(
    "env list",
    "The app's environments: what each serves, its last build, its URL.",
    APP,
    section="run",
)
def env_list(cli: Cli) -> None:
    """``atoll env list``."""
    app = cli.app()
    got = cli.client().json("GET", f"/apps/{app}/envs")
    rows = []
    for env in got:
        build = env.get("build") or {}
        state = f"r{build['number']} {build['state']}" if build else None
        serving = env.get("release") or (f"r{env['number']}" if env.get("number") else None)
        rows.append([env["name"], serving, state, env["url"]])
    cli.out({"environments": got}, table(["ENV", "SERVING", "LAST BUILD", "URL"], rows))


@command(
    "env create",
    "Create an environment beside dev, staging and prod, with its own database and URL.",
    NAME,
    APP,
    section="ship",
)
def env_create(cli: Cli) -> None:
    """``atoll env create``."""
    app = cli.app()
    got = cli.client().json("POST", f"/apps/{app}/envs", json={"name": cli.args.name})
    name = got["name"]
    cli.out(
        {"env": name, "url": got["url"], "release": got["release"]},
        f"environment {name} of {app} created: {got['url']}\n"
        f"it serves nothing until 'atoll promote --app {app} --to {name}'",
    )


@command(
    "env delete",
    "Delete a created environment with its database, vars and deploy history.",
    NAME,
    APP,
    YES,
    section="ship",
)
def env_delete(cli: Cli) -> None:
    """``atoll env delete``."""
    from atoll.names import is_valid_slug

    app = cli.app()
    name = cli.args.name
    if not is_valid_slug(name):  # it goes into the path: never let it name another route
        fail(f"invalid environment name {name!r}", 2)
    if not cli.args.yes:
        confirm_deletion(
            "environment", name, f"its database, snapshots, vars and deploy history (app {app})"
        )
    got = cli.client().json("DELETE", f"/apps/{app}/envs/{name}")
    served = f" (it served {got['release']})" if got.get("release") else ""
    cli.out(
        {"env": got["name"], "deleted": True, "release": got["release"]},
        f"environment {got['name']} of {app} deleted{served}",
    )
