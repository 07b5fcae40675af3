"""The agent over HTTP: a turn streamed as server-sent events, history, undo, and the errors
before anything runs (no model, bad input)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.agent.fake_llm import Answer, fake_llm

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

HELLO = 'def get() -> str:\n    return "hello"\n'


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Answer]]:
    answers: list[Answer] = []
    with fake_llm(answers) as (url, _script):
        monkeypatch.setenv("ATOLL_LLM_BASE_URL", url)
        monkeypatch.setenv("ATOLL_LLM_MODEL", "fake")
        yield answers


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201


def _turn(client: TestClient, headers: dict[str, str], prompt: str) -> list[dict[str, Any]]:
    events = []
    with client.stream(
        "POST", "/api/v1/apps/shop/agent/turns", json={"prompt": prompt}, headers=headers
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_a_turn_streams_its_steps_and_can_be_undone(
    client: TestClient, acme: dict[str, str], shop: None, model: list[Answer]
) -> None:
    write = json.dumps({"path": "functions/hello.py", "content": HELLO})
    model += [Answer(calls=[("c1", "write_file", write)], usage=(50, 10)), Answer(text="Added.")]
    events = _turn(client, acme, "add hello")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "usage" and "tool_call" in kinds and "checks" in kinds
    result = events[-1]
    assert result["kind"] == "result" and result["outcome"] == "done", result
    assert result["turn"] == 1 and result["changed"] == ["functions/hello.py"]
    assert result["prompt_tokens"] == 50
    files = client.get("/api/v1/apps/shop/files", headers=acme).json()
    assert "functions/hello.py" in json.dumps(files)
    [turn] = client.get("/api/v1/apps/shop/agent/turns", headers=acme).json()
    assert (turn["number"], turn["outcome"], turn["summary"]) == (1, "done", "Added.")
    assert turn["author"] == "acme/default" and turn["revision"] == result["revision"]
    undone = client.post("/api/v1/apps/shop/agent/undo", headers=acme)
    assert undone.status_code == 200 and undone.json()["turn"] == 1, undone.text
    assert "functions/hello.py" not in json.dumps(
        client.get("/api/v1/apps/shop/files", headers=acme).json()
    )
    again = client.post("/api/v1/apps/shop/agent/undo", headers=acme)
    assert again.status_code == 404 and "no turn to undo" in again.text


def test_a_model_failure_ends_the_stream_with_an_error_event(
    client: TestClient, acme: dict[str, str], shop: None, model: list[Answer]
) -> None:
    model.append(Answer(status=401, error="bad key"))
    events = _turn(client, acme, "anything")
    assert events[-1]["kind"] == "error" and events[-1]["code"] == "model_error"
    [turn] = client.get("/api/v1/apps/shop/agent/turns", headers=acme).json()
    assert turn["outcome"] == "failed"


def test_errors_before_a_turn_runs(
    client: TestClient, acme: dict[str, str], shop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATOLL_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ATOLL_LLM_MODEL", raising=False)
    r = client.post("/api/v1/apps/shop/agent/turns", json={"prompt": "hi"}, headers=acme)
    assert r.status_code == 409 and r.json()["error"]["code"] == "model_not_configured"
    assert "ATOLL_LLM_MODEL" in r.json()["error"]["message"]
    for body in ({"prompt": ""}, {"prompt": "x" * 20_001}, {"prompt": "hi", "extra": 1}, {}):
        r = client.post("/api/v1/apps/shop/agent/turns", json=body, headers=acme)
        assert r.status_code == 422, (body, r.text)
    r = client.post("/api/v1/apps/shop/agent/stop", headers=acme)
    assert r.status_code == 404 and "not working on this app" in r.text
    assert client.get("/api/v1/apps/shop/agent/turns", headers={}).status_code == 401
