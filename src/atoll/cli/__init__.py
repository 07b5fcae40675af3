"""The ``atoll`` command line: a client of the control-plane API (and ``serve``).

Exit codes: 0 success; 1 the server refused the request; 2 bad usage; 3 the server could
not be reached; 4 a local problem (bad folder, conflicting local files).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from typer._click import exceptions as _typer_click

from atoll.cli.client import ApiClient, ApiError, ConnectionFailed
from atoll.config import Settings
from atoll.errors import AtollError

DEFAULT_SERVER = "http://127.0.0.1:8000"
GLOBAL_FLAGS = {"--json"}
GLOBAL_OPTIONS = {"--server", "--token"}

app = typer.Typer(
    name="atoll",
    help="Atoll: build apps with an AI agent, ship them as releases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tenant_app = typer.Typer(help="Tenants (admin).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of your tenant.", no_args_is_help=True)
apps_app = typer.Typer(help="Apps of your tenant.", no_args_is_help=True)
db_app = typer.Typer(help="An app environment's database.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
app.add_typer(apps_app, name="app")
app.add_typer(db_app, name="db")


@dataclass
class Cli:
    """Global options shared by every command."""

    server: str
    token: str | None
    as_json: bool

    def client(self, admin: bool = False) -> ApiClient:
        """A client for the server; admin commands fall back to ``.atoll/admin.token``."""
        token = self.token
        if token is None and admin:
            local = Path(".atoll") / "admin.token"
            if local.is_file():
                token = local.read_text().strip()
        if token is None:
            fail("no token: pass --token or set ATOLL_TOKEN", 2)
        return ApiClient(self.server, token)

    def out(self, data: dict[str, Any], human: str) -> None:
        """Print one JSON object with ``--json``, else the human line."""
        typer.echo(json.dumps(data, default=str) if self.as_json else human)


def fail(message: str, code: int) -> NoReturn:
    """Print a one-line error on stderr and exit with ``code``."""
    typer.echo(f"atoll: error: {message}", err=True)
    raise typer.Exit(code)


def progress(line: str) -> None:
    """Progress of long work: one rewritten line on a terminal, plain lines otherwise."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + line[:120])
        sys.stderr.flush()
    else:
        print(line, file=sys.stderr, flush=True)


def _end_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")


def _run(ctx: typer.Context) -> Cli:
    cli: Cli = ctx.obj
    return cli


