"""Shell completion scripts, generated from the real command tree and run in real shells."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from atoll.cli import _commands, completion
from atoll.cli.parsing import Command


@pytest.fixture(scope="module")
def commands() -> list[Command]:
    """The registered commands, as ``atoll completion`` sees them."""
    return _commands()


@pytest.fixture(scope="module")
def bash_script(commands: list[Command], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``atoll completion bash``, written to a file."""
    path = tmp_path_factory.mktemp("completion") / "atoll.bash"
    path.write_text(completion.bash(commands))
    return path


def complete(script: Path, words: Sequence[str], cwd: Path | None = None) -> list[str]:
    """What bash offers for the last of ``words`` (the word being typed; "" for none yet)."""
    if shutil.which("bash") is None:
        pytest.skip("no bash binary")
    program = (
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
        "_atoll; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program, "bash", str(script), *words],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


def names(commands: Sequence[Command], depth: int, prefix: tuple[str, ...] = ()) -> list[str]:
    """The distinct words at ``depth`` of the commands under ``prefix``, in order."""
    found: list[str] = []
    for c in commands:
        if len(c.words) > depth and c.words[:depth] == prefix and c.words[depth] not in found:
            found.append(c.words[depth])
    return found


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (["atoll", "pu"], ["push", "pull"]),
        (["atoll", "app", ""], ["create", "list", "delete"]),
        (["atoll", "app", "create", "--f"], ["--from"]),
        (["atoll", "push", "--a"], ["--app"]),
        (["atoll", "db", "snap"], ["snapshot", "snapshots"]),
        (["atoll", "token", "re"], ["revoke"]),
        (["atoll", "tenant", ""], ["create", "list"]),
        (["atoll", "--j"], ["--json"]),
        (["atoll", "--ver"], ["--version"]),
        (["atoll", "completion", "--he"], ["--help"]),
        (["atoll", "db", "url", "--t"], ["--ttl", "--token"]),
        (["atoll", "logs", "--f"], ["--follow"]),
        (["atoll", "zzz"], []),
    ],
)
def test_bash_completes(bash_script: Path, line: list[str], expected: list[str]) -> None:
    assert complete(bash_script, line) == expected


def test_bash_completes_every_top_level_command(bash_script: Path, commands: list[Command]) -> None:
    top = names(commands, 0)
    assert {"push", "pull", "app", "db", "serve", "completion"} <= set(top)
    assert complete(bash_script, ["atoll", ""]) == top


def test_bash_completes_the_db_sub_commands(bash_script: Path, commands: list[Command]) -> None:
    expected = names(commands, 1, ("db",))
    assert set(expected) == {"exec", "url", "snapshot", "snapshots", "restore"}
    assert complete(bash_script, ["atoll", "db", ""]) == expected


def test_bash_offers_every_option_of_a_command(bash_script: Path, commands: list[Command]) -> None:
    for command in commands:
        offered = set(complete(bash_script, ["atoll", *command.words, "--"]))
        own = {f for a in command.args for f in a.flags if f.startswith("--")}
        assert own | {"--server", "--token", "--profile", "--json", "--help"} == offered, (
            command.name
        )


def test_bash_skips_global_options_before_the_command(bash_script: Path) -> None:
    assert complete(bash_script, ["atoll", "--json", "app", ""]) == ["create", "list", "delete"]
    assert complete(bash_script, ["atoll", "app", "--json", "li"]) == ["list"]
    assert complete(bash_script, ["atoll", "--json", "push", "--me"]) == ["--message"]


def test_bash_offers_global_options_between_a_group_and_its_command(bash_script: Path) -> None:
    # `atoll app --json list` parses, so `atoll app --js<TAB>` must offer it.
    assert complete(bash_script, ["atoll", "app", "--js"]) == ["--json"]
    assert complete(bash_script, ["atoll", "db", "--pro"]) == ["--profile"]


def test_bash_completes_files_where_a_command_takes_no_more_words(
    bash_script: Path, tmp_path: Path
) -> None:
    (tmp_path / "site-one").mkdir()
    (tmp_path / "site-two.txt").write_text("x")
    (tmp_path / "other").write_text("x")
    got = complete(bash_script, ["atoll", "push", "si"], cwd=tmp_path)
    assert sorted(got) == ["site-one", "site-two.txt"]
    # A sub-command's word is not a command word further along the line.
    assert complete(bash_script, ["atoll", "push", "app", "cr"], cwd=tmp_path) == []


def test_bash_registers_the_function(bash_script: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash binary")
    done = subprocess.run(
        [
            "bash",
            "--norc",
            "--noprofile",
            "-c",
            'source "$1"; complete -p atoll',
            "bash",
            str(bash_script),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "-F _atoll" in done.stdout and done.stdout.rstrip().endswith(" atoll")


def test_zsh_script_parses(commands: list[Command], tmp_path: Path) -> None:
    script = completion.zsh(commands)
    assert "bashcompinit" in script
    assert "complete -o default -F _atoll atoll" in script
    if shutil.which("zsh") is None:
        pytest.skip("no zsh binary: the script's syntax was not checked")
    path = tmp_path / "atoll.zsh"
    path.write_text(script)
    done = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_fish_script_names_every_command(commands: list[Command]) -> None:
    script = completion.fish(commands)
    for word in names(commands, 0):
        assert f"-n '__fish_use_subcommand' -a '{word}'" in script, word
    for group in {c.words[0] for c in commands if len(c.words) > 1}:
        for word in names(commands, 1, (group,)):
            assert f"__fish_seen_subcommand_from {group}; and not" in script
            assert f"-a '{word}'" in script, f"{group} {word}"
    assert "-l 'from'" in script and "-l 'json'" in script


def test_fish_script_parses(commands: list[Command], tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("no fish binary: the script's syntax was not checked")
    path = tmp_path / "atoll.fish"
    path.write_text(completion.fish(commands))
    done = subprocess.run(["fish", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_the_completion_command_prints_the_scripts(
    capsys: pytest.CaptureFixture[str], commands: list[Command]
) -> None:
    from atoll.cli import run

    for shell, make in (
        ("bash", completion.bash),
        ("zsh", completion.zsh),
        ("fish", completion.fish),
    ):
        assert run(["completion", shell]) == 0
        assert capsys.readouterr().out == make(commands)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("atoll app cr", ["create"]),
        ("atoll pu", ["pull", "push"]),
        ("atoll push --a", ["--app"]),
        ("atoll db sn", ["snapshot", "snapshots"]),
    ],
)
def test_fish_completes_in_fish(
    commands: list[Command], tmp_path: Path, line: str, expected: list[str]
) -> None:
    if shutil.which("fish") is None:
        pytest.skip("no fish binary")
    path = tmp_path / "atoll.fish"
    path.write_text(completion.fish(commands))
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(row.split("\t")[0] for row in done.stdout.splitlines()) == expected
