"""The IDE's Agent, Data and Logs panels in Debian's Chromium against a real ``atoll serve``
whose model is a scripted chat-completions server: a turn's steps stream in and its diff
shows, then undo takes it back; a table is browsed and queried, and prod's SQL box asks
before it writes; an invocation's log line arrives live and the filters hide it.

Screenshots go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.agent.fake_llm import Answer, fake_llm
from tests.e2e.conftest import Served, start_server, stop_server
from tests.e2e.ide_browser import api, create_app, screenshot, serving, sign_in
from tests.e2e.test_front_door import browser, watched  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# What sticks out past the viewport, for a failing width check to name.
WIDEST = """[...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
    .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > innerWidth))
    .slice(0, 8).map((e) => e.tagName + "." + e.className)"""
HELLO = 'def get() -> dict[str, str]:\n    return {"hello": "world"}\n'


@pytest.fixture(scope="module")
def answers() -> list[Answer]:
    """The scripted model's answers still to give (each test adds its own)."""
    return []


@pytest.fixture(autouse=True)
def fresh_script(answers: list[Answer]) -> Iterator[None]:
    """Each test starts with no answers left over from one that failed mid-way."""
    yield
    for answer in answers:
        if answer.gate is not None:
            answer.gate.set()
    answers.clear()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, answers: list[Answer]) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ide-panels")
    with fake_llm(answers) as (url, _), pytest.MonkeyPatch.context() as env:
        env.setenv("ATOLL_LLM_BASE_URL", url)
        env.setenv("ATOLL_LLM_MODEL", "fake-coder")
        with serving(root) as s:
            yield s


class Tenant:
    """A tenant of the server with one app made from the todo example, served by dev."""

    def __init__(self, server: Served, name: str) -> None:
        self.server = server
        self.token = server.tenant(name)
        self.http = api(server, self.token)
        create_app(self.http, "todo", example="todo")
        deadline = time.monotonic() + 120
        while self.invoke("GET").get("status") != 200:
            assert time.monotonic() < deadline, "dev never served the todo app"
            time.sleep(0.3)

    def invoke(self, method: str, body: Any = None, env: str = "dev") -> dict[str, Any]:
        """Call the todo function through the gateway, as a visitor of ``env`` would."""
        payload = {"function": "todos", "env": env, "method": method, "body": body}
        got: dict[str, Any] = self.http.post("/apps/todo/invoke", json=payload).json()
        return got

    def sql(self, sql: str, env: str = "dev") -> list[list[Any]]:
        """Rows of one statement run through the API."""
        ran = self.http.post(f"/apps/todo/envs/{env}/db/exec", json={"sql": sql})
        assert ran.status_code == 200, ran.text
        rows: list[list[Any]] = ran.json()["rows"]
        return rows


@pytest.fixture
def tenants(server: Served) -> Iterator[Callable[[str], Tenant]]:
    """Make tenants with a todo app; their API clients close after the test."""
    made: list[Tenant] = []

    def make(name: str) -> Tenant:
        made.append(Tenant(server, name))
        return made[-1]

    yield make
    for tenant in made:
        tenant.http.close()


def open_panel(page: Page, server: Served, tenant: Tenant, path: str) -> None:
    sign_in(page, server, tenant.token)
    page.goto(f"{server.url}/#/apps/todo/{path}")


