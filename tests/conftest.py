"""Shared fixtures: a control plane on a temp data dir, served in-process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atoll.api import make_app
from atoll.api.bootstrap import ensure_admin_token
from atoll.config import Settings
from atoll.runtime.layout import choose_runtime_dir, preferred_runtime_dir
from atoll.services import ControlPlane

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh data dir."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def cp(settings: Settings) -> Iterator[ControlPlane]:
    """An opened control plane."""
    plane = ControlPlane.open(settings)
    yield plane
    plane.close()
    # Builds install [python] dependencies where the runtime would mount them: a folder
    # under /tmp when the data dir (under pytest's private tmp) is out of sandboxes' reach.
    preferred = preferred_runtime_dir(settings)
    chosen = choose_runtime_dir(preferred)
    if chosen != preferred:
        shutil.rmtree(chosen, ignore_errors=True)


@pytest.fixture
def client(cp: ControlPlane) -> Iterator[TestClient]:
    """An in-process HTTP client of the control plane (no auth header)."""
    with TestClient(make_app(cp)) as c:
        yield c


@pytest.fixture
def admin(cp: ControlPlane) -> dict[str, str]:
    """Headers carrying the bootstrap admin token."""
    return {"Authorization": f"Bearer {ensure_admin_token(cp)}"}


def make_tenant(client: TestClient, admin: dict[str, str], name: str) -> dict[str, str]:
    """Create a tenant; returns headers carrying its token."""
    r = client.post("/api/v1/tenants", json={"name": name}, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def acme(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Headers of tenant ``acme``."""
    return make_tenant(client, admin, "acme")


@pytest.fixture
def globex(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Headers of tenant ``globex``."""
    return make_tenant(client, admin, "globex")


def head_of(client: TestClient, headers: dict[str, str], app: str) -> str | None:
    """The app's head revision id."""
    r = client.get(f"/api/v1/apps/{app}", headers=headers)
    assert r.status_code == 200, r.text
    head: str | None = r.json()["head_revision"]
    return head


def commit_text(
    client: TestClient, headers: dict[str, str], app: str, files: dict[str, str | None]
) -> dict[str, object]:
    """Commit text files (None deletes) on top of the head; returns the result."""
    changes = [
        {"path": p, "delete": True} if t is None else {"path": p, "text": t}
        for p, t in files.items()
    ]
    body = {"base": head_of(client, headers, app), "changes": changes, "message": "test"}
    r = client.post(f"/api/v1/apps/{app}/revisions", json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    result: dict[str, object] = r.json()
    return result
