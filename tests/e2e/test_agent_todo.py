"""The agent builds the todo example from an empty workspace against a real ``atoll serve``
(its model a scripted chat-completions server streaming every call in small pieces, all
numbered 0 as Ollama does), dev serves the app, and a second turn calls one of its
functions in dev and reads the answer."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.fake_llm import Answer, Script, fake_llm
from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]

TODO = Path(__file__).resolve().parents[2] / "examples" / "todo"


@pytest.fixture
def with_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Served, list[Answer], Script]]:
    answers: list[Answer] = []
    with fake_llm(answers) as (url, script):
        monkeypatch.setenv("ATOLL_LLM_BASE_URL", url)
        monkeypatch.setenv("ATOLL_LLM_MODEL", "fake")
        server = start_server(tmp_path / "data", tmp_path / "server.log")
        try:
            yield server, answers, script
        finally:
            stop_server(server.process)


def _dev(server: Served, method: str, path: str, **kwargs: object) -> httpx.Response:
    host = f"dev--todo--acme.localhost:{server.gateway_port}"
    return httpx.request(
        method,
        f"http://127.0.0.1:{server.gateway_port}{path}",
        headers={"Host": host},
        timeout=60,
        **kwargs,  # type: ignore[arg-type]
    )


def _served(server: Served) -> httpx.Response:
    deadline = time.monotonic() + 90
    got = _dev(server, "GET", "/api/todos")
    while got.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
        got = _dev(server, "GET", "/api/todos")
    return got


def test_the_agent_builds_the_todo_app_from_nothing_and_calls_it_in_dev(
    with_model: tuple[Served, list[Answer], Script],
) -> None:
    server, answers, script = with_model
    token = server.tenant("acme")
    server.cli("app", "create", "todo", token=token)
    files = sorted(p for p in TODO.rglob("*") if p.is_file())
    writes = [
        (
            f"call_{n}",
            "write_file",
            json.dumps({"path": p.relative_to(TODO).as_posix(), "content": p.read_text()}),
        )
        for n, p in enumerate(files)
    ]
    answers += [
        Answer(text="Let me look first.", calls=[("call_ls", "list_files", "{}")]),
        Answer(text="Writing the app.", calls=writes, split=11, same_index=True),
        Answer(text="Built a todo app: a list, a form and stats."),
    ]
    ran = server.cli("agent", "--app", "todo", "make me a todo app", token=token)
    assert "turn 1: done" in ran.stdout, ran.stdout
    assert "checks: the app builds" in ran.stdout
    # Every file arrived whole, though each call came in pieces under one index.
    for path in files:
        name = path.relative_to(TODO).as_posix()
        kept = httpx.get(
            f"{server.url}/api/v1/apps/todo/files/{name}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert kept.status_code == 200 and kept.text == path.read_text(), name
    assert _served(server).json() == []
    added = _dev(server, "POST", "/api/todos", json={"title": "buy milk"})
    assert added.status_code == 200 and added.json()["title"] == "buy milk"
    page = _dev(server, "GET", "/")
    assert page.status_code == 200 and "<html" in page.text.lower()

    asked = len(script.requests)
    answers += [
        Answer(calls=[("call_inv", "invoke_function", json.dumps({"function": "todos"}))]),
        Answer(text="The list has one todo."),
    ]
    ran = server.cli("agent", "--app", "todo", "does the list work?", token=token)
    assert "turn 2: done" in ran.stdout
    tool = script.requests[asked + 1]["messages"][-1]
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_inv"
    assert tool["content"].startswith("GET /api/todos in dev: HTTP 200")
    assert "buy milk" in tool["content"] and "dev serves revision" in tool["content"]


@pytest.mark.browser
def test_a_component_the_agent_writes_with_tailwind_is_styled_and_does_not_leak(
    with_model: tuple[Served, list[Answer], Script],
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_browser_todo import CHROMIUM_ARGS
    from tests.web.test_tailwind import COMPONENTS, OUTSIDE, PAGE, style

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium")
    server, answers, _ = with_model
    token = server.tenant("acme")
    server.cli("app", "create", "todo", token=token)
    files = {
        "components/Promo.jsx": COMPONENTS["Promo.jsx"],
        "components/Plain.jsx": COMPONENTS["Plain.jsx"],
        "pages/index.json": json.dumps(PAGE),
    }
    calls = [
        (f"call_{n}", "write_file", json.dumps({"path": path, "content": text}))
        for n, (path, text) in enumerate(files.items())
    ]
    answers += [Answer(calls=calls), Answer(text="A promo card styled with Tailwind.")]
    ran = server.cli("agent", "--app", "todo", "a promo card, blue, with Tailwind", token=token)
    assert "turn 1: done" in ran.stdout, ran.stdout
    deadline = time.monotonic() + 90
    while "<title>Tailwind</title>" not in _dev(server, "GET", "/").text:
        assert time.monotonic() < deadline, "dev never served the page"
        time.sleep(0.3)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"http://dev--todo--acme.localhost:{server.gateway_port}/")
            for name in ("Promo", "Plain"):
                page.wait_for_selector(
                    f"[data-component={name}][data-state=ready]", state="attached"
                )
            page.evaluate(OUTSIDE)
            assert style(page, "Promo", "#promo", "paddingTop") == "16px"
            assert style(page, "Promo", "#promo", "color") == "rgb(255, 255, 255)"
            assert style(page, "Promo", "#promo", "boxShadow") != "none"
            assert style(page, "", "#outside", "paddingTop") == "0px"
            assert style(page, "", "#outside", "backgroundColor") == "rgba(0, 0, 0, 0)"
            assert style(page, "Plain", "#plain", "boxShadow") == "none"
        finally:
            browser.close()
