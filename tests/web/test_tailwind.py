"""Tailwind in components, in Chromium: styled inside its shadow root, nowhere else.

A screenshot goes to ``$ATOLL_TEST_ARTIFACTS/screenshots/tailwind.png``.
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

from .local_gateway import make_app, serve

pytestmark = pytest.mark.browser
REPO = Path(__file__).parents[2]
ARTIFACTS = Path(os.environ.get("ATOLL_TEST_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"

CLASSES = "bg-blue-600 text-white p-4 rounded shadow-lg"
COMPONENTS = {
    "Promo.jsx": f"""
export default function Promo({{ text }}) {{
  return (
    <div id="promo" className="{CLASSES}">
      <h1 id="promo-title" className="text-2xl font-bold">{{text}}</h1>
      <button id="promo-button" className="mt-2 px-3 py-1 rounded-full bg-white text-blue-600
        ring-2 ring-blue-300 translate-x-2 -rotate-2 hover:bg-blue-50">Shiny</button>
    </div>
  );
}}
""",
    # The same words, without a utility that has a value: not a Tailwind component.
    "Plain.jsx": """
export default function Plain() {
  return (
    <div id="plain" className="rounded shadow flex">
      <h1 id="plain-title">Plain heading</h1>
      <button id="plain-button">Plain button</button>
    </div>
  );
}
""",
}
PAGE = {
    "schemaVersion": 1,
    "title": "Tailwind",
    "root": {
        "type": "Stack",
        "children": [
            {"type": "Heading", "id": "title", "props": {"text": "Tailwind page", "level": 1}},
            {"type": "Component", "props": {"name": "Promo", "text": "Styled by Tailwind"}},
            {"type": "Component", "props": {"name": "Plain"}},
        ],
    },
}
# An element of the page itself with the very classes the component uses.
OUTSIDE = (
    "() => { const d = document.createElement('div'); d.id = 'outside';"
    f" d.className = '{CLASSES}'; d.textContent = 'Page div with the same classes';"
    " document.body.append(d); }"
)


@pytest.fixture(scope="module")
def tailwind_site(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("tailwind")
    app = root / "app"
    (app / "components").mkdir(parents=True)
    (app / "pages").mkdir()
    for name, text in COMPONENTS.items():
        (app / "components" / name).write_text(text)
    (app / "pages" / "index.json").write_text(json.dumps(PAGE))
    build_frontend(app, root / "out")
    with serve(make_app(AppFrontend.load(root / "out", platform_assets), {})) as url:
        yield url


def style(page: Any, where: str, selector: str, prop: str) -> str:
    """A computed style in a component's shadow root (``where``) or the document ('')."""
    root = f"document.querySelector('[data-component={where}]').shadowRoot" if where else "document"
    return str(page.evaluate(f"() => getComputedStyle({root}.querySelector('{selector}')).{prop}"))


def test_tailwind_styles_its_component_only(browser: Any, tailwind_site: str) -> None:
    context = browser.new_context(viewport={"width": 640, "height": 480})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(tailwind_site + "/")
    for name in ("Promo", "Plain"):
        page.wait_for_selector(f"[data-component={name}][data-state=ready]", state="attached")
    page.evaluate(OUTSIDE)

    assert style(page, "Promo", "#promo", "backgroundColor").startswith("oklch(0.546 0.245")
    assert style(page, "Promo", "#promo", "color") == "rgb(255, 255, 255)"
    assert style(page, "Promo", "#promo", "paddingTop") == "16px"  # 1rem of the page root
    assert style(page, "Promo", "#promo", "borderTopLeftRadius") == "4px"
    assert style(page, "Promo", "#promo", "boxShadow") != "none"
    # Utilities built on @property initial values: a ring and a rotation.
    assert "0px 0px 0px 2px" in style(page, "Promo", "#promo-button", "boxShadow")
    assert style(page, "Promo", "#promo-button", "translate").startswith("8px")
    assert style(page, "Promo", "#promo-button", "rotate") == "-2deg"
    # Preflight inside the component: headings and buttons reset, the sans font at the host.
    assert style(page, "Promo", "#promo-title", "fontSize") == "24px"
    assert style(page, "Promo", "#promo-title", "marginTop") == "0px"
    assert "Segoe UI" in style(page, "Promo", "#promo", "fontFamily")

    # Nothing leaks: the page's own element with the same classes, and the other component.
    assert style(page, "", "#outside", "backgroundColor") == "rgba(0, 0, 0, 0)"
    assert style(page, "", "#outside", "paddingTop") == "0px"
    assert style(page, "", "#outside", "boxShadow") == "none"
    assert style(page, "Plain", "#plain", "boxShadow") == "none"
    assert style(page, "Plain", "#plain", "display") == "block"
    assert style(page, "Plain", "#plain-title", "fontSize") == "32px"  # the browser's h1
    assert style(page, "Plain", "#plain-title", "marginTop") != "0px"
    assert style(page, "Plain", "#plain-button", "backgroundColor") != "rgba(0, 0, 0, 0)"
    hoisted = page.evaluate("() => document.adoptedStyleSheets.length")
    assert hoisted == 0  # no document-level CSS from the component
    assert errors == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tailwind.png"), full_page=True)
    context.close()
