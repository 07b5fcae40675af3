"""An app environment's config vars and secrets: set, list, unset.

A secret's value is never printed: the server never sends it back, and ``vars set`` echoes
names only. ``KEY=-`` reads the value from stdin (asked without echo on a terminal), so a
secret need not appear in the shell's history.
"""

from __future__ import annotations

import sys

from atoll.cli.commands import APP, ENV, Cli, command
from atoll.cli.output import fail, table, when
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any

HIDDEN = "••••••"  # what a secret's value shows as (its length hidden too)
SHOWN_CHARS = 60  # a long value is cut in the table (``--json`` has it whole)
FROM_STDIN = "-"


def _read_stdin(key: str) -> str:
    """The value of ``key`` from stdin: asked without echo on a terminal, else all of stdin
    with one trailing line break dropped (``printf`` and ``echo`` both work)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{key}: ")
    text = sys.stdin.read()
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def parse_assignments(words: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` words as a dict; ``KEY=-`` takes the value from stdin (once)."""
    values: dict[str, str] = {}
    for number, word in enumerate(words, 1):
        key, equals, value = word.partition("=")
        if not equals or not key:
            # Not echoed: a mistyped word may be a secret.
            fail(f"expected KEY=VALUE: assignment {number} has no name and '='", 2)
        if key in values:
            fail(f"{key} is given twice", 2)
        values[key] = value
    from_stdin = [key for key, value in values.items() if value == FROM_STDIN]
    if len(from_stdin) > 1:
        fail(f"only one value can come from stdin; {' and '.join(from_stdin)} ask for it", 2)
    for key in from_stdin:
        values[key] = _read_stdin(key)
    return values


def _path(cli: Cli) -> str:
    return f"/apps/{cli.app()}/envs/{cli.args.env}/vars"


@command(
    "vars set",
    "Set config vars of an environment (--secret: secrets, never shown again).",
    Arg("assignments", nargs="+", metavar="KEY=VALUE", help="KEY=- reads the value from stdin"),
    APP,
    ENV,
    Arg("--secret", action="store_true", help="store them as secrets (write-only, masked in logs)"),
    section="run",
)
def vars_set(cli: Cli) -> None:
    """``atoll vars set``."""
    values = parse_assignments(cli.args.assignments)
    body = {"vars": values, "secret": cli.args.secret}
    got = cli.client().json("POST", _path(cli), json=body)
    keys = sorted(values)
    secrets = sorted(v["key"] for v in got["vars"] if v["key"] in values and v["secret"])
    data = {"env": got["env"], "version": got["version"], "set": keys, "secrets": secrets}
    named = ", ".join(f"{k} (secret)" if k in secrets else k for k in keys)
    cli.out(data, f"{got['env']}: set {named}; vars are at version {got['version']}")


@command(
    "vars list", "An environment's config vars; secrets show as ••••••.", APP, ENV, section="run"
)
def vars_list(cli: Cli) -> None:
    """``atoll vars list``."""
    got = cli.client().json("GET", _path(cli))
    rows = [[v["key"], _shown(v), v["version"], when(v["updated_at"])] for v in got["vars"]]
    empty = f"no vars in {got['env']}: 'atoll vars set KEY=VALUE --env {got['env']}' sets one"
    listed = table(["KEY", "VALUE", "VERSION", "UPDATED"], rows, empty)
    cli.out(got, listed if not rows else f"{got['env']} vars, version {got['version']}\n{listed}")


def _shown(var: dict[str, Any]) -> str:
    if var["secret"] or var["value"] is None:
        return HIDDEN
    value = str(var["value"])
    return value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 3] + "..."


@command(
    "vars unset",
    "Remove config vars or secrets of an environment.",
    Arg("keys", nargs="+", metavar="KEY"),
    APP,
    ENV,
    section="run",
)
def vars_unset(cli: Cli) -> None:
    """``atoll vars unset``."""
    keys = list(dict.fromkeys(cli.args.keys))
    got = cli.client().json("POST", _path(cli), json={"unset": keys})
    data = {"env": got["env"], "version": got["version"], "unset": keys}
    cli.out(data, f"{got['env']}: unset {', '.join(keys)}; vars are at version {got['version']}")
