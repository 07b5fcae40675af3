"""An app environment's database: SQL, a URL for libSQL clients, snapshots."""

from __future__ import annotations

import sys

from atoll.cli.commands import APP, ENV, Cli, command
from atoll.cli.output import fail, table
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dict) and "base64" in value:
        return f"<blob {len(value['base64']) * 3 // 4} bytes>"
    return str(value)


def _db(cli: Cli) -> str:
    return f"/apps/{cli.app()}/envs/{cli.args.env}/db"


@command(
    "db exec",
    "Run SQL on the environment's database; print the last statement's rows.",
    Arg("sql", metavar="SQL"),
    APP,
    ENV,
    Arg(
        "--read-only",
        action="store_true",
        help="refuse any statement that would write (a safe look at staging or prod)",
    ),
    section="data",
)
def db_exec(cli: Cli) -> None:
    """``atoll db exec``."""
    body = {"sql": cli.args.sql, "read_only": cli.args.read_only}
    got = cli.client().json("POST", f"{_db(cli)}/exec", json=body)
    if got["columns"]:
        rows = [[_cell(v) for v in row] for row in got["rows"]]
        human = table(got["columns"], rows, "(no rows)") if rows else "(no rows)"
    else:
        human = f"ok, {got['rows_affected']} row(s) affected"
    cli.out({"columns": got["columns"], "rows": got["rows"]}, human)


@command(
    "db url",
    "Print a libSQL URL and token for any libSQL client (@libsql/client, libsql).",
    APP,
    ENV,
    Arg("--read-only", action="store_true", help="a read-only token"),
    Arg(
        "--ttl",
        type=int,
        metavar="S",
        help="token lifetime in seconds (default: 1 h; the server sets the maximum)",
    ),
    section="data",
)
def db_url(cli: Cli) -> None:
    """``atoll db url``."""
    args = cli.args
    params = {"read_only": "true" if args.read_only else "false"}
    if args.ttl is not None:
        params["ttl"] = str(args.ttl)
    got = cli.client().json("GET", f"{_db(cli)}/url", params=params)
    cli.out(
        {"url": got["url"], "token": got["token"]},
        f"url:   {got['url']}\ntoken: {got['token']}\n"
        f"({'read-only' if args.read_only else 'read-write'}, valid {got['expires_in'] // 60} min)",
    )


@command(
    "db snapshot",
    "Take an online snapshot of the environment's database.",
    APP,
    ENV,
    Arg("--reason", default="manual", help="a word or two: a-z, 0-9, -"),
    section="data",
)
def db_snapshot(cli: Cli) -> None:
    """``atoll db snapshot``."""
    got = cli.client().json("POST", f"{_db(cli)}/snapshots", json={"reason": cli.args.reason})
    cli.out(got, f"snapshot {got['id']} ({got['size_bytes']} bytes)")


@command("db snapshots", "List the database's snapshots, newest first.", APP, ENV, section="data")
def db_snapshots(cli: Cli) -> None:
    """``atoll db snapshots``."""
    got = cli.client().json("GET", f"{_db(cli)}/snapshots")
    rows = [[s["id"], s["size_bytes"]] for s in got]
    cli.out({"snapshots": got}, table(["SNAPSHOT", "BYTES"], rows, "no snapshots"))


@command(
    "db restore",
    "Replace the database's content with a snapshot (the current one is kept).",
    Arg("snapshot", metavar="SNAPSHOT"),
    APP,
    ENV,
    Arg("--yes", "-y", action="store_true", help="do not ask (needed without a terminal)"),
    section="data",
)
def db_restore(cli: Cli) -> None:
    """``atoll db restore``."""
    args = cli.args
    if not args.yes:
        if not sys.stdin.isatty():
            fail(f"refusing to restore {args.snapshot} without --yes (no terminal to ask on)", 2)
        answer = input(f"Replace {args.env}'s database with {args.snapshot}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            fail("not restored", 1)
    got = cli.client().json("POST", f"{_db(cli)}/snapshots/{args.snapshot}/restore")
    safety = got["safety_snapshot"]
    cli.out(
        got,
        f"restored {got['restored']['id']}"
        + (f"; the replaced content is snapshot {safety['id']}" if safety else ""),
    )