@app.callback()
def main_options(
    ctx: typer.Context,
    server: Annotated[
        str, typer.Option(envvar="ATOLL_SERVER", help="Control plane URL.")
    ] = DEFAULT_SERVER,
    token: Annotated[
        str | None, typer.Option(envvar="ATOLL_TOKEN", help="API token.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Global options."""
    ctx.obj = Cli(server=server, token=token, as_json=as_json)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Control plane port.")] = 8000,
    gateway_port: Annotated[int, typer.Option(help="App gateway port.")] = 8080,
    db_port: Annotated[int, typer.Option(help="DB service port.")] = 8081,
    data_dir: Annotated[Path, typer.Option(help="Where all data lives.")] = Path(".atoll"),
    demo: Annotated[bool, typer.Option(help="Create tenant demo with app todo.")] = False,
) -> None:
    """Run the platform on this machine."""
    from atoll.server import serve as run_server

    settings = Settings(
        host=host, port=port, gateway_port=gateway_port, db_port=db_port, data_dir=data_dir
    )
    run_server(settings, demo=demo)


@tenant_app.command("create")
def tenant_create(ctx: typer.Context, name: str) -> None:
    """Create a tenant and print its first token (shown once)."""
    cli = _run(ctx)
    got = cli.client(admin=True).json("POST", "/tenants", json={"name": name})
    cli.out(
        {"tenant": got["tenant"], "token": got["token"]},
        f"tenant {got['tenant']} created\ntoken: {got['token']}",
    )


@tenant_app.command("list")
def tenant_list(ctx: typer.Context) -> None:
    """List tenants."""
    cli = _run(ctx)
    got = cli.client(admin=True).json("GET", "/tenants")
    cli.out({"tenants": got}, "\n".join(t["name"] for t in got))


@token_app.command("list")
def token_list(ctx: typer.Context) -> None:
    """List your tenant's tokens by prefix."""
    cli = _run(ctx)
    got = cli.client().json("GET", "/tokens")
    lines = [
        f"{t['id']:>5}  {t['prefix']}…  {t['name']:<20} "
        f"{'revoked' if t['revoked_at'] else 'active'}"
        for t in got
    ]
    cli.out({"tokens": got}, "\n".join(lines))


@token_app.command("create")
def token_create(ctx: typer.Context, name: Annotated[str, typer.Option()] = "api") -> None:
    """Mint another token (shown once)."""
    cli = _run(ctx)
    got = cli.client().json("POST", "/tokens", json={"name": name})
    cli.out({"token": got["token"], "id": got["token_info"]["id"]}, got["token"])


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: int) -> None:
    """Revoke a token by id; it stops working at once."""
    cli = _run(ctx)
    got = cli.client().json("DELETE", f"/tokens/{token_id}")
    cli.out({"revoked": got["id"]}, f"token {got['id']} ({got['prefix']}…) revoked")


@apps_app.command("create")
def app_create(
    ctx: typer.Context,
    name: str,
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="Push this folder as the first revision.")
    ] = None,
) -> None:
    """Create an app, optionally filled from a folder."""
    from atoll.cli import sync

    cli = _run(ctx)
    client = cli.client()
    got = client.json("POST", "/apps", json={"name": name})
    data: dict[str, Any] = {"app": got["app"]}
    human = f"app {got['app']} created"
    if from_dir is not None:
        pushed = sync.push(client, name, from_dir, f"import {from_dir.name}", progress=progress)
        _end_progress()
        data["revision"] = pushed["revision"]
        human += f" from {from_dir} (r{pushed['number']}, {pushed['file_count']} files)"
    cli.out(data, human)


@apps_app.command("list")
def app_list(ctx: typer.Context) -> None:
    """List your apps."""
    cli = _run(ctx)
    got = cli.client().json("GET", "/apps")
    cli.out({"apps": got}, "\n".join(f"{a['app']}  ({a['revisions']} revisions)" for a in got))


@apps_app.command("delete")
def app_delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete an app with its workspace, releases and databases."""
    cli = _run(ctx)
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete app {name} and its data?"):
        fail("not deleted", 1)
    got = cli.client().json("DELETE", f"/apps/{name}")
    cli.out({"app": got["app"], "deleted": True}, f"app {got['app']} deleted")


@app.command()
def push(
    ctx: typer.Context,
    folder: Path,
    app_name: Annotated[str, typer.Option("--app", help="The app to push to.")],
    message: Annotated[str, typer.Option("--message", "-m")] = "push",
    force: Annotated[bool, typer.Option(help="Overwrite a workspace that moved.")] = False,
) -> None:
    """Send a local folder to the app's workspace as one revision."""
    from atoll.cli import sync

    cli = _run(ctx)
    got = sync.push(cli.client(), app_name, folder, message, force=force, progress=progress)
    _end_progress()
    state = "pushed" if got["created"] else "nothing changed at"
    cli.out(
        {"revision": got["revision"], "number": got["number"], "created": got["created"]},
        f"{state} r{got['number']} ({got['revision'][:12]}), {got['file_count']} files",
    )


@app.command()
def pull(
    ctx: typer.Context,
    folder: Path,
    app_name: Annotated[str, typer.Option("--app", help="The app to pull from.")],
    revision: Annotated[str | None, typer.Option(help="A revision id or rN.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite local changes.")] = False,
) -> None:
    """Make a local folder match the app's workspace."""
    from atoll.cli import sync

    cli = _run(ctx)
    got = sync.pull(cli.client(), app_name, folder, revision, force=force, progress=progress)
    _end_progress()
    cli.out(
        got,
        f"pulled r{got['number']} ({got['revision'][:12]}): {got['files']} files, "
        f"{got['written']} written, {len(got['removed'])} removed",
    )


