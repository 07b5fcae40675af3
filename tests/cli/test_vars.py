"""``KEY=VALUE`` words of ``atoll vars set``: split at the first ``=``, ``KEY=-`` from stdin,
mistakes stopped before anything is sent (and never echoing what may be a secret)."""

from __future__ import annotations

import io

import pytest

from atoll.cli.output import Exit
from atoll.cli.vars import parse_assignments


def test_words_split_at_the_first_equals_sign() -> None:
    got = parse_assignments(["A=1", "URL=postgres://u:p@h/db?x=y", "EMPTY="])
    assert got == {"A": "1", "URL": "postgres://u:p@h/db?x=y", "EMPTY": ""}


PEM = "-----BEGIN KEY-----\nabc\n-----END KEY-----"


@pytest.mark.parametrize(
    ("piped", "value"),
    [("s3cr3t\n", "s3cr3t"), ("s3cr3t\r\n", "s3cr3t"), ("s3cr3t", "s3cr3t"), (PEM + "\n", PEM)],
)
def test_a_dash_reads_the_value_from_stdin(
    monkeypatch: pytest.MonkeyPatch, piped: str, value: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    assert parse_assignments(["TOKEN=-", "PLAIN=x"]) == {"TOKEN": value, "PLAIN": "x"}


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["hunter2-secret"], "assignment 1 has no name and '='"),
        (["A=1", "=hunter2-secret"], "assignment 2 has no name and '='"),
        (["A=1", "A=2"], "A is given twice"),
        (["A=-", "B=-"], "only one value can come from stdin"),
    ],
)
def test_mistakes_stop_with_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], words: list[str], says: str
) -> None:
    with pytest.raises(Exit) as stopped:
        parse_assignments(words)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert "hunter2" not in err
