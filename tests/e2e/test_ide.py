"""The IDE in Debian's Chromium against a real ``atoll serve``: signing in, the dashboard
(create an app from an example, delete one), signing out; the theme, on the page before
the IDE's code runs and following the system's until one is chosen; its
Content-Security-Policy, and what a tenant app's page (another origin) can do with the
IDE's session: nothing.

Screenshots go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Served
from tests.e2e.ide_browser import api, create_app, screenshot, serving, sign_in
from tests.e2e.test_front_door import browser, watched  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("ide")) as s:
        yield s


def test_sign_in_create_an_app_from_an_example_delete_it_and_sign_out(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("acme")
    with watched(browser) as w:
        page = w.page
        page.goto(server.url + "/")
        page.get_by_label("API token").fill("atl_wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signin-message")).to_contain_text("not valid")
        w.errors.clear()  # the refused sign-in's 401, as the browser logs it
        screenshot(page, "signin")

        sign_in(page, server, token)
        expect(page.get_by_text("No apps yet")).to_be_visible()
        assert "atoll_session" not in page.evaluate("document.cookie")  # HttpOnly
        screenshot(page, "dashboard-empty")

        page.get_by_role("button", name="New app").click()
        dialog = page.get_by_role("dialog", name="Create an app")
        dialog.get_by_label("Name").fill("mytodo")
        dialog.get_by_label("Start from").select_option("todo")
        screenshot(page, "create-dialog")
        dialog.get_by_role("button", name="Create").click()
        page.wait_for_url("**/#/apps/mytodo/overview")
        dev = page.locator("tr[data-env='dev']")
        expect(dev).to_contain_text("revision 1", timeout=60_000)
        screenshot(page, "overview")

        page.get_by_role("link", name="Apps", exact=True).click()
        card = page.locator("li[data-app='mytodo']")
        expect(card.locator(".env-badge").first).to_contain_text("dev")
        screenshot(page, "dashboard")
        card.get_by_role("button", name="Delete").click()
        confirm = page.get_by_role("dialog", name="Delete mytodo?")
        expect(confirm.get_by_role("button", name="Delete app")).to_be_disabled()
        confirm.get_by_label("App name").fill("mytodo")
        confirm.get_by_role("button", name="Delete app").click()
        expect(page.get_by_text("No apps yet")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Open the IDE")).to_be_visible()
        w.assert_clean()
    listed = httpx.get(server.url + "/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
    assert listed.json() == []


def test_the_ide_works_at_a_narrow_width_in_dark(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("narrow")
    with api(server, token) as http:
        create_app(http, "shop")
    with watched(browser, width=380, scheme="dark") as w:
        sign_in(w.page, server, token)
        expect(w.page.locator("li[data-app='shop']")).to_be_visible()
        background = w.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 20, 26)"
        width = w.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380  # nothing pushes the page sideways
        screenshot(w.page, "dashboard-narrow-dark")
        w.page.locator("li[data-app='shop'] .app-name").click()
        expect(w.page.locator("tr[data-env='prod']")).to_be_visible()
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 380
        screenshot(w.page, "overview-narrow-dark")
        w.assert_clean()


def test_the_theme_is_set_before_the_ides_code_runs_and_follows_the_system(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("themes")
    context = browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        sign_in(page, server, token)
        root = page.locator("html")
        expect(root).to_have_attribute("data-theme", "dark")
        # Without the IDE's code the page has its theme already: the <head> script set it.
        page.route("**/main-*.js", lambda route: route.abort())
        page.reload()
        assert page.locator("#ide").inner_html() == ""
        expect(root).to_have_attribute("data-theme", "dark")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 20, 26)"
        page.emulate_media(color_scheme="light")
        expect(root).to_have_attribute("data-theme", "light")
        # A chosen theme holds whatever the system's does.
        page.evaluate("localStorage.setItem('atoll-ide-theme', 'dark')")
        page.reload()
        expect(root).to_have_attribute("data-theme", "dark")
        page.emulate_media(color_scheme="dark")
        page.emulate_media(color_scheme="light")
        expect(root).to_have_attribute("data-theme", "dark")
        # The toggle, from Dark to Auto: the system's theme again, followed.
        page.unroute("**/main-*.js")
        page.reload()
        page.get_by_role("button", name="Dark").click()
        expect(page.get_by_role("button", name="Auto")).to_be_visible()
        expect(root).to_have_attribute("data-theme", "light")
        page.emulate_media(color_scheme="dark")
        expect(root).to_have_attribute("data-theme", "dark")
    finally:
        context.close()


def test_every_ide_page_has_a_strict_policy(server: Served) -> None:
    token = server.tenant("policy")
    with httpx.Client(base_url=server.url) as http:
        signed = http.post("/api/v1/session", json={"token": token})
        assert signed.status_code == 200
        page = http.get("/")
        header = page.headers["content-security-policy"]
        policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
        assert policy["connect-src"] == "'self'" and policy["form-action"] == "'none'"
        assert policy["frame-src"] == f"http://*.localhost:{server.gateway_port}"
        assert '<div id="ide"></div>' in page.text and "<script>" not in page.text
        for src in re.findall(r'src="([^"]+)"', page.text):  # the theme's script and the IDE's
            asset = http.get(src)
            assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
        assert http.get("/ide/assets/0000000000000000/main.js").status_code == 404
        assert http.get("/ide/assets/x/..%2f..%2fpyproject.toml").status_code == 404


def test_a_tenant_app_page_cannot_use_the_ide_session(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
) -> None:
    token = server.tenant("victim")
    app_origin = f"http://dev--shop--victim.localhost:{server.gateway_port}"
    context = browser.new_context()  # the app's origin is a *.localhost one: no Watched
    try:
        page = context.new_page()
        sign_in(page, server, token)
        # A page of another origin, as a tenant's app is, tries the API with the cookie.
        page.goto(app_origin + "/")
        outcome = page.evaluate(
            """async (api) => {
                const out = {};
                try {
                    const r = await fetch(api + "/api/v1/apps", {credentials: "include"});
                    out.read = await r.text();
                } catch (e) { out.read = "blocked: " + e.name; }
                try {
                    await fetch(api + "/api/v1/apps", {
                        method: "POST", credentials: "include", mode: "no-cors",
                        headers: {"content-type": "text/plain"},
                        body: JSON.stringify({name: "planted"}),
                    });
                    out.write = "sent";
                } catch (e) { out.write = "blocked: " + e.name; }
                out.cookie = document.cookie;
                return out;
            }""",
            server.url,
        )
        assert outcome["read"].startswith("blocked"), outcome
        assert "atoll_session" not in outcome["cookie"]
    finally:
        context.close()
    listed = httpx.get(server.url + "/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
    assert listed.json() == []  # the cross-origin POST changed nothing
