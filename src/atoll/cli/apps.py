"""Apps, their environments, and a local folder's link with an app (push, pull, link)."""

from __future__ import annotations

import os
import sys
import time

from atoll.cli.commands import APP, ENV, YES, Cli, command
from atoll.cli.output import Progress, confirm_deletion, fail, say, style, table, when
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from atoll.cli.client import ApiClient

NO_WAIT = Arg("--no-wait", action="store_true", help="do not wait for the dev build")
TIMEOUT = Arg(
    "--timeout",
    type=float,
    default=600.0,
    metavar="S",
    help="how long to wait for the dev build (default: 600 s)",
)
POLL_SECONDS = 0.3


def _env_url(client: ApiClient, app: str, env: str) -> dict[str, Any]:
    found: dict[str, Any] = client.json("GET", f"/apps/{app}/envs/{env}")
    return found


def wait_for_build(
    client: ApiClient, app: str, revision: str, number: int, timeout: float
) -> dict[str, Any]:
    """Poll dev until the build of ``revision`` finished; returns the environment."""
    progress = Progress()
    start = time.monotonic()
    try:
        while True:
            env = _env_url(client, app, "dev")
            build = env.get("build") or {}
            done = build.get("state") in ("ready", "failed")
            if done and build.get("revision") == revision:
                return env
            if done and isinstance(build.get("number"), int) and build["number"] > number:
                # A later push overtook this one before it was built: its build tells.
                say(f"r{number} was overtaken by r{build['number']} before it was built")
                return env
            waited = time.monotonic() - start
            if waited > timeout:
                fail(
                    f"the dev build of r{number} is still running after {timeout:.0f} s; "
                    f"'atoll env list --app {app}' shows when it ends",
                    1,
                )
            progress(f"building r{number} for dev ... {waited:.0f} s")
            time.sleep(POLL_SECONDS)
    finally:
        progress.done()


def report_build(cli: Cli, env: dict[str, Any], data: dict[str, Any], head: str) -> None:
    """Print the result of a push (``head``) and its dev build; exit 1 if it failed."""
    build = env["build"]
    data.update(build=build, url=env["url"])
    if build["state"] == "ready":
        cli.out(data, f"{head}\ndev is live: {style(env['url'], '1', sys.stdout)}")
        return
    cli.out(data, head)
    for error in build["errors"]:
        where = ":".join(
            str(p)
            for p in (error.get("file"), error.get("line"), error.get("column"))
            if p not in (None, "")
        )
        say(f"{where}: {error['message']}" if where else error["message"])
    serving = f"dev still serves r{env['number']}" if env.get("number") else "dev serves nothing"
    fail(f"the build of r{build['number']} failed ({len(build['errors'])} error(s)); {serving}", 1)


def _create_from_check(folder: Path) -> None:
    from atoll.cli.sync import LOCAL_LIMITS
    from atoll.workspace.folders import scan_folder

    if not folder.is_dir():
        fail(f"--from {folder}: no such folder", 4)
    scan_folder(folder, LOCAL_LIMITS)  # refuses symlinks, huge files... before the app exists


@command(
    "app create",
    "Create an app, optionally filled from a folder (its files as r1).",
    Arg("name", metavar="NAME"),
    Arg(
        "--from",
        dest="from_dir",
        metavar="DIR",
        help="the folder to fill it from (it is "
        "not linked: 'atoll link' or 'atoll pull' makes a working copy)",
    ),
    NO_WAIT,
    TIMEOUT,
    section="code",
)
def app_create(cli: Cli) -> None:
    """``atoll app create``."""
    args = cli.args
    from pathlib import Path

    from_dir = Path(args.from_dir) if args.from_dir else None
    if from_dir is not None:
        _create_from_check(from_dir)
    client = cli.client()
    got = client.json("POST", "/apps", json={"name": args.name})
    data: dict[str, Any] = {"app": got["app"]}
    head = f"app {got['app']} created"
    if from_dir is None:
        env = _env_url(client, got["app"], "dev")
        cli.out({**data, "url": env["url"]}, f"{head}\nurl: {env['url']} (after the first push)")
        return
    from atoll.cli import sync

    progress = Progress()
    pushed = sync.push(
        client, got["app"], from_dir, f"import {from_dir.name}", progress=progress, remember=False
    )
    progress.done()
    data.update(revision=pushed["revision"], number=pushed["number"])
    head += f" from {from_dir} (r{pushed['number']}, {pushed['file_count']} files)"
    if args.no_wait:
        cli.out(data, head)
        return
    env = wait_for_build(client, got["app"], pushed["revision"], pushed["number"], args.timeout)
    report_build(cli, env, data, head)


@command("app list", "List your apps.", section="code")
def app_list(cli: Cli) -> None:
    """``atoll app list``."""
    got = cli.client().json("GET", "/apps")
    rows = [[a["app"], a["revisions"], when(a["created_at"])] for a in got]
    cli.out(
        {"apps": got},
        table(
            ["APP", "REVISIONS", "CREATED"], rows, "no apps yet: 'atoll app create NAME' makes one"
        ),
    )


