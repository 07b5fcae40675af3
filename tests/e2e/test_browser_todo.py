"""The demo todo app in headless Chromium against a real ``atoll serve --demo``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.conftest import Served

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_todo_renders_adds_and_shows_an_item(served: Served, browser: Browser) -> None:
    origin = f"http://dev--todo--demo.localhost:{served.gateway_port}"
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(origin + "/")
    expect(page.get_by_role("heading", name="Todos")).to_be_visible()
    page.get_by_placeholder("What needs doing?").fill("water the plants")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("water the plants")).to_be_visible()
    # The component's shadow root re-rendered with the new data.
    expect(page.get_by_text("of 1 done")).to_be_visible()
    assert errors == []

    # It is really stored: the function reads it back from the environment's database.
    got = httpx.get(
        f"http://127.0.0.1:{served.gateway_port}/api/todos",
        headers={"Host": origin.removeprefix("http://")},
        timeout=30,
    ).json()
    assert [t["title"] for t in got] == ["water the plants"]
    page.reload()
    expect(page.get_by_text("water the plants")).to_be_visible()
