"""The design system in Chromium: every node in both themes, keyboard-only use of the two
examples, an axe-core audit, and screenshots of both examples in both themes (test artifacts).

Screenshots go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import PlatformAssets
from atoll.sdui.examples import NODE_EXAMPLES

from .conftest import prepare_fixture_app
from .example_apps import build_example, serve_example
from .local_gateway import make_app, serve, todo_functions

pytestmark = pytest.mark.browser
REPO = Path(__file__).parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("ATOLL_TEST_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"
SCHEMES = ["light", "dark"]
# What each node type renders, found in the gallery page.
NODE_SELECTORS = {
    "Stack": ".atoll-stack",
    "Row": ".atoll-row",
    "Grid": ".atoll-grid",
    "Card": ".atoll-card",
    "Heading": ".atoll-heading",
    "Text": ".atoll-text",
    "Image": "img.atoll-image",
    "Link": "a.atoll-link",
    "Markdown": ".atoll-markdown strong",
    "Form": "form.atoll-form",
    "Input": "input.atoll-input",
    "Select": "select.atoll-select",
    "Checkbox": ".atoll-checkbox input",
    "Button": "button.atoll-danger",
    "Table": ".atoll-table .atoll-badge",
    "List": "ul.atoll-list > li",
    "AppShell": ".atoll-shell nav a[aria-current=page]",
    "Tabs": "[role=tablist] [role=tab][aria-selected=true]",
    "Dialog": "button[aria-haspopup=dialog]",
    "Alert": ".atoll-alert.atoll-tone-danger[role=alert]",
    "Badge": ".atoll-badge.atoll-tone-success",
    "Stat": ".atoll-stat .atoll-stat-value",
    "Progress": "[role=progressbar][aria-valuenow='64']",
    "Divider": "hr.atoll-divider",
    "Icon": "svg.atoll-icon[role=img][aria-label=Done]",
    "EmptyState": ".atoll-empty-state",
    "Skeleton": ".atoll-skeleton .atoll-skeleton-line",
    "Chart": "figure.atoll-chart[data-kind=pie] svg path",
    "Component": "atoll-component[data-component=Counter][data-state=ready]",
}


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    return path


@pytest.fixture(scope="module")
def gallery_site(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> Iterator[str]:
    """The fixture app (its todos function, its Counter) plus a page of every node example."""
    root = tmp_path_factory.mktemp("gallery")
    app = prepare_fixture_app(root / "app")
    examples = [e for name in sorted(NODE_EXAMPLES) for e in NODE_EXAMPLES[name]]
    page = {
        "schemaVersion": 1,
        "title": "Gallery",
        "data": {"todos": {"function": "todos"}},
        "state": {"subscribe": True, "q": "", "stage": "lead"},
        "root": {"type": "Stack", "props": {"gap": 16}, "children": examples},
    }
    # At /customers, the route the AppShell example's navigation marks as the current page.
    (app / "pages" / "customers.json").write_text(json.dumps(page))
    build_frontend(app, root / "out")
    with serve(make_app(AppFrontend.load(root / "out", platform_assets), todo_functions())) as url:
        yield url


@pytest.fixture(scope="module")
def todo_frontend(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> AppFrontend:
    return build_example("todo", tmp_path_factory.mktemp("todo"), platform_assets)


@pytest.fixture(scope="module")
def crm_frontend(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> AppFrontend:
    return build_example("crm", tmp_path_factory.mktemp("crm"), platform_assets)


def new_page(browser: Any, scheme: str = "light") -> tuple[Any, Any, list[str]]:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def focused(page: Any) -> str:
    """A short description of the focused element: tag, role and text."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement; return e ? `${e.tagName.toLowerCase()}"
            "|${e.getAttribute('role') || ''}|${(e.getAttribute('aria-label') || (e.labels &&"
            " e.labels[0] && e.labels[0].textContent) || e.textContent || '').trim().slice(0, 40)}`"
            " : ''; }"
        )
    )


