"""The agent through the installed CLI against a real ``atoll serve`` whose model is a
scripted chat-completions server: a turn builds an app that dev then serves, its steps
print as they happen, history lists it, undo takes it back; no model is a clear error."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request

import pytest

from tests.agent.fake_llm import Answer
from tests.e2e.conftest import Served

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]

HELLO = 'def get() -> dict[str, str]:\n    return {"hello": "from the agent"}\n'
PAGE = json.dumps(
    {"schemaVersion": 1, "title": "Hi", "root": {"type": "Heading", "props": {"text": "Hi"}}}
)


def _hello(server: Served) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.gateway_port}/api/hello",
        headers={"Host": f"dev--shop--acme.localhost:{server.gateway_port}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_for(server: Served, status: int) -> tuple[int, str]:
    deadline = time.monotonic() + 60
    got = _hello(server)
    while got[0] != status and time.monotonic() < deadline:
        time.sleep(0.2)
        got = _hello(server)
    return got


def test_the_agent_builds_an_app_dev_serves_and_undo_takes_it_back(
    with_model: tuple[Served, list[Answer]],
) -> None:
    server, answers = with_model
    token = server.tenant("acme")
    server.cli("app", "create", "shop", token=token)
    answers += [
        Answer(
            text="I'll add a function and a page.",
            calls=[
                ("c1", "write_file", json.dumps({"path": "functions/hello.py", "content": HELLO})),
                ("c2", "write_file", json.dumps({"path": "pages/index.json", "content": PAGE})),
            ],
            split=7,
        ),
        Answer(text="Added a hello function and a page."),
    ]
    ran = server.cli("agent", "--app", "shop", "add a hello function", token=token)
    out = ran.stdout
    assert "I'll add a function and a page." in out
    assert "> write_file" in out and "checks: the app builds" in out
    assert "turn 1: done" in out and "Added a hello function and a page." in out
    assert "committed " in out and "functions/hello.py, pages/index.json" in out
    assert _wait_for(server, 200) == (200, '{"hello":"from the agent"}')

    history = server.cli("agent", "history", "--app", "shop", token=token).stdout
    assert "TURN" in history and "add a hello function" in history
    listed = json.loads(
        server.cli("--json", "agent", "history", "--app", "shop", token=token).stdout
    )
    assert listed[0]["outcome"] == "done" and listed[0]["revision"]

    undone = server.cli("agent", "undo", "--app", "shop", token=token)
    assert "undid turn 1" in undone.stdout
    assert _wait_for(server, 404)[0] == 404  # dev serves the app as it was: no function

    again = server.cli("agent", "undo", "--app", "shop", token=token, check=False)
    assert again.returncode == 1 and "no turn to undo" in again.stderr
    assert "Traceback" not in again.stderr


def test_without_a_model_the_agent_says_what_to_set(served: Served) -> None:
    token = served.tenant("acme")
    served.cli("app", "create", "shop", token=token)
    ran = served.cli("agent", "--app", "shop", "anything", token=token, check=False)
    assert ran.returncode == 1 and "ATOLL_LLM_MODEL" in ran.stderr
    assert "Traceback" not in ran.stderr
    usage = served.cli("agent", "--app", "shop", token=token, check=False)
    assert usage.returncode == 2 and "PROMPT" in usage.stderr
