"""What the IDE's browser tests share: a server for a test module, a tenant's API client and
apps, signing in, screenshots, and pasting into the editor.

Screenshots go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ATOLL_TEST_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"


@contextmanager
def serving(root: Path) -> Iterator[Served]:
    """``atoll serve`` with its data and log under ``root``, stopped afterwards."""
    server = start_server(root / "data", root / "serve.log")
    try:
        yield server
    finally:
        stop_server(server.process)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """``ide-<name>.png`` in the artifacts: the whole page, or the viewport (a dialog's
    backdrop, a panel that fits the window)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ide-{name}.png"), full_page=full_page)


def sign_in(page: Page, server: Served, token: str) -> None:
    """Sign in at the front door with a tenant's token, until the dashboard shows."""
    page.goto(server.url + "/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps", level=1)).to_be_visible(timeout=30_000)


def api(server: Served, token: str, timeout: float = 120) -> httpx.Client:
    """A client of the server's API with a tenant's token (the caller closes it)."""
    return httpx.Client(
        base_url=server.url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def create_app(http: httpx.Client, name: str, example: str | None = None) -> None:
    """A new app through the API, empty or from one of the examples."""
    body = {"name": name} if example is None else {"name": name, "example": example}
    created = http.post("/apps", json=body)
    assert created.status_code == 201, created.text


def wait_built(http: httpx.Client, app: str, number: int) -> dict[str, object]:
    """Dev's build of revision ``number`` (or a later one) once it is no longer building."""
    for _ in range(600):
        build = http.get(f"/apps/{app}/envs/dev").json()["build"]
        if build and build["number"] >= number and build["state"] != "building":
            return dict(build)
        time.sleep(0.1)
    raise AssertionError(f"dev of {app} never built r{number}")


def paste(page: Page, text: str) -> None:
    """Put ``text`` in the open editor as a paste over everything (CodeMirror handles the
    event itself; typed text would get Chromium's non-breaking spaces in indentation)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.locator(".cm-content").evaluate(
        """(el, text) => {
          const data = new DataTransfer();
          data.setData("text/plain", text);
          const init = { clipboardData: data, bubbles: true, cancelable: true };
          el.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        text,
    )
