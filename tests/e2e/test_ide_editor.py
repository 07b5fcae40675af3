"""The IDE's Editor and Preview in Debian's Chromium against a real ``atoll serve``: a
component edit swaps into the preview without a reload, a function edit shows new data, a
stale save shows both versions and overwrites nothing, a build error is shown at its line,
a page's JSON is checked while it is typed; an app page logs nothing in the console.

Screenshots of the panel go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (as tests/e2e/test_ide.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Frame, Page, Route, expect

from tests.e2e.conftest import Served
from tests.e2e.ide_browser import api, create_app, paste, screenshot, serving, sign_in, wait_built
from tests.e2e.test_front_door import LOCAL_HOSTS, Watched, browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

BUILD_WAIT = 60_000  # ms: a dev build on a busy two-core machine


class WatchedWithApps(Watched):
    """``Watched``, where the apps' origins (``*.localhost``, the preview) count as local."""

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host.endswith(".localhost") and host not in LOCAL_HOSTS:
            route.continue_()
        else:
            super()._route(route)


@contextmanager
def watched(
    browser: Browser,  # noqa: F811 (the fixture's name)
    width: int = 1280,
    scheme: Literal["light", "dark"] = "light",
) -> Iterator[Watched]:
    """A watched page in its own context (console errors of the preview frame count too)."""
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        yield WatchedWithApps(context.new_page())
    finally:
        context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("ide-editor")) as s:
        yield s


def shot(page: Page, name: str) -> None:
    """A screenshot of the IDE showing the panel (the editor with its preview, or another);
    the panel fits the window, so the page does not scroll."""
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    screenshot(page, f"editor-{name}", full_page=False)


def todo_app(server: Served, token: str, name: str) -> None:
    """An app from the todo example, through the API, with dev's first build done."""
    with api(server, token) as http:
        create_app(http, name, example="todo")
        wait_built(http, name, 1)


def preview_frame(page: Page) -> Frame:
    handle = page.locator("iframe.preview-frame").element_handle(timeout=BUILD_WAIT)
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    return frame


def open_file(page: Page, server: Served, app: str, path: str) -> None:
    page.goto(f"{server.url}/#/apps/{app}/editor/{path}")
    expect(page.locator(f".code-editor[data-path='{path}'] .cm-content")).to_be_visible(
        timeout=30_000
    )


def replace_text(page: Page, text: str) -> None:
    """Paste ``text`` over the editor's, then go to its top (markers are drawn for the lines
    in view only)."""
    paste(page, text)
    page.keyboard.press("Control+Home")


def source(server: Served, token: str, app: str, path: str) -> str:
    with api(server, token) as http:
        return http.get(f"/apps/{app}/files/{path}").text