@app.command()
def invoke(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    function: str,
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    method: Annotated[str, typer.Option(help="HTTP method.")] = "GET",
    data: Annotated[str | None, typer.Option(help="JSON body.")] = None,
    query: Annotated[
        list[str] | None, typer.Option("--query", "-q", help="Query parameter KEY=VALUE.")
    ] = None,
) -> None:
    """Call a function of an app environment and print its response."""
    cli = _run(ctx)
    try:
        body = None if data is None else json.loads(data)
    except ValueError as exc:
        fail(f"--data is not valid JSON: {exc}", 2)
    params = {}
    for item in query or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--query takes KEY=VALUE, not {item!r}", 2)
        params[key] = value
    got = cli.client().json(
        "POST",
        f"/apps/{app_name}/invoke",
        json={
            "function": function,
            "env": env,
            "method": method.upper(),
            "query": params,
            "body": body,
        },
    )
    shown = got["body"] if isinstance(got["body"], str) else json.dumps(got["body"], indent=2)
    cli.out({"status": got["status"], "body": got["body"]}, shown)
    if got["status"] >= 400:
        fail(f"the function answered HTTP {got['status']} (request {got['request_id']})", 1)


def _log_line(entry: dict[str, Any]) -> str:
    import datetime as dt

    ts = dt.datetime.fromtimestamp(float(entry.get("ts", 0)), dt.UTC).strftime("%H:%M:%S.%f")
    head = (
        f"{ts[:-3]} {entry.get('request_id', '-')} {entry.get('method', '')} "
        f"{entry.get('function', entry.get('kind', ''))} -> {entry.get('status', '')} "
        f"({entry.get('duration_ms', '?')} ms)"
    )
    lines = [head]
    for stream in ("stdout", "stderr"):
        lines += [f"  {stream}: {line}" for line in str(entry.get(stream) or "").splitlines()]
    for record in entry.get("logs") or []:
        lines.append(f"  log: {json.dumps(record, default=str)}")
    if entry.get("error"):
        lines.append(f"  error: {entry['error']}")
    if entry.get("text"):
        lines += [f"  {line}" for line in str(entry["text"]).splitlines()]
    return "\n".join(lines)