@command(
    "app delete",
    "Delete an app with its workspace, releases and databases.",
    Arg("name", metavar="NAME"),
    YES,
    section="code",
)
def app_delete(cli: Cli) -> None:
    """``atoll app delete``."""
    name = cli.args.name
    if not cli.args.yes:
        confirm_deletion("app", name, "its workspace, releases and databases")
    got = cli.client().json("DELETE", f"/apps/{name}")
    cli.out({"app": got["app"], "deleted": True}, f"app {got['app']} deleted")


@command(
    "open",
    "Print an environment's URL, and open it in a browser on a desktop.",
    APP,
    ENV,
    section="run",
)
def open_app(cli: Cli) -> None:
    """``atoll open``."""
    app = cli.app()
    env = _env_url(cli.client(), app, cli.args.env)
    cli.out({"url": env["url"], "env": env["name"]}, env["url"])
    if (
        not cli.as_json
        and sys.stdout.isatty()
        and (
            os.environ.get("DISPLAY")
            or os.environ.get("WAYLAND_DISPLAY")
            or sys.platform == "darwin"
        )
    ):
        import webbrowser

        webbrowser.open(env["url"])


@command(
    "link",
    "Link a folder to an app: later commands there default to it.",
    Arg("folder", nargs="?", default=".", metavar="DIR", help="the folder (default: .)"),
    Arg("--app", metavar="APP", required=True, help="the app"),
    section="code",
)
def link(cli: Cli) -> None:
    """``atoll link``."""
    from pathlib import Path

    from atoll.cli import sync

    got = sync.link(cli.client(), cli.args.app, Path(cli.args.folder))
    lines = [
        f"linked {got['folder']} to app {got['app']}"
        + (f" (was {got['previous']})" if got["previous"] else "")
    ]
    if got["edited"]:
        lines.append(
            f"{len(got['edited'])} file(s) differ from r{got['number']}; "
            f"'atoll push' sends them: {', '.join(got['edited'][:10])}"
        )
    if got["to_pull"]:
        lines.append(
            f"{len(got['to_pull'])} file(s) of r{got['number']} are not here; "
            "'atoll pull' brings them"
        )
    cli.out(got, "\n".join(lines))


def _folder_and_app(cli: Cli) -> tuple[Path, str]:
    """A push's or pull's folder and app: given, or the linked folder around this one."""
    from pathlib import Path  # only for the commands that touch folders

    folder = cli.args.folder
    if folder is not None:
        return Path(folder), cli.app(folder)
    if cli.args.app:
        return Path("."), cli.args.app
    from atoll.cli.links import find_linked

    linked = find_linked(os.getcwd())
    if linked is None:
        fail(
            "which app? pass DIR and --app NAME (this folder is not linked to an app; "
            "'atoll link --app NAME' links it)",
            2,
        )
    return Path(os.path.relpath(linked[0])), linked[1]


@command(
    "push",
    "Send a folder to the app's workspace as one revision, and wait for dev to build.",
    Arg("folder", nargs="?", metavar="DIR", help="the folder (default: the linked one around .)"),
    APP,
    Arg("--message", "-m", default="push", metavar="TEXT", help="what changed"),
    Arg(
        "--force",
        action="store_true",
        help="replace the workspace with this folder: no merge, no link check",
    ),
    NO_WAIT,
    TIMEOUT,
    section="code",
)
def push(cli: Cli) -> None:
    """``atoll push``."""
    from atoll.cli import sync

    folder, app = _folder_and_app(cli)
    client = cli.client()
    progress = Progress()
    try:
        got = sync.push(
            client, app, folder, cli.args.message, force=cli.args.force, progress=progress
        )
    finally:
        progress.done()
    if got["merged"]:
        say(
            f"merged {len(got['merged'])} change(s) from the workspace: "
            f"{', '.join(got['merged'][:10])}"
        )
    state = "pushed" if got["created"] else "nothing changed; the workspace is"
    head = f"{state} r{got['number']} ({got['revision'][:12]}), {got['file_count']} files"
    data = {key: got[key] for key in ("revision", "number", "created", "merged")}
    if cli.args.no_wait:
        cli.out(data, head)
        return
    env = wait_for_build(client, app, got["revision"], got["number"], cli.args.timeout)
    report_build(cli, env, data, head)


@command(
    "pull",
    "Bring the app's workspace into a folder, keeping your edits (merged per file).",
    Arg("folder", nargs="?", metavar="DIR", help="the folder (default: the linked one around .)"),
    APP,
    Arg("--revision", metavar="R", help="a revision id or rN (default: the latest)"),
    Arg("--force", action="store_true", help="overwrite local edits of the workspace's files"),
    section="code",
)
def pull(cli: Cli) -> None:
    """``atoll pull``."""
    from atoll.cli import sync

    folder, app = _folder_and_app(cli)
    progress = Progress()
    try:
        got = sync.pull(
            cli.client(), app, folder, cli.args.revision, force=cli.args.force, progress=progress
        )
    finally:
        progress.done()
    kept = f", {len(got['kept'])} local edit(s) kept" if got["kept"] else ""
    cli.out(
        got,
        f"pulled r{got['number']} ({got['revision'][:12]}) into {folder}: {got['files']} "
        f"files, {got['written']} written, {len(got['removed'])} removed{kept}",
    )
