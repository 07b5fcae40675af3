"""``docs/reference/cli.md``: every command of ``atoll``, from the command registry itself."""

from __future__ import annotations

import argparse
import re

from atoll.cli import __doc__ as cli_doc
from atoll.cli import _commands
from atoll.cli.commands import GROUPS, SECTIONS
from atoll.cli.parsing import GLOBAL_ARGS, Arg, Command
from atoll.docsgen.markdown import code, page, slug, table

PATH = "docs/reference/cli.md"
TITLE = "CLI"

_ENV = re.compile(r"\benv (ATOLL_[A-Z_]+)")


def commands() -> list[Command]:
    """Every command ``atoll`` has, by name."""
    return sorted(_commands(), key=lambda c: c.words)


def _parser(prog: str, args: list[Arg]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, add_help=False)
    for arg in args:
        parser.add_argument(*arg.flags, **arg.options)
    return parser


def usage(command: Command) -> str:
    """The command's usage line, on one line whatever the terminal's width."""
    parser = _parser(f"atoll {command.name}", command.args)
    formatter = argparse.HelpFormatter(parser.prog, width=10_000)
    formatter.add_usage(None, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _kind(action: argparse.Action) -> str:
    if isinstance(action, argparse._StoreTrueAction):
        return "flag"
    if isinstance(action, argparse._AppendAction):
        kind = "repeatable " + getattr(action.type, "__name__", "string")
    elif action.choices:
        kind = " / ".join(code(c) for c in action.choices)
    else:
        kind = {"int": "integer", "float": "number"}.get(
            getattr(action.type, "__name__", ""), "string"
        )
    if action.nargs == "+":
        return f"one or more of {kind}"
    if action.nargs == "?":
        return f"{kind} (optional)"
    return kind


def _default(action: argparse.Action) -> str:
    if isinstance(action, argparse._StoreTrueAction) or action.default in (None, []):
        return ""
    return code(action.default if action.default != "" else '""')


def _env(action: argparse.Action) -> str:
    found = _ENV.search(action.help or "")
    return code(found.group(1)) if found else ""


def _names(action: argparse.Action) -> str:
    if not action.option_strings:
        return code(action.metavar or action.dest)
    value = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
    return ", ".join(code(f"{flag}{value}") for flag in action.option_strings)


def _tables(args: list[Arg], prog: str) -> list[str]:
    actions = _parser(prog, args)._actions
    positionals = [a for a in actions if not a.option_strings]
    options = [a for a in actions if a.option_strings]
    lines: list[str] = []
    if positionals:
        lines += ["**Arguments**", ""]
        lines += table(
            ["argument", "type", "description"],
            [[_names(a), _kind(a), a.help or ""] for a in positionals],
        )
    if options:
        lines += ["**Options**", ""]
        lines += table(
            ["option", "type", "default", "env", "description"],
            [
                [_names(a), _kind(a) + (" (required)" if a.required else ""),
                 _default(a), _env(a), a.help or ""]
                for a in options
            ],
        )  # fmt: skip
    return lines


def _command_section(command: Command) -> list[str]:
    lines = [f"### atoll {command.name}", "", command.help, ""]
    if len(command.words) > 1 and " ".join(command.words[:-1]) in GROUPS:
        lines += [f"Part of `atoll {' '.join(command.words[:-1])}`: "
                  f"{GROUPS[' '.join(command.words[:-1])]}", ""]  # fmt: skip
    lines += ["```", usage(command), "```", ""]
    return lines + _tables(command.args, f"atoll {command.name}")


def render() -> dict[str, str]:
    """The CLI reference page."""
    found = commands()
    intro = (cli_doc or "").split("\n\n")[1].split(" Only what")[0].strip()
    lines = [
        f"# {TITLE}",
        "",
        "`atoll` is a client of the control plane's HTTP API (and `atoll serve` runs the "
        "platform). `atoll --help` lists the commands, `atoll COMMAND --help` shows one.",
        "",
        intro,
        "",
        "## Global options",
        "",
        "These stand anywhere on the line, before or after the command's words.",
        "",
        *_tables(GLOBAL_ARGS, "atoll"),
        "`atoll --version` prints the version.",
        "",
        "## Commands",
        "",
    ]
    rows = []
    for command in found:
        title = f"atoll {command.name}"
        rows.append([f"[`{title}`](#{slug(title)})", command.help])
    lines += table(["command", "does"], rows)
    for section, title in SECTIONS.items():
        members = [c for c in found if c.group == section]
        if members:
            lines += [f"## {title}", ""]
            for command in members:
                lines += _command_section(command)
    return {PATH: page(lines)}
