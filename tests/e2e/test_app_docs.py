"""The todo app's generated docs in headless Chromium against a real ``atoll serve --demo``.

A screenshot goes to ``$ATOLL_TEST_ARTIFACTS/screenshots/app-docs.png`` (default
``test-artifacts/``).
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Served
from tests.e2e.test_browser_todo import browser
from tests.e2e.test_ide import sign_in

__all__ = ["browser"]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ATOLL_TEST_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"


def test_the_todo_apps_docs_show_its_functions_components_and_tables(
    served: Served, browser: Browser
) -> None:
    origin = f"http://prod--todo--demo.localhost:{served.gateway_port}"
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.goto(origin + "/_atoll/docs/")
    expect(page.get_by_role("heading", name="todo docs")).to_be_visible()
    functions = page.locator("#functions")
    for method in ("GET", "POST", "PATCH", "DELETE"):
        expect(functions.locator(".method", has_text=method)).to_be_visible()
    expect(page.locator("#model-NewTodo")).to_contain_text("minLength 1, maxLength 200")
    expect(page.locator("#component-TodoStats")).to_contain_text("todos")
    expect(page.locator("#pages")).to_contain_text("GET /api/todos")
    table = page.locator("#table-todos")
    for column in ("id", "title", "done", "created_at"):
        expect(table.get_by_role("cell", name=column, exact=True)).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-docs.png"), full_page=True)

    # Try it: Swagger UI over the same functions, calling them on this origin.
    page.get_by_role("link", name="Try the API").click()
    expect(page.locator("#operations-todos-get_todos")).to_be_visible(timeout=20_000)
    page.locator("#operations-todos-get_todos .opblock-summary").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "200", timeout=20_000
    )
    assert problems == []


def test_the_ides_docs_panel_shows_an_environments_docs(served: Served, browser: Browser) -> None:
    token = served.tenant("acme")
    served.cli("app", "create", "todo", "--from", str(REPO / "examples" / "todo"), token=token)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    sign_in(page, served, token)
    page.goto(served.url + "/#/apps/todo/docs/dev")
    expect(page.get_by_role("heading", name="Docs")).to_be_visible()
    frame = page.frame_locator("iframe.docs-frame")
    expect(frame.get_by_role("heading", name="todo docs")).to_be_visible(timeout=60_000)
    expect(frame.locator("#table-todos")).to_contain_text("created_at")
    page.screenshot(path=str(ARTIFACTS / "ide-docs.png"))