def tab_to(page: Any, want: str, limit: int = 30) -> None:
    """Press Tab until the focused element's description contains ``want``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if want in focused(page):
            return
    raise AssertionError(f"Tab never reached {want!r}; at {focused(page)!r}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_node_renders_in_both_themes(browser: Any, gallery_site: str, scheme: str) -> None:
    context, page, errors = new_page(browser, scheme)
    page.goto(gallery_site + "/customers")
    for node_type, selector in NODE_SELECTORS.items():
        page.wait_for_selector(selector, state="attached", timeout=10_000)
        assert page.locator(selector).count() >= 1, node_type
    assert set(NODE_SELECTORS) == set(NODE_EXAMPLES)
    assert page.locator(".atoll-unknown, .atoll-error").count() == 0
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(248, 250, 252)" if scheme == "light" else "rgb(11, 17, 32)")
    screenshot(page, f"gallery-{scheme}")
    assert errors == []
    context.close()


def test_todo_by_keyboard_only(browser: Any, todo_frontend: AppFrontend) -> None:
    with serve_example(todo_frontend, "todo") as url:
        context, page, errors = new_page(browser)
        page.goto(url + "/")
        page.wait_for_selector(".atoll-empty-state:has-text('Nothing to do yet')")
        tab_to(page, "input||What needs doing?")
        for title in ("buy milk", "call mum"):
            page.keyboard.type(title)
            page.keyboard.press("Enter")
            page.wait_for_selector(f".atoll-checkbox:has-text('{title}')")
        assert page.locator(".atoll-empty-state").count() == 0
        page.wait_for_selector(".atoll-badge:has-text('2 items')")
        # Complete: Tab to the checkbox, Space ticks it, and the done item is struck through.
        tab_to(page, "input||buy milk")
        page.keyboard.press("Space")
        label = page.locator(".atoll-checkbox:has-text('buy milk') input:checked + span")
        label.wait_for()
        assert label.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
        # Delete asks first; Escape cancels and gives focus back to the delete button.
        tab_to(page, "button||Delete buy milk")
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=alertdialog]:has-text('Delete this todo?')")
        assert focused(page) == "button||Cancel"
        page.keyboard.press("Escape")
        page.wait_for_selector("[role=alertdialog]", state="detached")
        assert focused(page) == "button||Delete buy milk"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert focused(page) == "button||Delete"
        page.keyboard.press("Enter")
        page.wait_for_selector(".atoll-checkbox:has-text('buy milk')", state="detached")
        page.wait_for_selector(".atoll-message.atoll-success:has-text('Todo deleted')")
        assert page.locator(".atoll-checkbox").count() == 1
        assert errors == []
        context.close()


def test_todo_shows_a_422_at_the_field(browser: Any, todo_frontend: AppFrontend) -> None:
    with serve_example(todo_frontend, "todo") as url:
        context, page, _ = new_page(browser)
        page.goto(url + "/")
        page.wait_for_selector(".atoll-empty-state")
        page.press("input[name=title]", "Enter")
        field = page.locator("input[name=title][aria-invalid=true]")
        field.wait_for()
        message = page.locator("#" + field.get_attribute("aria-describedby").replace(":", "\\:"))
        assert message.inner_text() == "required"
        assert page.locator(".atoll-message").count() == 0  # shown at the field, not as a toast
        page.keyboard.type("x")
        page.wait_for_selector("input[name=title]:not([aria-invalid])")
        context.close()


def test_dashboard_by_keyboard_only(browser: Any, crm_frontend: AppFrontend) -> None:
    with serve_example(crm_frontend, "crm") as url:
        context, page, errors = new_page(browser)
        page.goto(url + "/customers")
        page.wait_for_selector(".atoll-table tbody tr.atoll-clickable")
        # Sort by value, descending, from the keyboard.
        tab_to(page, "button||Value")
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        page.wait_for_selector("th[aria-sort=descending]:has-text('Value')")
        assert page.locator("tbody tr >> nth=0").inner_text().startswith("Margaret Hamilton")
        # A row opens the detail dialog; focus moves in and is trapped there.
        tab_to(page, "tr||Margaret Hamilton")
        row = focused(page)
        page.keyboard.press("Enter")
        dialog = page.locator("[role=dialog]:has-text('Apollo Software')")
        dialog.wait_for()
        for _ in range(12):
            page.keyboard.press("Tab")
            assert page.evaluate(
                "document.querySelector('[role=dialog]').contains(document.activeElement)"
            )
        # Tabs: arrow keys switch panels.
        page.locator("[role=tab]:has-text('Details')").focus()
        page.keyboard.press("ArrowRight")
        assert focused(page) == "button|tab|Activity"
        page.wait_for_selector("[role=tabpanel]:has-text('Owner: Grace')")
        # A confirm inside the dialog: Escape closes only the confirm, and focus comes back.
        tab_to(page, "button||Delete customer")
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=alertdialog]:has-text('Delete this customer?')")
        assert focused(page) == "button||Cancel"
        for _ in range(3):  # Delete, the close button, and round to Cancel: Tab stays inside
            page.keyboard.press("Tab")
        assert focused(page) == "button||Cancel"
        page.keyboard.press("Escape")
        page.wait_for_selector("[role=alertdialog]", state="detached")
        assert dialog.is_visible() and focused(page) == "button||Delete customer"
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")
        assert focused(page) == row
        # Filters reload the table; no match shows the empty state.
        tab_to(page, "input||Search")
        page.keyboard.type("zzz")
        page.wait_for_selector("td.atoll-empty:has-text('No customers match')")
        assert errors == []
        context.close()


def test_dashboard_form_dialog_shows_422_at_fields(browser: Any, crm_frontend: AppFrontend) -> None:
    with serve_example(crm_frontend, "crm") as url:
        context, page, _ = new_page(browser)
        page.goto(url + "/customers")
        page.wait_for_selector(".atoll-table tbody tr.atoll-clickable")
        tab_to(page, "button||New customer")
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=dialog]:has-text('They start as a lead')")
        assert focused(page) == "input||Name"
        page.keyboard.press("Enter")
        page.wait_for_selector("input[name=name][aria-invalid=true]")
        assert page.locator("input[name=email][aria-invalid=true]").count() == 1
        assert page.locator("[role=dialog] .atoll-field-error").all_inner_texts()[:2] == [
            "String should have at least 1 character",
            "String should match pattern '^[^@]+@[^@]+$'",
        ]
        page.fill("input[name=name]", "Hedy Lamarr")
        page.fill("input[name=email]", "hedy@hop.example")
        page.press("input[name=email]", "Enter")
        page.wait_for_selector(".atoll-message.atoll-success:has-text('Hedy Lamarr added')")
        page.keyboard.press("Escape")
        page.wait_for_selector("[role=dialog]", state="detached")
        page.wait_for_selector("tbody tr:has-text('Hedy Lamarr')")
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_examples_pass_axe_and_are_photographed(
    browser: Any, todo_frontend: AppFrontend, crm_frontend: AppFrontend, scheme: str
) -> None:
    if not AXE.is_file():
        pytest.skip("needs axe-core in node_modules (npm ci)")
    found: dict[str, list[dict[str, Any]]] = {}
    with serve_example(todo_frontend, "todo") as url:
        context, page, errors = new_page(browser, scheme)
        page.goto(url + "/")
        page.wait_for_selector(".atoll-empty-state")
        screenshot(page, f"todo-empty-{scheme}")
        for title in ("Buy oat milk", "Write the design doc", "Book the dentist"):
            page.fill("input[name=title]", title)
            page.press("input[name=title]", "Enter")
            page.wait_for_selector(f".atoll-checkbox:has-text('{title}')")
        page.click(".atoll-checkbox:has-text('Buy oat milk') input")
        page.wait_for_selector(".atoll-checkbox:has-text('Buy oat milk') input:checked")
        found["todo"] = axe_violations(page)
        screenshot(page, f"todo-{scheme}")
        page.set_viewport_size({"width": 390, "height": 800})
        screenshot(page, f"todo-mobile-{scheme}")
        assert errors == []
        context.close()
    with serve_example(crm_frontend, "crm") as url:
        context, page, errors = new_page(browser, scheme)
        page.goto(url + "/")
        page.wait_for_selector("figure.atoll-chart[data-kind=pie] svg")
        page.wait_for_selector(".atoll-table tbody td:has-text('Ada Lovelace')")
        found["crm /"] = axe_violations(page)
        screenshot(page, f"crm-overview-{scheme}")
        page.click(".atoll-shell-nav a:has-text('Customers')")
        page.wait_for_selector(".atoll-table tbody tr.atoll-clickable")
        found["crm /customers"] = axe_violations(page)
        screenshot(page, f"crm-customers-{scheme}")
        page.click("tbody tr >> nth=0")
        page.wait_for_selector("[role=dialog]")
        found["crm detail dialog"] = axe_violations(page)
        screenshot(page, f"crm-dialog-{scheme}")
        assert errors == []
        context.close()
    assert found == {k: [] for k in found}


def test_the_audit_reports_what_it_should(browser: Any, gallery_site: str) -> None:
    """The axe check above can fail: an unlabelled input and low-contrast text are reported."""
    if not AXE.is_file():
        pytest.skip("needs axe-core in node_modules (npm ci)")
    context, page, _ = new_page(browser)
    page.goto(gallery_site + "/about")
    page.wait_for_selector("#atoll-root *")
    page.evaluate(
        "() => document.body.insertAdjacentHTML('beforeend', '<input id=bare>"
        '<p style="color:#ddd;background:#fff">faint</p>\')'
    )
    assert {v["id"] for v in axe_violations(page)} >= {"label", "color-contrast"}
    context.close()