@app.command()
def logs(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    limit: Annotated[int, typer.Option(help="How many recent entries.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
) -> None:
    """Print function logs of an app environment."""
    cli = _run(ctx)
    path = f"/apps/{app_name}/envs/{env}/logs"
    client = cli.client()

    def show(entry: dict[str, Any]) -> None:
        typer.echo(json.dumps(entry, default=str) if cli.as_json else _log_line(entry))

    if not follow:
        for entry in client.json("GET", path, params={"limit": limit})["entries"]:
            show(entry)
        return
    try:
        for entry in client.events(path, params={"limit": limit, "follow": "true"}):
            show(entry)
    except KeyboardInterrupt:
        return


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dict) and "base64" in value:
        return f"<blob {len(value['base64']) * 3 // 4} bytes>"
    return str(value)


@db_app.command("exec")
def db_exec(
    ctx: typer.Context,
    sql: str,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
) -> None:
    """Run SQL on the environment's database and print the last statement's rows."""
    cli = _run(ctx)
    got = cli.client().json("POST", f"/apps/{app_name}/envs/{env}/db/exec", json={"sql": sql})
    if got["columns"]:
        lines = ["\t".join(got["columns"])]
        lines += ["\t".join(_cell(v) for v in row) for row in got["rows"]]
        human = "\n".join(lines)
    else:
        human = f"ok, {got['rows_affected']} row(s) affected"
    cli.out({"columns": got["columns"], "rows": got["rows"]}, human)


@db_app.command("url")
def db_url(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    read_only: Annotated[bool, typer.Option("--read-only", help="A read-only token.")] = False,
    ttl: Annotated[
        int | None,
        typer.Option(help="Token lifetime in seconds (default 1 h; the server sets the maximum)."),
    ] = None,
) -> None:
    """Print a libSQL URL and token for any libSQL client (@libsql/client, libsql)."""
    cli = _run(ctx)
    params = {"read_only": "true" if read_only else "false"}
    if ttl is not None:
        params["ttl"] = str(ttl)
    got = cli.client().json("GET", f"/apps/{app_name}/envs/{env}/db/url", params=params)
    cli.out(
        {"url": got["url"], "token": got["token"]},
        f"url:   {got['url']}\ntoken: {got['token']}\n"
        f"({'read-only' if read_only else 'read-write'}, valid {got['expires_in'] // 60} min)",
    )


@db_app.command("snapshot")
def db_snapshot(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    reason: Annotated[str, typer.Option(help="A word or two: a-z, 0-9, -.")] = "manual",
) -> None:
    """Take an online snapshot of the environment's database."""
    cli = _run(ctx)
    got = cli.client().json(
        "POST", f"/apps/{app_name}/envs/{env}/db/snapshots", json={"reason": reason}
    )
    cli.out(got, f"snapshot {got['id']} ({got['size_bytes']} bytes)")


@db_app.command("snapshots")
def db_snapshots(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
) -> None:
    """List the database's snapshots, newest first."""
    cli = _run(ctx)
    got = cli.client().json("GET", f"/apps/{app_name}/envs/{env}/db/snapshots")
    lines = [f"{s['id']}  {s['size_bytes']:>10} bytes" for s in got]
    cli.out({"snapshots": got}, "\n".join(lines) or "no snapshots")


@db_app.command("restore")
def db_restore(
    ctx: typer.Context,
    snapshot: str,
    app_name: Annotated[str, typer.Option("--app", help="The app.")],
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Replace the database's content with a snapshot (the current content is kept too)."""
    cli = _run(ctx)
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Restore {snapshot} into {env}?"):
        fail("not restored", 1)
    got = cli.client().json("POST", f"/apps/{app_name}/envs/{env}/db/snapshots/{snapshot}/restore")
    safety = got["safety_snapshot"]
    cli.out(
        got,
        f"restored {got['restored']['id']}"
        + (f"; the replaced content is snapshot {safety['id']}" if safety else ""),
    )


def _hoist_global_options(argv: list[str]) -> list[str]:
    """Let global options stand anywhere (``atoll app list --json``) by moving them first."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif name in GLOBAL_OPTIONS and "=" in arg:
            front.append(arg)
        elif arg in GLOBAL_OPTIONS and i + 1 < len(argv):
            front.extend(argv[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main() -> None:
    """Console entry point."""
    argv = _hoist_global_options(sys.argv[1:])
    try:
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        code = app(args=argv, prog_name="atoll", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ApiError as exc:
        fail_line(f"{exc.message} ({exc.error_code}, HTTP {exc.http_status})")
        sys.exit(1)
    except ConnectionFailed as exc:
        fail_line(exc.message)
        sys.exit(3)
    except AtollError as exc:
        fail_line(exc.message)
        sys.exit(4)
    except typer.Abort:
        fail_line("aborted")
        sys.exit(1)
    except _CLICK_ERRORS as exc:  # usage errors: a user's mistake, never a traceback
        message = exc.format_message().replace("\n", " ")  # typer's click adds "Did you mean"
        ctx = getattr(exc, "ctx", None)
        if message:  # empty when a bare group already printed its help
            fail_line(message + (f" (see '{ctx.command_path} --help')" if ctx else ""))
        sys.exit(exc.exit_code)


# typer ships its own copy of click and raises that copy's errors; plain click's stay covered.
_CLICK_ERRORS = (_typer_click.ClickException, click.ClickException)


def fail_line(message: str) -> None:
    """Print a one-line error on stderr."""
    print(f"atoll: error: {message}", file=sys.stderr)
