"""Calling an app's functions and reading their logs."""

from __future__ import annotations

import json

from atoll.cli.commands import APP, ENV, Cli, command
from atoll.cli.output import fail
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any


@command(
    "invoke",
    "Call a function of an app environment and print its response.",
    Arg("words", nargs="+", metavar="[APP] FUNCTION", help="the function (and its app)"),
    APP,
    ENV,
    Arg("--method", default="GET", help="HTTP method (default: GET)"),
    Arg("--data", metavar="JSON", help="JSON body"),
    Arg(
        "--query",
        "-q",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="query parameter (repeatable)",
    ),
    section="run",
)
def invoke(cli: Cli) -> None:
    """``atoll invoke``."""
    args = cli.args
    words: list[str] = args.words
    if len(words) > 2 or (len(words) == 2 and args.app):
        fail("invoke takes FUNCTION, or APP FUNCTION without --app", 2)
    app = words[0] if len(words) == 2 else cli.app()
    function = words[-1]
    try:
        body = None if args.data is None else json.loads(args.data)
    except ValueError as exc:
        fail(f"--data is not valid JSON: {exc}", 2)
    params = {}
    for item in args.query:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--query takes KEY=VALUE, not {item!r}", 2)
        params[key] = value
    got = cli.client().json(
        "POST",
        f"/apps/{app}/invoke",
        json={
            "function": function,
            "env": args.env,
            "method": args.method.upper(),
            "query": params,
            "body": body,
        },
    )
    shown = got["body"] if isinstance(got["body"], str) else json.dumps(got["body"], indent=2)
    cli.out({"status": got["status"], "body": got["body"]}, shown)
    if got["status"] >= 400:
        fail(f"the function answered HTTP {got['status']} (request {got['request_id']})", 1)


def log_line(entry: dict[str, Any]) -> str:
    """One log entry as a person reads it: a head line, then its output indented."""
    import datetime as dt

    try:
        when = dt.datetime.fromtimestamp(float(entry.get("ts", 0)), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        when = dt.datetime.fromtimestamp(0, dt.UTC)
    ts = when.strftime("%H:%M:%S.%f")[:-3]
    if entry.get("kind") == "build":
        head = f"{ts} build r{entry.get('number', '?')} {entry.get('status', '')}"
    else:
        head = (
            f"{ts} {entry.get('request_id', '-')} {entry.get('method', '')} "
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


@command(
    "logs",
    "Print an app environment's logs: function calls and builds.",
    APP,
    ENV,
    Arg("--limit", type=int, default=100, help="how many recent entries (default: 100)"),
    Arg("--follow", "-f", action="store_true", help="keep printing new ones"),
    section="run",
)
def logs(cli: Cli) -> None:
    """``atoll logs``."""
    args = cli.args
    path = f"/apps/{cli.app()}/envs/{args.env}/logs"
    client = cli.client()

    def show(entry: dict[str, Any]) -> None:
        print(json.dumps(entry, default=str) if cli.as_json else log_line(entry), flush=True)

    if not args.follow:
        for entry in client.json("GET", path, params={"limit": args.limit})["entries"]:
            show(entry)
        return
    for entry in client.events(path, params={"limit": args.limit, "follow": "true"}):
        show(entry)
