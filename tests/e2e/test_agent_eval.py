"""``atoll agent eval`` through the installed CLI against a real ``atoll serve`` whose model
is a scripted chat-completions server: one task solved and one not is a pass rate of 0.5
with its turns, tool calls and tokens counted and the scratch apps gone; a bad task file
or an empty folder is a one-line usage error; no model stops the run with the server's
message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.agent.fake_llm import Answer
from tests.e2e.conftest import ATOLL, Served, start_server, stop_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]

HELLO = 'def get() -> dict[str, str]:\n    return {"hello": "from the agent"}\n'
GREET = 'def get(name: str = "you") -> dict[str, str]:\n    return {"greeting": "bye " + name}\n'
NOTES = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
LIST_NOTES = """import atoll


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, body FROM notes ORDER BY id")]
"""


def _task(folder: Path, text: str, app: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "task.toml").write_text(text)
    for path, content in (app or {}).items():
        (folder / "app" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "app" / path).write_text(content)
    return folder


def _write(call: str, path: str, content: str) -> tuple[str, str, str]:
    return (call, "write_file", json.dumps({"path": path, "content": content}))


def test_eval_reports_a_solved_and_a_failed_task_and_deletes_its_apps(
    with_model: tuple[Served, list[Answer]], tmp_path: Path
) -> None:
    server, answers = with_model
    token = server.tenant("acme")
    tasks = tmp_path / "tasks"
    _task(
        tasks / "01-hello",
        """
prompt = "Add a function hello that greets."
app = "app"
seed = "INSERT INTO notes VALUES (7, 'kept')"

[[checks]]
name = "hello greets"
request = "GET /api/hello"
json = { hello = "from the agent" }

[[checks]]
request = "GET /api/notes"
json = [{ id = 7, body = "kept" }]
length = 1
save = { note = "0.id" }

[[checks]]
request = "GET /api/notes?after=${note}"
contains = "kept"
""",
        app={"functions/notes.py": LIST_NOTES, "migrations/0001_notes.sql": NOTES},
    )
    _task(
        tasks / "02-greet",
        """
name = "greet"
prompt = "Add a function greet that says hi."

[[checks]]
request = "GET /api/greet?name=ann"
json = { greeting = "hi ann" }
""",
    )
    answers += [
        Answer(calls=[_write("c1", "functions/hello.py", HELLO)], usage=(100, 10)),
        Answer(text="Added hello.", usage=(120, 5), cost=0.0125),
        Answer(
            calls=[_write("c2", "functions/greet.py", GREET), ("c3", "list_files", "{}")],
            usage=(200, 20),
        ),
        Answer(text="Added greet.", usage=(210, 4)),
    ]
    ran = server.cli("agent", "eval", str(tasks), token=token, check=False)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    report = json.loads(ran.stdout)
    assert (report["passed"], report["total"], report["pass_rate"]) == (1, 2, 0.5)
    assert report["tokens"] == {"prompt": 630, "completion": 39, "total": 669}
    assert (report["turns"], report["tool_calls"]) == (2, 3)
    # What the server reported (0.0125), plus the configured prices (none: 0) of the rest.
    assert report["cost_usd"] == pytest.approx(0.0125)
    hello, greet = report["tasks"]
    assert hello["name"] == "01-hello" and hello["passed"], hello
    assert hello["checks"] == {"passed": 3, "total": 3}
    assert (hello["tool_calls"], hello["tokens"], hello["outcomes"]) == (1, 235, ["done"])
    assert hello["summaries"] == ["Added hello."] and hello["error"] is None
    assert greet["name"] == "greet" and not greet["passed"]
    assert greet["outcomes"] == ["done"] and greet["tool_calls"] == 2
    [failed] = greet["failed_checks"]
    assert failed["check"] == "GET /api/greet?name=ann"
    assert "$.greeting" in failed["reasons"][0] and "bye ann" in failed["reasons"][0]
    assert "[1/2] passed 01-hello" in ran.stderr and "[2/2] FAILED greet" in ran.stderr
    assert "1 of 2 tasks passed" in ran.stderr
    apps = json.loads(server.cli("--json", "app", "list", token=token).stdout)["apps"]
    assert apps == []


def _bare_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    env.update(ATOLL_SERVER="http://127.0.0.1:9", ATOLL_TOKEN="t", XDG_CONFIG_HOME=str(cwd))
    return subprocess.run(
        [str(ATOLL), *args], env=env, capture_output=True, text=True, timeout=60, cwd=cwd
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('prompt = "x"\n[[checks]]\nrequest = "GET /api/x"\nstatuss = 200\n', "checks.0.statuss"),
        ('prompt = "x\n', "not TOML"),
        ('[[checks]]\nrequest = "GET /api/x"\n', "give either prompt or prompts"),
        ('prompt = "x"\napp = "../.."\n[[checks]]\nrequest = "GET /"\n', "inside the task's"),
        ('prompt = "x"\n[[checks]]\nrequest = "GET api"\n', "checks.0.request"),
        ('prompt = "x"\n[[checks]]\nrequest = "GET /"\nmatches = "("\n', "not a regular"),
    ],
    ids=["unknown-key", "not-toml", "no-prompt", "app-outside", "bad-request", "bad-regex"],
)
def test_a_bad_task_file_is_a_one_line_usage_error(tmp_path: Path, text: str, message: str) -> None:
    tasks = tmp_path / "tasks"
    task = _task(tasks / "bad", text)
    ran = _bare_cli("agent", "eval", str(tasks), cwd=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    assert str(task / "task.toml") in ran.stderr and message in ran.stderr


def test_a_starting_app_through_a_link_and_an_empty_folder_are_refused(tmp_path: Path) -> None:
    task = _task(tmp_path / "tasks" / "linked", 'prompt = "x"\napp = "app"\n[[checks]]\n'
                 'request = "GET /"\n')  # fmt: skip
    (task / "app").symlink_to(tmp_path)
    ran = _bare_cli("agent", "eval", str(tmp_path / "tasks"), cwd=tmp_path)
    assert ran.returncode == 2 and "goes through a link" in ran.stderr, ran.stderr
    (tmp_path / "empty").mkdir()
    ran = _bare_cli("agent", "eval", str(tmp_path / "empty"), cwd=tmp_path)
    assert ran.returncode == 2 and "no tasks" in ran.stderr and "Traceback" not in ran.stderr


def test_without_a_model_eval_stops_with_the_servers_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATOLL_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ATOLL_LLM_MODEL", raising=False)
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        token = server.tenant("acme")
        _task(tmp_path / "tasks" / "one", 'prompt = "x"\n[[checks]]\nrequest = "GET /"\n')
        ran = server.cli("--json", "agent", "eval", str(tmp_path / "tasks"), token=token,
                         check=False)  # fmt: skip
        assert ran.returncode == 1 and "ATOLL_LLM_MODEL" in ran.stderr, ran.stderr
        assert "model_not_configured" in ran.stderr and "Traceback" not in ran.stderr
        apps = json.loads(server.cli("--json", "app", "list", token=token).stdout)["apps"]
        assert apps == []
    finally:
        stop_server(server.process)
