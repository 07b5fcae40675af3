"""The example tasks in ``examples/agent-tasks`` through ``atoll agent eval`` against a real
``atoll serve``: their starting apps build and their seeds run; a model that does nothing
fails every task (no check passes by itself); a model that writes each task's reference
solution (``solution/``) passes every check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atoll.cli.agent_tasks import TaskFile, load_tasks
from tests.agent.fake_llm import Answer
from tests.e2e.conftest import Served

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]

TASKS = Path(__file__).resolve().parents[2] / "examples" / "agent-tasks"


def _tree(folder: Path | None) -> dict[str, str]:
    if folder is None:
        return {}
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def solving(task: TaskFile) -> list[Answer]:
    """The answers of a model that turns the starting app into the reference solution:
    files it changes or deletes are read first, as the tools require."""
    start, goal = _tree(task.app), _tree(task.path.parent / "solution")
    calls: list[tuple[str, str, str]] = []
    for path in sorted(set(start) | set(goal)):
        if start.get(path) == goal.get(path):
            continue
        n = len(calls)
        if path in start:
            calls.append((f"r{n}", "read_file", json.dumps({"path": path})))
            calls.append((f"d{n}", "delete_file", json.dumps({"path": path})))
        if path in goal:
            calls.append((f"w{n}", "write_file", json.dumps({"path": path, "content": goal[path]})))
    turns = [Answer(calls=calls, usage=(1000, 100)), Answer(text="Done.", usage=(1100, 5))]
    # A task of several turns: the later ones change nothing more.
    return turns + [Answer(text="Nothing left.") for _ in task.task.turns[1:]]


def test_a_model_that_does_nothing_fails_each_task_and_one_that_solves_them_passes(
    with_model: tuple[Served, list[Answer]],
) -> None:
    server, answers = with_model
    token = server.tenant("acme")
    tasks = load_tasks(TASKS)

    answers += [Answer(text="I changed nothing.") for task in tasks for _ in task.task.turns]
    idle = server.cli("--json", "agent", "eval", str(TASKS), token=token, check=False)
    assert idle.returncode == 1, idle.stderr
    report = json.loads(idle.stdout)
    for entry in report["tasks"]:
        # The starting app built and its seed ran: the checks ran, and failed.
        assert entry["error"] is None, entry
        assert entry["failed_checks"], entry
    assert report["passed"] == 0

    for task in tasks:
        answers += solving(task)
    solved = server.cli("--json", "agent", "eval", str(TASKS), token=token, check=False)
    report = json.loads(solved.stdout)
    failed = [t for t in report["tasks"] if not t["passed"]]
    assert failed == [], json.dumps(failed, indent=2)
    assert solved.returncode == 0 and report["pass_rate"] == 1.0
    assert json.loads(server.cli("--json", "app", "list", token=token).stdout)["apps"] == []
