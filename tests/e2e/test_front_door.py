"""The front door and the API docs of a real ``atoll serve`` in headless Chromium, offline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e.conftest import Served, start_server, stop_server
from tests.e2e.test_browser_todo import CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
# A name that is not loopback-looking, as a real deployment has: Swagger UI treats
# "localhost" and "127.0.0.1" specially (it skips its online validator for them).
SERVER_NAME = "atoll.test"
RESOLVE = f"--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP {SERVER_NAME} 127.0.0.1"
LOCAL_HOSTS = ("127.0.0.1", "localhost", SERVER_NAME)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``atoll serve --demo`` for the module."""
    root = tmp_path_factory.mktemp("front-door")
    s = start_server(root / "data", root / "serve.log", "--demo")
    yield s
    stop_server(s.process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (one per module: see tests/web/conftest.py)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        args = [a for a in CHROMIUM_ARGS if not a.startswith("--host-resolver-rules=")]
        b = p.chromium.launch(executable_path=CHROMIUM, args=[*args, RESOLVE])
        yield b
        b.close()


class Watched:
    """A page whose requests off this machine are aborted and recorded, with its errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def assert_clean(self) -> None:
        """Nothing left this machine and nothing went wrong in the page."""
        assert self.outside == []
        assert self.errors == []


@contextmanager
def watched(
    browser: Browser, width: int = 1280, scheme: Literal["light", "dark"] = "light"
) -> Iterator[Watched]:
    """A new page under watch, in its own context with this width and colour scheme."""
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


@pytest.mark.browser
def test_the_front_door_shows_what_this_is_and_leads_to_the_docs(
    server: Served, browser: Browser
) -> None:
    url = server.url.replace("127.0.0.1", SERVER_NAME)
    with watched(browser) as w:
        page = w.page
        page.goto(url + "/")
        expect(page.get_by_role("heading", name="Atoll control plane", level=1)).to_be_visible()
        for name in ("API docs", "OpenAPI document", "Page JSON Schema", "The control-plane API"):
            expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_text(f"export ATOLL_SERVER={url}")).to_be_visible()
        expect(page.get_by_role("heading", name="Open the IDE")).to_be_visible()
        # The stylesheet and the mark loaded under the page's policy.
        assert page.eval_on_selector("main", "m => getComputedStyle(m).maxWidth") == "704px"
        assert page.eval_on_selector("img.mark", "i => i.complete && i.naturalWidth") > 0

        page.get_by_role("link", name="API docs", exact=True).click()
        page.wait_for_url(url + "/api/docs")
        apps = page.locator(".opblock-summary-path[data-path='/api/v1/apps']")
        expect(apps.first).to_be_visible(timeout=30_000)
        expect(page.locator(".opblock")).not_to_have_count(0)

        # "Try it out" calls the API from the page: the docs' policy lets it reach this server.
        health = page.locator("#operations-health-healthz_healthz_get")
        health.locator(".opblock-summary").click()
        health.get_by_role("button", name="Try it out").click()
        health.get_by_role("button", name="Execute").click()
        expect(
            health.locator(".live-responses-table tr.response .response-col_status")
        ).to_have_text("200", timeout=15_000)
        expect(health.locator(".live-responses-table .microlight").first).to_contain_text('"ok"')
        w.assert_clean()


@pytest.mark.browser
def test_the_guides_open_as_text(server: Served, browser: Browser) -> None:
    with watched(browser) as w:
        w.page.goto(server.url + "/")
        w.page.get_by_role("link", name="The control-plane API", exact=True).click()
        w.page.wait_for_url(server.url + "/docs/api.md")
        expect(w.page.locator("body")).to_contain_text("# The control-plane API")
        w.assert_clean()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("scheme", "background"), [("light", "rgb(251, 251, 249)"), ("dark", "rgb(18, 22, 21)")]
)
def test_the_front_door_follows_the_colour_scheme_and_fits_a_phone(
    server: Served, browser: Browser, scheme: Literal["light", "dark"], background: str
) -> None:
    with watched(browser, width=360, scheme=scheme) as w:
        w.page.goto(server.url + "/")
        heading = w.page.get_by_role("heading", name="Atoll control plane", level=1)
        expect(heading).to_be_visible()
        body_colour = w.page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor")
        assert body_colour == background
        # Nothing is wider than the phone: long commands wrap instead.
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 360
        w.assert_clean()


def _raw_get(server: Served, target: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    """Send a request line exactly as written (no client normalises its path)."""
    port = urlsplit(server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "target",
    [
        "/api/docs/assets/../../package.json",
        "/api/docs/assets/../../../README.md",
        "/api/docs/assets/..%2f..%2fpackage.json",
        "/api/docs/assets/swagger-ui-bundle.js.map",
        "/assets/../frontdoor.py",
        "/assets/..%2f..%2fserver.py",
        "/docs/../README.md",
    ],
)
def test_paths_that_climb_out_are_404s(server: Served, target: str) -> None:
    status, body = _raw_get(server, target)
    assert status == 404, body[:200]
    assert b'"not_found"' in body


def test_the_visitors_host_is_escaped_on_the_page(server: Served) -> None:
    # Starlette drops a Host that is no host name, so the page names this server instead.
    status, body = _raw_get(server, "/", host='evil"><img src=x onerror=alert(1)>')
    assert status == 200 and b"evil" not in body
    assert f"export ATOLL_SERVER={server.url}".encode() in body
    # A host name may hold '&' and quotes: they reach the page as text, never as markup.
    status, body = _raw_get(server, "/", host="a&lt;b&gt;'c")
    assert status == 200
    assert b"export ATOLL_SERVER=http://a&amp;lt;b&amp;gt;&#x27;c\n" in body
    assert b"a&lt;b" not in body


def test_head_on_the_pages(server: Served) -> None:
    for path in ("/", "/api/docs", "/api/docs/assets/swagger-ui-bundle.js"):
        r = httpx.head(server.url + path, timeout=10)
        assert r.status_code == 200, path
        assert r.content == b""
        assert r.headers["x-content-type-options"] == "nosniff"


def test_serve_prints_urls_and_commands_to_paste(server: Served) -> None:
    log = server.log.read_text()
    docs = f"{server.url}/api/docs"
    assert f"atoll: control plane {server.url}  (open it in a browser; API docs {docs})" in log
    assert "/api/v1  (docs" not in log
    login = f"atoll login --profile admin --server {server.url} --token {server.admin_token}"
    assert f"\n    {login}\n" in log
    assert f"    export ATOLL_SERVER={server.url}\n" in log
    demo_token = log.split("    export ATOLL_TOKEN=")[1].split()[0]
    assert demo_token.startswith("atl_")
    # The printed lines work as printed: the server and the demo tenant's token answer.
    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {demo_token}"}, timeout=10
    )
    assert me.status_code == 200 and me.json()["tenant"] == "demo"
