"""The command tree: commands declare their arguments, argparse parses them.

The CLI is built on the standard library's argparse rather than a framework because it
starts for every command, and a framework costs more to import than a command takes. What
a framework would add is here: one-line usage errors with a "did you mean", global options
that may stand anywhere and show in every command's help, a grouped overview, and the
command tree that shell completion is generated from. Each run builds the parser of the
one command it runs (``locate`` finds it), not of the whole tree.
"""

from __future__ import annotations

import argparse
import re

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    Handler = Callable[[Any], None]


class UsageError(Exception):
    """The command line is wrong; ``message`` says how, in one line."""

    def __init__(self, message: str, prog: str = "atoll") -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog


class Arg:
    """One argument or option: argparse's flags and keywords."""

    __slots__ = ("flags", "options")

    def __init__(self, *flags: str, **options: Any) -> None:
        self.flags = flags
        self.options = options

    @property
    def is_option(self) -> bool:
        """Whether this is an ``--option`` (not a positional argument)."""
        return self.flags[0].startswith("-")


class Command:
    """A command: its words (``("app", "create")``), help, arguments and handler."""

    __slots__ = ("words", "help", "args", "handler", "group")

    def __init__(
        self,
        words: tuple[str, ...],
        help: str,
        args: Sequence[Arg],
        handler: Handler,
        group: str,
    ) -> None:
        self.words = words
        self.help = help
        self.args = list(args)
        self.handler = handler
        self.group = group

    @property
    def name(self) -> str:
        """The command as typed: ``app create``."""
        return " ".join(self.words)


GLOBAL_ARGS = [
    Arg(
        "--server",
        metavar="URL",
        help="control plane URL (env ATOLL_SERVER; default: the "
        "profile's, else http://127.0.0.1:8000)",
    ),
    Arg("--token", metavar="T", help="API token (env ATOLL_TOKEN; default: the profile's)"),
    Arg("--profile", metavar="NAME", help="a profile stored by 'atoll login' (env ATOLL_PROFILE)"),
    Arg("--json", action="store_true", help="machine-readable output: one JSON object on stdout"),
]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are exceptions carrying one line."""

    def error(self, message: str) -> NoReturn:
        """Turn argparse's message into one line with a hint."""
        raise UsageError(_rephrase(message, self), self.prog)


def _rephrase(message: str, parser: argparse.ArgumentParser) -> str:
    found = re.match(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if found:
        allowed = found.group(3).replace("'", "")
        return f"invalid value for '{found.group(1)}': '{found.group(2)}' (choose from {allowed})"
    found = re.match(r"argument (\S+): invalid (\w+) value: '([^']*)'", message)
    if found:
        kind = {"int": "an integer", "float": "a number"}.get(found.group(2), found.group(2))
        return f"invalid value for '{found.group(1)}': '{found.group(3)}' is not {kind}"
    found = re.match(r"the following arguments are required: (.*)", message)
    if found:
        return f"missing {found.group(1)}"
    found = re.match(r"unrecognized arguments: (.*)", message)
    if found:
        extra = found.group(1).split()[0]
        if extra.startswith("-"):
            options = [s for a in parser._actions for s in a.option_strings]
            return f"no such option '{extra}'{_did_you_mean(extra, options, 0.6)}"
        return f"unexpected argument '{extra}'"
    return message


def _did_you_mean(word: str, choices: Sequence[str], cutoff: float = 0.5) -> str:
    import difflib  # only for a mistake

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f". Did you mean '{close[0]}'?" if close else ""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=min(_columns(), 100))


def _columns() -> int:
    import os

    try:
        return int(os.environ.get("COLUMNS") or os.get_terminal_size(1).columns)
    except (OSError, ValueError):
        return 100


class Located:
    """Where a command line points in the command tree."""

    __slots__ = ("command", "words", "rest")

    def __init__(self, command: Command | None, words: tuple[str, ...], rest: list[str]) -> None:
        self.command = command  # None: no command, or a group without its sub-command
        self.words = words  # the command words found (a group's, for a group)
        self.rest = rest  # everything else, in order: options and arguments


