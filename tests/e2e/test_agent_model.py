"""A tenant's own model through the installed CLI: ``atoll agent model`` shows, sets and
unsets it, a turn runs on it and prints its cost, and history lists the cost."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.fake_llm import Answer, Script, fake_llm
from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]


@pytest.fixture
def server_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Served, str, list[Answer], Script]]:
    for name in ("ATOLL_LLM_BASE_URL", "ATOLL_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    # The scripted model listens on loopback, which tenants may use only when allowed.
    monkeypatch.setenv("ATOLL_AGENT_TENANT_MODEL_PRIVATE_HOSTS", "true")
    answers: list[Answer] = []
    with fake_llm(answers) as (url, script):
        server = start_server(tmp_path / "data", tmp_path / "server.log")
        try:
            yield server, url, answers, script
        finally:
            stop_server(server.process)


def test_a_tenant_sets_its_model_runs_a_turn_on_it_and_sees_the_cost(
    server_and_model: tuple[Served, str, list[Answer], Script],
) -> None:
    server, url, answers, script = server_and_model
    token = server.tenant("acme")
    shown = server.cli("agent", "model", token=token)
    assert "no model" in shown.stdout
    bad = server.cli(
        "agent", "model", "set", "--base-url", "ftp://x/v1", "--model", "m", token=token,
        check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "http(s) URL" in bad.stderr and "Traceback" not in bad.stderr
    server.cli(
        "agent", "model", "set", "--base-url", url, "--model", "acme-coder", "--api-key-stdin",
        "--price-input", "2", "--price-output", "10", token=token, stdin="sk-acme\n",
    )  # fmt: skip
    shown = server.cli("agent", "model", token=token)
    assert "acme-coder" in shown.stdout and "a key" in shown.stdout
    assert "sk-acme" not in shown.stdout
    listed = json.loads(server.cli("--json", "agent", "model", token=token).stdout)
    assert listed["source"] == "tenant" and listed["api_key_set"] is True

    server.cli("app", "create", "shop", token=token)
    code = "def get() -> int:\n    return 1\n"
    hello = json.dumps({"path": "functions/hello.py", "content": code})
    answers += [
        Answer(calls=[("c1", "write_file", hello)], usage=(100_000, 1_000)),
        Answer(text="Added hello.", usage=(120_000, 2_000)),
    ]
    ran = server.cli("agent", "--app", "shop", "add hello", token=token)
    assert "turn 1: done" in ran.stdout and "$0.4700" in ran.stdout, ran.stdout
    assert {r["model"] for r in script.requests} == {"acme-coder"}
    assert {h["authorization"] for h in script.headers} == {"Bearer sk-acme"}
    history = server.cli("agent", "history", "--app", "shop", token=token).stdout
    assert "COST" in history and "$0.4700" in history

    # A turn over its budget stops, and says so.
    answers += [Answer(calls=[("c2", "list_files", "{}")], usage=(300_000, 0))] * 3
    over = server.cli(
        "agent", "--app", "shop", "look around", "--max-cost", "0.5", token=token, check=False
    )
    assert over.returncode == 1 and "cost budget ($0.5) ran out" in over.stdout, over.stdout

    unset = server.cli("agent", "model", "unset", token=token)
    assert "back to the server's model" in unset.stdout
    assert "no model" in server.cli("agent", "model", token=token).stdout
