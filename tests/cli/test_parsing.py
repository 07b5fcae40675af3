"""The command line's parser, built from the real command registry."""

from __future__ import annotations

import argparse

import pytest

from atoll.cli import EXIT_USAGE, _commands, run
from atoll.cli.commands import GROUPS, SECTIONS
from atoll.cli.parsing import Command, UsageError, command_parser, group_help, locate, overview

# Global options pointed at a port nobody listens on: a command that runs by mistake fails
# with "cannot reach" instead of doing anything.
NOWHERE = ["--server", "http://127.0.0.1:9", "--token", "x"]


@pytest.fixture(scope="module")
def commands() -> list[Command]:
    """The registered commands."""
    return _commands()


def parse(commands: list[Command], argv: list[str]) -> tuple[Command, argparse.Namespace]:
    """The command ``argv`` names and its parsed options, as a run parses them."""
    found = locate(argv, commands)
    assert found.command is not None, argv
    return found.command, command_parser(found.command).parse_args(found.rest)


def usage_error(commands: list[Command], argv: list[str]) -> UsageError:
    """The UsageError that parsing ``argv`` raises."""
    with pytest.raises(UsageError) as caught:
        parse(commands, argv)
    return caught.value


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``; check it is a usage error of one line on stderr, and return that line."""
    assert run(argv) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("atoll: error: ")
    return err.strip()


# Usage errors: one line, with a hint


def test_an_unknown_command_suggests_the_closest(commands: list[Command]) -> None:
    error = usage_error(commands, ["pussh"])
    assert error.message == "unknown command 'pussh'. Did you mean 'push'?"
    assert error.prog == "atoll"


def test_an_unknown_sub_command_suggests_the_closest(commands: list[Command]) -> None:
    error = usage_error(commands, ["app", "lst"])
    assert error.message == "unknown command 'lst'. Did you mean 'list'?"
    assert error.prog == "atoll app"


def test_an_unknown_command_far_from_any_has_no_suggestion(commands: list[Command]) -> None:
    assert usage_error(commands, ["xyzzyq"]).message == "unknown command 'xyzzyq'"


def test_a_typo_in_an_option_suggests_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["app", "list", "--jsn"])
    assert "no such option '--jsn'. Did you mean '--json'?" in line
    assert "'atoll app list --help'" in line
    line = one_error_line(capsys, ["push", "--mesage", "m", *NOWHERE])
    assert "Did you mean '--message'?" in line


def test_an_unexpected_argument_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["app", "list", "extra", *NOWHERE])
    assert "unexpected argument 'extra'" in line


def test_a_bad_integer(commands: list[Command]) -> None:
    error = usage_error(commands, ["db", "url", "--ttl", "soon"])
    assert error.message == "invalid value for '--ttl': 'soon' is not an integer"
    assert error.prog == "atoll db url"


def test_a_bad_choice(commands: list[Command]) -> None:
    error = usage_error(commands, ["completion", "tcsh"])
    assert error.message == "invalid value for 'SHELL': 'tcsh' (choose from bash, zsh, fish)"


def test_a_missing_required_option(commands: list[Command]) -> None:
    error = usage_error(commands, ["link"])
    assert error.message == "missing --app"
    assert error.prog == "atoll link"


def test_a_missing_argument(commands: list[Command]) -> None:
    assert usage_error(commands, ["db", "exec", "--app", "a"]).message == "missing SQL"


def test_an_option_without_its_value(commands: list[Command]) -> None:
    error = usage_error(commands, ["app", "list", "--server"])
    assert "--server" in error.message and "\n" not in error.message


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["pussh"], ["app", "lst"], ["db", "url", "--ttl", "soon"], ["link"]):
        line = one_error_line(capsys, argv)
        assert "(see 'atoll" in line


# Global options anywhere on the line


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "--server", "http://s:1", "--token", "t", "--profile", "p", "app", "list"],
        ["app", "--json", "--server", "http://s:1", "--token", "t", "--profile", "p", "list"],
        ["app", "list", "--json", "--server", "http://s:1", "--token", "t", "--profile", "p"],
        ["--json", "app", "--server", "http://s:1", "list", "--token", "t", "--profile", "p"],
        ["--profile", "p", "app", "--token", "t", "list", "--server", "http://s:1", "--json"],
    ],
)
def test_global_options_stand_anywhere(commands: list[Command], argv: list[str]) -> None:
    command, args = parse(commands, argv)
    assert command.name == "app list"
    assert (args.json, args.server, args.token, args.profile) == (True, "http://s:1", "t", "p")


def test_a_global_option_before_the_command_is_kept(commands: list[Command]) -> None:
    _, args = parse(commands, ["--json", "app", "list"])
    assert args.json is True
    _, args = parse(commands, ["--token", "t", "db", "url", "--ttl", "5"])
    assert (args.token, args.ttl, args.env) == ("t", 5, "dev")
    _, args = parse(commands, ["--server", "http://a:1", "app", "--json", "list"])
    assert (args.server, args.json) == ("http://a:1", True)
    # The value of a global option is never taken for a command word.
    command, args = parse(commands, ["--profile", "app", "push", "--token", "list"])
    assert (command.name, args.profile, args.token) == ("push", "app", "list")


def test_the_later_of_two_global_options_wins(commands: list[Command]) -> None:
    _, args = parse(commands, ["--server", "http://a:1", "app", "list", "--server", "http://b:2"])
    assert args.server == "http://b:2"


def test_global_options_default_when_absent(commands: list[Command]) -> None:
    _, args = parse(commands, ["app", "list"])
    assert (args.json, args.server, args.token, args.profile) == (False, None, None, None)


def test_command_options_and_their_defaults(commands: list[Command]) -> None:
    command, args = parse(commands, ["push", "site", "-m", "hello", "--no-wait"])
    assert command.name == "push"
    assert (args.folder, args.message, args.no_wait, args.force) == ("site", "hello", True, False)
    _, args = parse(commands, ["invoke", "shop", "hello", "-q", "a=1", "-q", "b=2"])
    assert (args.words, args.query, args.method) == (["shop", "hello"], ["a=1", "b=2"], "GET")
    _, args = parse(commands, ["app", "create", "shop", "--from", "site"])
    assert (args.name, args.from_dir) == ("shop", "site")
    # A positional argument that looks like a command word is the argument.
    command, args = parse(commands, ["app", "delete", "list", "--yes"])
    assert (command.name, args.name) == ("app delete", "list")


def test_abbreviated_options_are_not_guessed(commands: list[Command]) -> None:
    assert "no such option '--mess'" in usage_error(commands, ["push", "--mess", "m"]).message


# Help


def test_every_command_help_lists_the_global_options(commands: list[Command]) -> None:
    for command in commands:
        text = command_parser(command).format_help()
        assert text.startswith(f"usage: atoll {command.name} ")
        for option in ("--server URL", "--token T", "--profile NAME", "--json"):
            assert option in text, (command.name, option)
        assert "global options" in text


def test_help_holds_no_noise(commands: list[Command]) -> None:
    texts = [command_parser(c).format_help() for c in commands]
    texts += [group_help((group,), commands, title) for group, title in GROUPS.items()]
    for text in texts:
        for noise in ("<bool>", "<class", "==SUPPRESS==", "%(", "default: None"):
            assert noise not in text, (text.splitlines()[0], noise)


def test_a_group_help_lists_its_commands(commands: list[Command]) -> None:
    text = group_help(("db",), commands, GROUPS["db"])
    for word in ("exec", "url", "snapshot", "snapshots", "restore"):
        assert f"  db {word} " in text
    assert GROUPS["db"] in text


def test_the_overview_lists_every_command(commands: list[Command]) -> None:
    text = overview(commands, SECTIONS)
    for command in commands:
        assert f"  {command.name} " in text, command.name
        assert command.group in SECTIONS, command.name
    assert "--server URL" in text and "--json" in text


def test_help_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    assert "Getting started" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        run(["app", "list", "--help", *NOWHERE])
    assert caught.value.code == 0
    assert "usage: atoll app list" in capsys.readouterr().out


def test_help_before_a_command_shows_its_help_instead_of_running_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["--help", "app", "delete", "shop", "--yes", *NOWHERE])
    assert caught.value.code == 0
    out, err = capsys.readouterr()
    assert "usage: atoll app delete" in out
    assert "cannot reach" not in err


def test_help_before_a_group_shows_the_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help", "db"]) == 0
    assert "usage: atoll db" in capsys.readouterr().out


def test_a_group_without_a_command_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db"]) == EXIT_USAGE
    assert "usage: atoll db" in capsys.readouterr().out
    assert run([]) == EXIT_USAGE
    assert "Getting started" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from atoll import __version__

    assert run(["--version"]) == 0
    assert capsys.readouterr().out == f"atoll {__version__}\n"
