"""``site`` for the browser tests is a real ``atoll serve`` with the fixture app pushed to it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import start_server, stop_server
from tests.web.conftest import prepare_fixture_app


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Origin of the fixture app's dev environment on a fresh ``atoll serve``."""
    root = tmp_path_factory.mktemp("atoll-serve")
    served = start_server(root / "data", root / "serve.log")
    try:
        created = served.cli("--json", "tenant", "create", "web", token=served.admin_token)
        token = json.loads(created.stdout)["token"]
        app = prepare_fixture_app(root / "webfixture")
        served.cli("--json", "app", "create", "webfixture", "--from", str(app), token=token)
        yield f"http://dev--webfixture--web.localhost:{served.gateway_port}"
    finally:
        stop_server(served.process)
