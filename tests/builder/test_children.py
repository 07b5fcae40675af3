"""A build helper process answers one JSON object, or says in one line why it did not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atoll.builder.children import ChildFailed, json_child


def child(code: str) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", code]


def test_the_answer_of_a_child(tmp_path: Path) -> None:
    echo = (
        "import json, os, sys; print(json.dumps({'got': json.load(sys.stdin), 'cwd': os.getcwd()}))"
    )
    assert json_child(child(echo), [1, "a"], tmp_path, 30) == {
        "got": [1, "a"],
        "cwd": str(tmp_path),
    }


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("import sys; print('first', file=sys.stderr); sys.exit('the last line')", "the last line"),
        ("import sys; sys.exit(3)", "exit status 3"),
        ("print('{not json')", "its answer is not JSON"),
        ("print('[1, 2]')", "its answer is not a JSON object"),
        ("print('{\"a\": \"' + 'x' * 2000 + '\"}')", "exit status 0"),  # over max_answer
        ("import time; time.sleep(30)", "it took longer than 1 s"),
    ],
)
def test_a_child_without_a_usable_answer(tmp_path: Path, code: str, why: str) -> None:
    with pytest.raises(ChildFailed) as failed:
        json_child(child(code), {}, tmp_path, 1, max_answer=1000)
    assert str(failed.value) == why
    assert "\n" not in str(failed.value)


def test_a_command_that_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(ChildFailed, match="No such file"):
        json_child([str(tmp_path / "missing")], {}, tmp_path, 5)
