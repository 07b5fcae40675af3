"""Fixtures for browser tests: the fixture app built and served, and headless Chromium.

Set ``ATOLL_WEB_TEST_URL`` to an app origin (e.g. ``http://dev--webfixture--demo.localhost:8080``)
that serves ``tests/web/fixture_app`` to run the same tests against a real gateway; push the
folder ``prepare_fixture_app(path)`` writes (it adds the font file the @font-face test needs).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import PlatformAssets, build_platform_assets

from .local_gateway import make_app, serve, todo_functions

FIXTURE_APP = Path(__file__).parent / "fixture_app"
SYSTEM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]


def prepare_fixture_app(target: Path) -> Path:
    """Copy the fixture app and give it a real font file (taken from the system)."""
    shutil.copytree(FIXTURE_APP, target)
    if not SYSTEM_FONT.is_file():
        pytest.skip(f"needs {SYSTEM_FONT} for the @font-face test")
    shutil.copy(SYSTEM_FONT, target / "components" / "fixture-mono.ttf")
    return target


@pytest.fixture(scope="session")
def platform_assets() -> PlatformAssets:
    """The vendor bundle and runtime, built once."""
    return build_platform_assets()


@pytest.fixture(scope="session")
def fixture_frontend(
    tmp_path_factory: pytest.TempPathFactory, platform_assets: PlatformAssets
) -> AppFrontend:
    """The fixture app, built the way a release is built."""
    root = tmp_path_factory.mktemp("fixture")
    app_dir = prepare_fixture_app(root / "app")
    build_frontend(app_dir, root / "out")
    return AppFrontend.load(root / "out", platform_assets)


@pytest.fixture(scope="session")
def site(fixture_frontend: AppFrontend) -> Iterator[str]:
    """Base URL of the fixture app: a real gateway if configured, else the local stand-in."""
    external = os.environ.get("ATOLL_WEB_TEST_URL")
    if external:
        yield external.rstrip("/")
        return
    with serve(make_app(fixture_frontend, todo_functions())) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module.

    Not per session: Playwright's sync API keeps an event loop running while it is open,
    which would break async tests that run later in the same session.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