def test_a_component_edit_swaps_in_without_a_reload_and_a_function_edit_shows_new_data(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("edits")
    with watched(browser) as w:
        page = w.page
        sign_in(page, server, token)
        page.get_by_role("button", name="New app").click()
        dialog = page.get_by_role("dialog", name="Create an app")
        dialog.get_by_label("Name").fill("todo")
        dialog.get_by_label("Start from").select_option("todo")
        dialog.get_by_role("button", name="Create").click()
        page.wait_for_url("**/#/apps/todo/overview")
        expect(page.locator("tr[data-env='dev']")).to_contain_text("revision 1", timeout=BUILD_WAIT)

        open_file(page, server, "todo", "components/TodoStats.jsx")
        frame = preview_frame(page)
        stats = frame.locator("atoll-component[data-component='TodoStats']")
        expect(stats).to_contain_text("done", timeout=BUILD_WAIT)
        frame.evaluate("window.__marker = 42")  # a reload would lose it

        jsx = source(server, token, "todo", "components/TodoStats.jsx")
        replace_text(page, jsx.replace("</strong> done", "</strong> finished"))
        expect(page.locator(".file-title .dirty-dot")).to_be_visible()
        page.keyboard.press("Control+s")
        expect(page.locator(".save-note")).to_have_text("Saved", timeout=30_000)
        expect(stats).to_contain_text("finished", timeout=BUILD_WAIT)
        assert frame.evaluate("window.__marker") == 42
        assert frame.evaluate("window.__atollSwaps") >= 1
        assert "finished" in source(server, token, "todo", "components/TodoStats.jsx")
        shot(page, "component-swapped")

        open_file(page, server, "todo", "functions/todos.py")
        py = source(server, token, "todo", "functions/todos.py")
        extra = '    return [{"id": 999, "title": "Made by the new function", "done": False}]\n'
        edited = py.replace('    return [{"id": r["id"]', extra + '    return [{"id": r["id"]', 1)
        assert edited != py
        replace_text(page, edited)
        page.keyboard.press("Control+s")
        expect(frame.get_by_text("Made by the new function")).to_be_visible(timeout=BUILD_WAIT)
        assert frame.evaluate("window.__marker") == 42  # new data, same page
        shot(page, "function-data")
        w.assert_clean()


def test_a_stale_save_shows_both_versions_and_overwrites_nothing(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("stale")
    todo_app(server, token, "todo")
    path = "components/TodoStats.jsx"
    with watched(browser) as w:
        page = w.page
        sign_in(page, server, token)
        open_file(page, server, "todo", path)
        original = source(server, token, "todo", path)

        # Someone else saves the same file first.
        theirs = original.replace("</strong> done", "</strong> completed by them")
        with api(server, token) as http:
            head = http.get("/apps/todo").json()["head_revision"]
            http.put(f"/apps/todo/files/{path}", params={"base": head}, content=theirs)

        mine = original.replace("</strong> done", "</strong> completed by me")
        replace_text(page, mine)
        page.get_by_role("button", name="Save", exact=True).click()
        conflict = page.get_by_role("region", name="Save conflict")
        expect(conflict).to_be_visible(timeout=30_000)
        expect(conflict.get_by_role("region", name="Your version (not saved)")).to_contain_text(
            "completed by me"
        )
        expect(conflict.locator(".conflict-side.theirs")).to_contain_text("completed by them")
        assert source(server, token, "todo", path) == theirs  # nothing overwritten
        # The browser logs the refused save's 409 (as test_ide.py's refused sign-in's 401).
        assert [e for e in w.errors if "409 (Conflict)" not in e] == []
        w.errors.clear()
        shot(page, "conflict")

        conflict.get_by_role("button", name="Save mine over theirs").click()
        expect(conflict).to_be_hidden(timeout=30_000)
        assert source(server, token, "todo", path) == mine
        w.assert_clean()


def test_a_build_error_is_shown_at_its_line_and_a_page_is_checked_while_typed(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("errors")
    todo_app(server, token, "todo")
    path = "components/TodoStats.jsx"
    with watched(browser) as w:
        page = w.page
        sign_in(page, server, token)
        open_file(page, server, "todo", path)
        lines = source(server, token, "todo", path).splitlines()
        lines[5] = "  const done = todos.filter((t) => t.done).length +;"  # line 6
        replace_text(page, "\n".join(lines) + "\n")
        page.keyboard.press("Control+s")
        status = page.locator(".status-build")
        expect(status).to_contain_text("failed", timeout=BUILD_WAIT)
        status.click()
        expect(page.locator(".problems")).to_contain_text(f"{path}:6")
        marker = page.locator(".cm-gutter-lint .cm-lint-marker-error")
        expect(marker).to_have_count(1, timeout=10_000)
        # The marker sits on line 6 of the gutter.
        line_of_marker = page.evaluate(
            """() => {
              const root = document.querySelector('.code-editor-host').shadowRoot;
              const m = root.querySelector('.cm-gutter-lint .cm-lint-marker-error');
              const top = m.closest('.cm-gutterElement').getBoundingClientRect().top;
              const nums = [...root.querySelectorAll('.cm-lineNumbers .cm-gutterElement')];
              const same = nums.find((n) => Math.abs(n.getBoundingClientRect().top - top) < 2);
              return same ? same.textContent : null;
            }"""
        )
        assert line_of_marker == "6"
        expect(page.locator(".preview-failed")).to_contain_text("did not build")
        shot(page, "build-error")

        open_file(page, server, "todo", "pages/index.json")
        page_json = json.loads(source(server, token, "todo", "pages/index.json"))
        page_json["root"]["type"] = "Stak"  # a warning: it would render as a fallback
        replace_text(page, json.dumps(page_json, indent=2))
        warning = page.locator(".cm-gutter-lint .cm-lint-marker-warning")
        expect(warning).to_have_count(1, timeout=10_000)
        warning.hover()
        expect(page.locator(".cm-tooltip-lint")).to_contain_text("unknown node type 'Stak'")
        page_json["root"]["type"] = 3  # an error: not a page
        replace_text(page, json.dumps(page_json, indent=2))
        expect(page.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(
            1, timeout=10_000
        )
        assert page.locator(".file-title .dirty-dot").is_visible()  # checked, not saved
        shot(page, "page-json-diagnostic")
        w.assert_clean()


def test_the_command_palette_opens_a_file(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("palette")
    todo_app(server, token, "todo")
    with watched(browser, width=1024, scheme="dark") as w:
        page = w.page
        sign_in(page, server, token)
        page.goto(f"{server.url}/#/apps/todo/editor")
        expect(page.get_by_role("tree", name="Files")).to_contain_text("TodoStats.jsx")
        page.keyboard.press("Control+k")
        palette = page.get_by_role("dialog", name="Command palette")
        palette.get_by_label("Command").fill("open todos.py")
        shot(page, "palette-dark")
        palette.get_by_label("Command").press("Enter")
        expect(
            page.locator(".code-editor[data-path='functions/todos.py'] .cm-content")
        ).to_be_visible()
        page.wait_for_url("**/#/apps/todo/editor/functions/todos.py")
        expect(page.locator(".preview-frame")).to_be_visible(timeout=BUILD_WAIT)
        shot(page, "editor-dark-1024")
        w.assert_clean()


def test_an_app_page_declares_its_icon_and_logs_nothing(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("shell")
    todo_app(server, token, "todo")
    with api(server, token) as http:
        url = http.get("/apps/todo/envs/dev").json()["url"]
    with watched(browser) as w:
        w.page.goto(url + "/")
        expect(w.page.locator("atoll-component[data-state='ready']")).to_be_visible(
            timeout=BUILD_WAIT
        )
        icon = w.page.locator("link[rel=icon]").get_attribute("href")
        assert icon and icon.startswith("data:image/svg+xml")
        assert w.page.evaluate("document.documentElement.lang") == "en"
        assert w.page.locator("meta[name=viewport]").count() == 1
        w.page.wait_for_timeout(500)  # a favicon request would have failed by now
        w.assert_clean()