def test_an_agent_turn_streams_its_steps_shows_its_diff_and_is_undone(
    server: Served,
    tenants: Callable[[str], Tenant],
    answers: list[Answer],
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    tenant = tenants("agentic")
    gate = threading.Event()
    write = json.dumps({"path": "functions/hello.py", "content": HELLO})
    answers += [
        Answer(text="Let me look at the app first.", calls=[("c1", "list_files", "{}")]),
        Answer(
            text="Adding a hello function.",
            calls=[("c2", "write_file", write)],
            usage=(1200, 80),
            cost=0.0042,
            gate=gate,
        ),
        Answer(text="Added functions/hello.py: GET /api/hello answers hello.", usage=(1500, 30)),
    ]
    with watched(browser) as w:
        page = w.page
        open_panel(page, server, tenant, "agent")
        expect(page.get_by_text("Ask the agent to build or change todo")).to_be_visible()
        expect(page.locator(".panel-head .badge")).to_contain_text("fake-coder")
        prompt = page.get_by_label("Prompt")
        prompt.fill("Add a function that says hello")
        prompt.press("Control+Enter")

        # Mid-turn: the first answer's text and tool call are there, the turn is not over.
        turn = page.locator(".turn.live")
        first = turn.locator(".step.tool").first
        expect(first).to_contain_text("list_files", timeout=30_000)  # a busy machine
        expect(first).to_contain_text("ok")
        expect(turn.locator(".step.text").first).to_contain_text("Let me look at the app first.")
        expect(turn.get_by_text("Working…")).to_be_visible()
        expect(turn).to_have_attribute("data-state", "running")
        expect(page.get_by_role("button", name="Stop")).to_be_visible()
        assert turn.locator(".turn-end").count() == 0
        screenshot(page, "agent-streaming")
        gate.set()

        end = turn.locator(".turn-end")
        expect(end).to_contain_text("Done", timeout=60_000)
        expect(end).to_contain_text("Turn 1")
        expect(end).to_contain_text("GET /api/hello answers hello.")
        expect(turn.locator(".step.checks")).to_contain_text("Checks: the app builds")
        diff = end.locator(".diff-file[data-path='functions/hello.py']")
        expect(diff).to_contain_text("added")
        expect(diff.locator(".diff-line.add")).to_have_count(2)
        expect(diff).to_contain_text('return {"hello": "world"}')
        usage = end.get_by_label("Turn usage")
        expect(usage).to_contain_text("2700")  # prompt tokens of both answers
        expect(usage).to_contain_text("$0.0042")
        tool = turn.locator(".step.tool").nth(1)
        tool.locator("summary").click()
        expect(tool).to_contain_text("functions/hello.py")
        expect(page.locator(".history-item[data-turn='1']")).to_contain_text("Add a function")
        screenshot(page, "agent")

        assert tenant.http.get("/apps/todo/files/functions/hello.py").status_code == 200
        page.get_by_role("button", name="Undo last turn").click()
        dialog = page.get_by_role("dialog", name="Undo turn 1?")
        dialog.get_by_role("button", name="Undo turn").click()
        expect(page.get_by_role("status").filter(has_text="Turn 1 undone")).to_be_visible()
        expect(page.locator(".history-item[data-turn='1']")).to_contain_text("undone")
        expect(page.get_by_role("button", name="Undo last turn")).to_be_disabled()
        assert tenant.http.get("/apps/todo/files/functions/hello.py").status_code == 404

        # A past turn opens from the history with its diff.
        page.locator(".history-item[data-turn='1']").click()
        past = page.locator(".turn.past .diff-file[data-path='functions/hello.py']")
        expect(past).to_be_visible()
        w.assert_clean()


def test_a_turn_is_stopped_from_the_panel(
    server: Served,
    tenants: Callable[[str], Tenant],
    answers: list[Answer],
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    tenant = tenants("stopper")
    gate = threading.Event()
    answers += [Answer(text="Reading.", calls=[("s1", "list_files", "{}")], gate=gate)]
    with watched(browser) as w:
        page = w.page
        open_panel(page, server, tenant, "agent")
        page.get_by_label("Prompt").fill("Do something long")
        page.get_by_role("button", name="Run").click()
        expect(page.get_by_text("Working…")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text("Stopping at the next step…")).to_be_visible(timeout=30_000)
        gate.set()
        end = page.locator(".turn.live .turn-end")
        expect(end).to_contain_text("Stopped", timeout=60_000)
        expect(end).to_contain_text("Nothing was committed.")
        expect(page.locator(".history-item[data-turn='1']")).to_contain_text("Stopped")
        w.assert_clean()


def test_browse_a_table_query_it_and_prod_asks_before_a_write(
    server: Served,
    tenants: Callable[[str], Tenant],
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    tenant = tenants("dataful")
    for title in ("buy milk", "walk the dog", "<b>not bold</b>"):
        assert tenant.invoke("POST", {"title": title})["status"] == 200
    long = "x" * 180 + " the end"  # past what a cell shows, within the CHECK of 200
    tenant.sql(f"INSERT INTO todos (title) VALUES ('{long}')")
    with watched(browser) as w:
        page = w.page
        open_panel(page, server, tenant, "data")
        tables = page.get_by_role("navigation", name="Tables")
        expect(tables.get_by_role("link", name="todos")).to_contain_text("4")
        expect(page.get_by_label("Columns of todos")).to_contain_text("title")
        grid = page.get_by_role("table", name="Rows of todos")
        expect(grid).to_contain_text("buy milk")
        expect(grid).to_contain_text("<b>not bold</b>")  # as text, never as markup
        assert page.locator(".grid b").count() == 0
        expect(page.get_by_text("Rows 1–4 of 4")).to_be_visible()
        grid.get_by_role("button", name="x" * 20, exact=False).click()
        value = page.get_by_role("dialog", name="Value of title")
        expect(value).to_contain_text("the end")
        screenshot(page, "data")
        value.get_by_role("button", name="Close").click()

        page.get_by_role("link", name="SQL", exact=True).click()
        sql = page.get_by_label("SQL", exact=True)
        sql.fill("SELECT count(*) AS n FROM todos")
        sql.press("Control+Enter")
        result = page.get_by_role("table", name="Query result")
        expect(result).to_contain_text("4")
        expect(page.get_by_role("status").filter(has_text="1 row in")).to_be_visible()
        screenshot(page, "data-sql")

        # prod serves a release; its SQL box reads, and asks before it writes.
        release = tenant.http.post("/apps/todo/releases", json={"notes": "first"})
        assert release.json()["status"] == "ready", release.text
        promoted = tenant.http.post("/apps/todo/envs/prod/promote", json={})
        assert promoted.status_code == 200, promoted.text
        page.get_by_role("navigation", name="Environment").get_by_role("link", name="prod").click()
        expect(page.get_by_text("read-only in prod")).to_be_visible()
        sql = page.get_by_label("SQL", exact=True)
        sql.fill("INSERT INTO todos (title) VALUES ('from the IDE')")
        sql.press("Control+Enter")
        confirm = page.get_by_role("dialog", name="Change data in prod?")
        expect(confirm).to_contain_text("It was not run.")
        screenshot(page, "data-prod-confirm")
        confirm.get_by_role("button", name="Cancel").click()
        assert tenant.sql("SELECT count(*) FROM todos", "prod") == [[0]]
        page.get_by_role("button", name="Run").click()
        confirm.get_by_role("button", name="Run it on prod").click()
        # The two refusals (403 write_refused), as the browser logs them: expected.
        assert all("403" in e for e in w.errors) and len(w.errors) == 2, w.errors
        w.errors.clear()
        expect(page.get_by_role("status").filter(has_text="1 row changed")).to_be_visible()
        assert tenant.sql("SELECT count(*) FROM todos", "prod") == [[1]]

        # A snapshot, a change, and the snapshot restored.
        page.get_by_role("link", name="Snapshots").click()
        page.get_by_role("button", name="Take a snapshot").click()
        expect(page.get_by_role("status").filter(has_text="taken")).to_be_visible()
        tenant.sql("DELETE FROM todos", "prod")
        row = page.locator("tr[data-snapshot]").filter(has_text="manual").first
        row.get_by_role("button", name="Restore").click()
        restore = page.get_by_role("dialog", name="Restore prod from this snapshot?")
        screenshot(page, "data-restore")
        restore.get_by_role("button", name="Restore").click()
        expect(page.get_by_role("status").filter(has_text="Restored prod")).to_be_visible()
        assert tenant.sql("SELECT count(*) FROM todos", "prod") == [[1]]
        screenshot(page, "data-snapshots")
        w.assert_clean()


def test_an_invocation_log_line_arrives_live_and_filters_hide_it(
    server: Served,
    tenants: Callable[[str], Tenant],
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    tenant = tenants("logged")
    with watched(browser) as w:
        page = w.page
        open_panel(page, server, tenant, "logs")
        expect(page.locator(".live-state")).to_contain_text("Live")
        called = tenant.invoke("POST", {"title": "seen in the log"})
        assert called["status"] == 200
        rid = called["request_id"]
        line = page.locator(f"li.log-entry[data-request-id='{rid}']")
        expect(line).to_contain_text("todos")
        expect(line).to_contain_text("added todo")
        expect(line).to_contain_text(rid)
        screenshot(page, "logs")

        failed = tenant.invoke("POST", {"title": ""})  # 422: a warning
        assert failed["status"] == 422
        bad = page.locator(f"li.log-entry[data-request-id='{failed['request_id']}']")
        expect(bad).to_have_attribute("data-level", "warning")

        box = page.get_by_label("Filter logs")
        box.fill("no such text anywhere")
        expect(line).to_be_hidden()
        expect(page.get_by_text("Nothing matches")).to_be_visible()
        box.fill("added todo")
        expect(line).to_be_visible()
        expect(bad).to_be_hidden()
        box.press("Escape")
        expect(bad).to_be_visible()

        page.get_by_label("Level").select_option("warning")
        expect(line).to_be_hidden()
        expect(bad).to_be_visible()
        page.get_by_label("Level").select_option("debug")

        line.get_by_role("button", name=rid).click()
        expect(page.locator(".chip")).to_contain_text(rid)
        expect(bad).to_be_hidden()
        expect(line).to_be_visible()
        page.get_by_role("button", name="Show every request").click()
        expect(bad).to_be_visible()

        page.get_by_role("button", name="Pause").click()
        later = tenant.invoke("GET")
        expect(page.get_by_role("button", name="Resume (1 new)")).to_be_visible()
        held = page.locator(f"li.log-entry[data-request-id='{later['request_id']}']")
        expect(held).to_have_count(0)
        page.get_by_role("button", name="Resume (1 new)").click()
        expect(held).to_be_visible()
        w.assert_clean()


def test_the_panels_work_at_a_narrow_width_in_dark(
    server: Served,
    tenants: Callable[[str], Tenant],
    answers: list[Answer],
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    tenant = tenants("narrow")
    tenant.invoke("POST", {"title": "a todo with a rather long title to wrap or cut"})
    answers += [Answer(text="Nothing to change: the app already does that.", usage=(900, 12))]
    with watched(browser, width=380, scheme="dark") as w:
        page = w.page
        open_panel(page, server, tenant, "agent")
        page.get_by_label("Prompt").fill("Is there a todo list?")
        page.get_by_role("button", name="Run").click()
        expect(page.locator(".turn-end")).to_contain_text("Done", timeout=60_000)
        screenshot(page, "agent-narrow-dark")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, page.evaluate(WIDEST)
        for panel, ready in (("data", ".grid"), ("logs", "li.log-entry")):
            page.goto(f"{server.url}/#/apps/todo/{panel}")
            expect(page.locator(ready).first).to_be_visible()
            screenshot(page, f"{panel}-narrow-dark")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 380, page.evaluate(WIDEST)
        w.assert_clean()


def test_without_a_model_the_agent_panel_says_what_to_set(
    tmp_path: Path,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    with pytest.MonkeyPatch.context() as env:
        for name in ("ATOLL_LLM_BASE_URL", "ATOLL_LLM_MODEL", "ATOLL_LLM_API_KEY"):
            env.delenv(name, raising=False)
        bare = start_server(tmp_path / "data", tmp_path / "serve.log")
    try:
        token = bare.tenant("nomodel")
        with api(bare, token) as http:
            create_app(http, "todo")
        with watched(browser, scheme="dark") as w:
            page = w.page
            sign_in(page, bare, token)
            page.goto(f"{bare.url}/#/apps/todo/agent")
            note = page.get_by_role("alert").filter(has_text="No model is configured")
            expect(note).to_contain_text("ATOLL_LLM_BASE_URL")
            expect(note).to_contain_text("PUT /api/v1/agent/model")
            page.get_by_label("Prompt").fill("anything")
            page.get_by_label("Prompt").press("Control+Enter")
            expect(page.locator(".turn.live")).to_have_attribute("data-state", "ended")
            expect(note).to_contain_text("ATOLL_LLM_MODEL")
            screenshot(page, "agent-no-model-dark")
            assert all("409" in e for e in w.errors) and len(w.errors) == 1, w.errors
            w.errors.clear()
            w.assert_clean()
    finally:
        stop_server(bare.process)
