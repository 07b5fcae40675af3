"""The ``atoll`` command line: a client of the control-plane API (and ``serve``).

Exit codes: 0 success; 1 the server refused the request; 2 bad usage; 3 the server could
not be reached; 4 a local problem (bad folder, a sync conflict). Only what a command needs
is imported when it runs: the CLI starts for every command, so start-up is a feature.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from atoll.cli.client import ApiError
    from atoll.cli.commands import Cli
    from atoll.cli.parsing import Command
    from atoll.errors import AtollError

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_LOCAL = 1, 2, 3, 4


def _commands() -> list[Command]:
    """Every registered command."""
    from atoll.cli import (  # noqa: F401
        accounts,
        agent,
        apps,
        databases,
        envs,
        functions,
        releases,
        shell,
        vars,
    )
    from atoll.cli.commands import COMMANDS

    return COMMANDS


def run(argv: list[str]) -> int:
    """Run one command line; returns the exit code."""
    from atoll import __version__
    from atoll.cli.commands import GROUPS, SECTIONS, Cli
    from atoll.cli.output import Exit, error_line
    from atoll.cli.parsing import UsageError, command_parser, group_help, locate, overview
    from atoll.errors import AtollError

    commands = _commands()
    cli = None
    try:
        found = locate(argv, commands)
        if found.command is None:
            if "--version" in found.rest and not found.words:
                print(f"atoll {__version__}")
                return 0
            if found.words:
                title = GROUPS.get(" ".join(found.words), "")
                sys.stdout.write(group_help(found.words, commands, title))
            else:
                sys.stdout.write(overview(commands, SECTIONS))
            asked = {"-h", "--help"} & set(found.rest)
            return 0 if asked else EXIT_USAGE
        parser = command_parser(found.command)
        args = parser.parse_args(found.rest)
        cli = Cli(args, found.command)
        found.command.handler(cli)
        return 0
    except UsageError as exc:
        error_line(f"{exc.message} (see '{exc.prog} --help')")
        return EXIT_USAGE
    except Exit as exc:
        return exc.code
    except AtollError as exc:
        return _failed(exc, cli)
    except OSError as exc:  # a local file or folder the command could not use
        error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        return EXIT_LOCAL
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        if cli is not None:
            cli.close()


def _failed(exc: AtollError, cli: Cli | None) -> int:
    """Report an error of the platform's tree in one line; its exit code."""
    from atoll.cli.client import ApiError, ConnectionFailed
    from atoll.cli.output import error_line
    from atoll.cli.profiles import ProfileError

    if isinstance(exc, ApiError):
        error_line(f"{exc.message} ({exc.error_code}, HTTP {exc.http_status})" + _hint(exc, cli))
        return EXIT_REFUSED
    if isinstance(exc, ConnectionFailed):
        error_line(exc.message)
        return EXIT_UNREACHABLE
    error_line(exc.message)
    return EXIT_USAGE if isinstance(exc, ProfileError) else EXIT_LOCAL


def _hint(exc: ApiError, cli: Cli | None) -> str:
    if cli is None:
        return ""
    if exc.http_status == 403 and cli.command.words[0] == "tenant":
        return (
            "; this needs the admin token (<data-dir>/admin.token): 'atoll login --profile "
            "admin --token T' keeps it for admin commands"
        )
    if exc.http_status == 401:
        return "; check the token ('atoll whoami'), or 'atoll login' again"
    return ""


def main() -> None:
    """Console entry point."""
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # `atoll logs | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
