"""examples/todo rendered by the runtime: list, add through its function, toggle, stats."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import PlatformAssets

from .local_gateway import make_app, serve, todo_functions

pytestmark = pytest.mark.browser
TODO_APP = Path(__file__).parents[2] / "examples" / "todo"


@pytest.fixture(scope="module")
def todo_site(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> Iterator[str]:
    """examples/todo built and served with an in-memory ``todos`` function."""
    if not (TODO_APP / "pages" / "index.json").is_file():
        pytest.skip("examples/todo has no pages")
    root = tmp_path_factory.mktemp("todo")
    shutil.copytree(TODO_APP, root / "app")
    build_frontend(root / "app", root / "out")
    with serve(make_app(AppFrontend.load(root / "out", platform_assets), todo_functions())) as url:
        yield url


def test_todo_example_adds_and_toggles(browser: Any, todo_site: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(todo_site + "/")
    page.wait_for_selector("h1:has-text('Todos')")
    stats = "[data-component=TodoStats][data-state=ready]"
    page.wait_for_selector(stats, state="attached")
    page.fill("input[name=title]", "buy milk")
    page.press("input[name=title]", "Enter")
    page.wait_for_selector(".atoll-checkbox:has-text('buy milk')")
    assert page.input_value("input[name=title]") == ""
    text = "() => document.querySelector('[data-component=TodoStats]').shadowRoot.textContent"
    page.wait_for_function(f"{text}.includes('0 of 1 done')".replace("() => ", "() => (") + ")")
    # Controlled by `todo.done`: it shows checked once the PATCH and the refresh are done.
    page.click(".atoll-checkbox:has-text('buy milk') input")
    page.wait_for_function(f"{text}.includes('1 of 1 done')".replace("() => ", "() => (") + ")")
    assert page.is_checked(".atoll-checkbox:has-text('buy milk') input")
    context.close()
