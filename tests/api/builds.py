"""Waiting for an environment's build the way the CLI does: by polling the API."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

BUILD_TIMEOUT = 120.0


def env_of(client: TestClient, headers: dict[str, str], app: str, env: str = "dev") -> Any:
    """``GET /apps/{app}/envs/{env}``, which must answer 200."""
    r = client.get(f"/api/v1/apps/{app}/envs/{env}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def build_done(env: Any, revision: str) -> bool:
    """Whether ``env`` shows the build of ``revision`` finished."""
    build = env["build"]
    return bool(build and build["revision"] == revision and build["state"] != "building")


def wait_for_build(
    client: TestClient, headers: dict[str, str], app: str, revision: str, env: str = "dev"
) -> Any:
    """Poll the environment until the build of ``revision`` is ready or failed; its EnvOut."""
    deadline = time.monotonic() + BUILD_TIMEOUT
    while True:
        found = env_of(client, headers, app, env)
        if build_done(found, revision):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
