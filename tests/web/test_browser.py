"""The SDUI runtime and components in headless Chromium: isolation, shared React, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('[data-component={name}]').shadowRoot"


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    """A fresh page on the fixture app's home, with every request URL recorded."""
    context = browser.new_context()
    tab = context.new_page()
    tab.requests = []  # type: ignore[attr-defined]
    tab.on("request", lambda r: tab.requests.append(r.url))
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(site + "/")
    tab.wait_for_selector("#title")
    yield tab
    context.close()


def in_shadow(page: Any, name: str, script: str) -> Any:
    """Evaluate ``script`` (an expression over ``root``) in a component's shadow root."""
    root = SHADOW.format(name=name)
    page.wait_for_selector(f"[data-component={name}][data-state=ready]", state="attached")
    return page.evaluate(f"() => {{ const root = {root}; return {script}; }}")


def background(page: Any, name: str, selector: str) -> str:
    """Computed background colour of an element inside a component."""
    return str(
        in_shadow(page, name, f"getComputedStyle(root.querySelector('{selector}')).backgroundColor")
    )


def test_component_css_does_not_leak(page: Any) -> None:
    red = "rgb(255, 0, 0)"
    assert background(page, "RedButton", "#red") == red
    assert background(page, "Plain", "#plain") != red
    page_button = page.evaluate(
        "getComputedStyle(document.querySelector('.atoll-button')).backgroundColor"
    )
    assert page_button != red
    # Two instances adopt the very same stylesheet object (parsed once).
    page.wait_for_selector("#red-again[data-state=ready]", state="attached")
    shared = page.evaluate(
        "() => { const [a, b] = [...document.querySelectorAll('[data-component=RedButton]')]"
        ".map((h) => h.shadowRoot.adoptedStyleSheets);"
        " return a.length === 2 && a.every((sheet, i) => sheet === b[i]); }"
    )
    assert shared
    # Page styles do not leak in either: inherited font and colour are reset at the host.
    font = in_shadow(page, "Plain", "getComputedStyle(root.querySelector('#plain')).fontFamily")
    assert "system-ui" not in font


def test_three_components_fetch_react_once(page: Any) -> None:
    page.wait_for_selector("#after-broken")
    for name in ("RedButton", "Plain", "Counter"):
        in_shadow(page, name, "root.childElementCount")
    vendor = [url for url in page.requests if "/vendor/" in url]
    react_dom = [url for url in vendor if "react-dom-client" in url]
    assert len(react_dom) == 1, vendor
    assert len(vendor) == len(set(vendor)), vendor
    assets = [url for url in page.requests if "/_atoll/assets/" in url]
    assert len(assets) == len(set(assets)), assets  # preloaded modules and sheets are reused
    components = [url for url in assets if url.endswith(".js")]
    assert len(components) >= 3
    sizes = page.evaluate(
        "async (urls) => Promise.all(urls.map(async (u) => (await fetch(u)).text()))"
        ".then((texts) => texts.map((t) => t.length))",
        components,
    )
    assert max(sizes) < 4000, dict(zip(components, sizes, strict=True))


def test_unknown_type_and_throwing_component_render_in_place(page: Any) -> None:
    page.wait_for_selector("#after-broken")
    assert page.inner_text(".atoll-unknown").startswith('Unknown node type "Sparkline"')
    message = in_shadow(page, "Broken", "root.querySelector('[role=alert]').textContent")
    assert "Broken component exploded on purpose" in message
    assert page.is_visible("text=Still here after the broken parts")
    fragile = page.locator(".atoll-error", has_text="cannot join a list or object into text")
    assert fragile.count() == 1 and "Text #fragile failed" in fragile.inner_text()
    assert page.is_visible("#title")
    assert in_shadow(page, "Plain", "root.querySelector('#plain').textContent") == "« plain »"


def test_font_face_is_hoisted_and_used(page: Any) -> None:
    in_shadow(page, "Fancy", "root.querySelector('#narrow')")
    page.wait_for_function("() => document.fonts.check('20px \"Fixture Mono__Fancy\"')")
    loaded = page.evaluate(
        "[...document.fonts].filter(f => f.family.replace(/\"/g, '') === 'Fixture Mono__Fancy')"
        ".map(f => f.status)"
    )
    assert loaded == ["loaded"]
    family = in_shadow(page, "Fancy", "getComputedStyle(root.querySelector('#narrow')).fontFamily")
    assert "Fixture Mono__Fancy" in family
    # A monospace font makes "iiiiiiiiii" exactly as wide as "WWWWWWWWWW"; the serif fallback
    # would not.
    page.wait_for_function(
        f"() => {{ const root = {SHADOW.format(name='Fancy')};"
        " const w = (id) => root.getElementById(id).getBoundingClientRect().width;"
        " return Math.abs(w('narrow') - w('wide')) < 0.5; }"
    )
    registered = page.evaluate("CSS.supports('(--spin__Fancy: 10deg)')")
    assert registered


