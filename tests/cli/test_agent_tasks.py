"""Task files of ``atoll agent eval``: what they may hold, and how a check judges an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atoll.cli.agent_eval import scratch_name
from atoll.cli.agent_tasks import (
    MAX_TASK_BYTES,
    Answer,
    Check,
    TaskFileError,
    expand,
    judge,
    load_tasks,
    subset_mismatch,
)
from atoll.names import check_slug


@pytest.mark.parametrize(
    ("wanted", "got", "where"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, None),
        ({"a": {"b": [1]}}, {"a": {"b": [3, 1]}}, None),
        ([{"id": 2}], [{"id": 1}, {"id": 2, "x": 0}], None),
        ({"a": 1}, {"b": 1}, "$.a (missing)"),
        ({"a": True}, {"a": 1}, "$.a"),
        ({"a": 1}, {"a": True}, "$.a"),
        ({"a": 1}, {"a": 1.0}, None),
        ([{"id": 3}], [{"id": 1}], "$[0] (no such item)"),
        ({"a": 1}, [1], "$"),
    ],
)
def test_a_json_answer_holds_what_is_wanted(wanted: Any, got: Any, where: str | None) -> None:
    assert subset_mismatch(wanted, got) == where


def test_checks_save_values_that_later_requests_and_expectations_use() -> None:
    saved: dict[str, Any] = {}
    first = Check.model_validate(
        {"request": "post /api/books", "status": 201, "save": {"book": "id"}, "json": {"id": 4}}
    )
    assert first.method == "POST" and first.path == "/api/books"
    assert judge(first, Answer(201, '{"id": 4, "title": "Dune"}'), saved) == []
    assert saved == {"book": 4}
    assert expand({"id": "${book}", "path": "/x/${book}", "n": "${nope}"}, saved) == {
        "id": 4,
        "path": "/x/4",
        "n": "${nope}",
    }
    listed = Check.model_validate(
        {"request": "GET /api/books?page=1", "json": {"items": [{"id": "${book}"}]},
         "length": 2, "length_at": "items", "contains": "Dune", "matches": r'"id":\s*4',
         "excludes": ["Emma"]}
    )  # fmt: skip
    answer = Answer(200, '{"items": [{"id": 4, "title": "Dune"}, {"id": 5}]}')
    assert judge(listed, answer, saved) == []
    problems = judge(listed, Answer(200, '{"items": [{"id": 5, "title": "Emma"}]}'), saved)
    assert len(problems) == 5  # contains, excludes, matches, json, length


def test_a_wrong_status_or_an_answer_that_is_not_json_is_said_with_the_answer() -> None:
    check = Check.model_validate({"request": "GET /api/x", "json": {"a": 1}})
    [why] = judge(check, Answer(500, "KeyError: 'a'"), {})
    assert why.startswith("status 500, expected 200") and "KeyError" in why
    [why] = judge(check, Answer(200, "<html>"), {})
    assert "not JSON" in why


def _tasks(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "task.toml").write_text(text)
    return tmp_path


CHECKS = '[[checks]]\nrequest = "GET /"\n'
TASK = 'prompt = "p"\n' + CHECKS


def test_tasks_load_sorted_and_filtered_by_name(tmp_path: Path) -> None:
    folder = _tasks(tmp_path, b=TASK, a='prompts = ["one", "two"]\n' + CHECKS)
    assert [t.name for t in load_tasks(folder)] == ["a", "b"]
    [a] = load_tasks(folder, "a*")
    assert a.task.turns == ["one", "two"] and a.app is None
    with pytest.raises(TaskFileError, match="no task's name matches"):
        load_tasks(folder, "z*")
    assert [t.name for t in load_tasks(folder / "b")] == ["b"]  # one task's folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * (MAX_TASK_BYTES + 1), "larger than"),
        ('name = "Bad Name"\n' + TASK, "name: String should match"),
        (TASK.replace("[[checks]]\nrequest", "checks = []\n#"), "checks: List should have"),
        ('prompt = "p"\napp = "/etc"\n' + CHECKS, "inside the task's"),
        ('prompt = "p"\napp = "missing"\n' + CHECKS, "is not a folder"),
        ('prompt = "p"\ntimeout = -1\n' + CHECKS, "timeout"),
    ],
)
def test_bad_task_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    folder = _tasks(tmp_path, t=text)
    with pytest.raises(TaskFileError, match=message) as info:
        load_tasks(folder)
    assert info.value.message.startswith(str(folder / "t" / "task.toml"))


def test_a_starting_app_holding_a_link_is_refused(tmp_path: Path) -> None:
    folder = _tasks(tmp_path, t='prompt = "p"\napp = "app"\n' + CHECKS)
    (folder / "t" / "app").mkdir()
    (folder / "t" / "app" / "secret").symlink_to("/etc/passwd")
    with pytest.raises(TaskFileError, match="symlinks are not allowed"):
        load_tasks(folder)


def test_two_tasks_of_one_name_are_refused(tmp_path: Path) -> None:
    folder = _tasks(tmp_path, a='name = "same"\n' + TASK, b='name = "same"\n' + TASK)
    with pytest.raises(TaskFileError, match="'same' is"):
        load_tasks(folder)


@pytest.mark.parametrize("name", ["01-crud", "a" * 63, "x.y_z", "9"])
def test_scratch_app_names_are_slugs(name: str) -> None:
    made = scratch_name(name)
    check_slug(made, "app")
    assert made.startswith("eval-") and made != scratch_name(name)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agent-tasks"


def test_the_ten_example_tasks_load_each_with_a_reference_solution() -> None:
    tasks = load_tasks(EXAMPLES)
    assert len(tasks) == 10
    for task in tasks:
        assert task.task.description and (task.path.parent / "solution" / "atoll.toml").is_file()
        assert task.app is None or (task.app / "atoll.toml").is_file()
    started = {t.name for t in tasks if t.app is not None}
    assert {"03-chart-npm", "05-migration-column", "06-fix-cart-total"} <= started