_GLOBAL_VALUES = {f for a in GLOBAL_ARGS if "action" not in a.options for f in a.flags}


def locate(argv: Sequence[str], commands: Sequence[Command]) -> Located:
    """Find the command words in ``argv`` (global options may stand before them); only
    that command's parser is built, so a run pays for one command, not for all of them."""
    words: tuple[str, ...] = ()
    rest: list[str] = []
    items = list(argv)
    at = 0
    while at < len(items):
        item = items[at]
        at += 1
        if item == "--":
            rest += items[at - 1 :]
            break
        if item.startswith("-"):
            rest.append(item)
            if item in _GLOBAL_VALUES and at < len(items):
                rest.append(items[at])  # the value of --server/--token/--profile: not a word
                at += 1
            continue
        below = [c for c in commands if c.words[: len(words)] == words]
        names = sorted({c.words[len(words)] for c in below if len(c.words) > len(words)})
        if item not in names:
            prog = " ".join(("atoll", *words))
            raise UsageError(f"unknown command '{item}'{_did_you_mean(item, names)}", prog)
        words = (*words, item)
        exact = [c for c in below if c.words == words]
        # A command that is also a group (``agent`` and ``agent undo``): the next word, when
        # it names a subcommand, goes on; anything else is the command's own arguments.
        deeper = {
            c.words[len(words)]
            for c in below
            if len(c.words) > len(words) and c.words[: len(words)] == words
        }
        if exact and not (at < len(items) and items[at] in deeper):
            rest.extend(items[at:])
            return Located(exact[0], words, rest)
    return Located(None, words, rest)


def command_parser(command: Command) -> Parser:
    """The parser of one command: its arguments, then the global options."""
    parser = Parser(
        prog=f"atoll {command.name}",
        description=command.help,
        formatter_class=_Formatter,
        allow_abbrev=False,
    )
    for arg in command.args:
        parser.add_argument(*arg.flags, **arg.options)
    group = parser.add_argument_group("global options (anywhere on the line)")
    for arg in GLOBAL_ARGS:
        group.add_argument(*arg.flags, **arg.options)
    return parser


def group_help(words: tuple[str, ...], commands: Sequence[Command], title: str) -> str:
    """``atoll app``: the group's commands, one per line."""
    members = [c for c in commands if c.words[: len(words)] == words]
    width = max(len(c.name) for c in members) + 2
    lines = [f"usage: atoll {' '.join(words)} COMMAND [ARGS]...", "", title, "", "commands:"]
    lines += [f"  {c.name:<{width}}{c.help}" for c in members]
    lines += ["", f"'atoll {' '.join(words)} COMMAND --help' shows a command's options."]
    return "\n".join(lines) + "\n"


def overview(commands: Sequence[Command], group_titles: dict[str, str]) -> str:
    """``atoll --help``: every command on one line, grouped."""
    lines = [
        "Atoll: build apps, ship them as releases.",
        "",
        "usage: atoll [--server URL] [--token T] [--profile NAME] [--json] COMMAND ...",
        "",
    ]
    width = max(len(c.name) for c in commands) + 2
    for group, title in group_titles.items():
        members = [c for c in commands if c.group == group]
        if not members:
            continue
        lines.append(f"{title}:")
        lines += [f"  {c.name:<{width}}{c.help}" for c in members]
        lines.append("")
    lines += [
        "global options (anywhere on the line):",
        "  --server URL     control plane URL (env ATOLL_SERVER)",
        "  --token T        API token (env ATOLL_TOKEN)",
        "  --profile NAME   a profile stored by 'atoll login' (env ATOLL_PROFILE)",
        "  --json           machine-readable output",
        "  --version        print the version",
        "",
        "'atoll COMMAND --help' shows a command's options.",
    ]
    return "\n".join(lines) + "\n"