def test_portal_modal_is_styled_by_component_css(page: Any) -> None:
    in_shadow(page, "Dialog", "root.querySelector('#open')")
    page.locator("[data-component=Dialog] #open").click()  # a real click: #open gets focus
    page.wait_for_function(
        f"() => {SHADOW.format(name='Dialog')}.querySelector('[data-atoll-portal] .dialog')"
    )
    assert background(page, "Dialog", "[data-atoll-portal] .dialog") == "rgb(10, 20, 30)"
    assert page.evaluate("document.querySelector('body > [role=dialog], body .dialog')") is None
    # The dialog took focus (inside the shadow root): Escape closes it and focus goes back.
    assert (
        in_shadow(page, "Dialog", "root.activeElement && root.activeElement.className") == "dialog"
    )
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => !{SHADOW.format(name='Dialog')}.querySelector('.dialog')")
    assert in_shadow(page, "Dialog", "root.activeElement && root.activeElement.id") == "open"
    in_shadow(page, "Dialog", "root.querySelector('#open').click()")
    page.wait_for_function(f"() => {SHADOW.format(name='Dialog')}.querySelector('.dialog')")
    in_shadow(page, "Dialog", "root.querySelector('#close').click()")
    page.wait_for_function(f"() => !{SHADOW.format(name='Dialog')}.querySelector('.dialog')")
    in_shadow(page, "Dialog", "root.querySelector('#tip').click()")
    page.wait_for_function(f"() => {SHADOW.format(name='Dialog')}.querySelector('.tip')")
    assert background(page, "Dialog", "[data-atoll-portal] .tip") == "rgb(1, 2, 3)"
    below = in_shadow(
        page,
        "Dialog",
        "root.querySelector('.tip').getBoundingClientRect().top"
        " >= root.querySelector('#tip').getBoundingClientRect().bottom - 1",
    )
    assert below


def test_events_and_focus_work_inside_shadow_root(page: Any) -> None:
    assert in_shadow(page, "Counter", "root.querySelector('#count').textContent") == "5"
    page.locator("[data-component=Counter] #inc").click()
    page.wait_for_function(
        f"() => {SHADOW.format(name='Counter')}.querySelector('#count').textContent === '6'"
    )
    page.wait_for_selector("text=changes: 6")
    # The node that failed (joining an object into text) recovers once state changes.
    page.wait_for_selector("#fragile:has-text('recovered')")
    page.locator("[data-component=Counter] #field").fill("typed")
    assert in_shadow(page, "Counter", "root.querySelector('#echo').textContent") == "typed"
    assert in_shadow(page, "Counter", "root.activeElement && root.activeElement.id") == "field"


def test_todo_form_calls_function_and_refreshes(page: Any) -> None:
    page.wait_for_selector("text=No todos yet.")
    assert page.is_disabled("#todo-add")
    page.fill("input[placeholder='What needs doing?']", "write tests")
    page.click("#todo-add")
    page.wait_for_selector(".atoll-list li >> text=write tests")
    assert page.input_value("input[placeholder='What needs doing?']") == ""
    assert page.is_visible("text=1 todos")
    # A form of named inputs: its values are `form.<name>`, and it clears after success.
    page.fill("input[name=title]", "second")
    page.click("#quick-add")
    page.wait_for_selector(".atoll-list li >> text=second")
    assert page.input_value("input[name=title]") == ""
    assert page.is_visible("text=2 todos")
    # An action after a refresh reads the refreshed data.
    page.wait_for_selector(".atoll-message.atoll-success:has-text('now 2 todos')")


def test_client_side_navigation_and_data_error_state(page: Any, site: str) -> None:
    page.evaluate("window.__marker = 42")
    page.click("text=About")
    page.wait_for_selector("text=About this fixture")
    assert page.url == site + "/about"
    assert page.evaluate("window.__marker") == 42  # no full reload
    page.wait_for_selector("text=Could not load failing")
    page.wait_for_selector("#echoed:has-text('echo: start')")
    fetched = f"{SHADOW.format(name='Fetcher')}.getElementById('fetched').textContent"
    page.wait_for_function(f"() => {fetched} === 'from a component'")  # @atoll/ui call()
    page.fill("#search input", "typed query")
    page.wait_for_selector("#echoed:has-text('echo: typed query')")
    assert page.is_visible("button:has-text('Retry')")
    assert page.inner_text(".atoll-markdown strong") == "bold"
    page.go_back()
    page.wait_for_selector("#title")
    assert page.evaluate("window.__marker") == 42


def test_javascript_urls_never_run(page: Any, site: str) -> None:
    page.click("text=About")
    page.wait_for_selector("#evil-button")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("#evil-button")
    page.click("text=Evil link")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert page.url == site + "/about" and dialogs == []


def test_navigation_after_a_new_release_loads_the_page_for_real(page: Any, site: str) -> None:
    page.evaluate("window.__marker = 42")
    # What a tab opened on an older release sees: its build's page JSON is gone.
    page.evaluate("window.__atoll.boot.pagesBase = '/_atoll/pages/0000000000000000'")
    page.click("text=About")
    page.wait_for_selector("text=About this fixture")
    assert page.url == site + "/about"
    assert page.evaluate("window.__marker") is None  # a full load happened
