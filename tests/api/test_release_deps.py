"""A release's [python] dependencies: locked and installed when it is built, and run as
locked wherever it is promoted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atoll.releases.artifacts import python_lock
from atoll.runtime.deps import dependency_layers, lock_digest
from atoll.services import ControlPlane
from tests.conftest import commit_text

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

USES_SIX = {
    "atoll.toml": '[python]\ndependencies = ["six==1.16.0"]\n',
    "functions/dep.py": "import six\n\n\ndef get() -> str:\n    return six.__version__\n",
}


def _release(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.post("/api/v1/apps/shop/releases", json={}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    detail = client.get(f"/api/v1/apps/shop/releases/{created['version']}", headers=headers)
    assert detail.status_code == 200, detail.text
    body: dict[str, Any] = detail.json()
    return body


def _built(cp: ControlPlane, revision: str) -> Path:
    [built] = cp.workspaces.apps_root.glob(f"*/builds/{revision}")
    return built


def test_a_release_is_built_with_its_dependencies_locked_and_installed(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    revision = commit_text(client, acme, "shop", USES_SIX)["revision"]
    assert isinstance(revision, str)
    layers = dependency_layers(cp.settings)

    v1 = _release(client, acme)
    assert v1["status"] == "ready", v1
    lock = python_lock(_built(cp, revision))
    assert lock == "six==1.16.0\n"
    # Installed before anything runs it: the first request finds the layer ready.
    layer = layers.root / lock_digest(lock)
    assert (layer / ".complete").is_file() and (layer / "site" / "six.py").is_file()
    [line] = [x for x in v1["build_log"].splitlines() if x.startswith("dependencies:")]
    assert line.startswith(f"dependencies: six==1.16.0 (locked; layer {layer.name[:12]} ready")

    # The same revision again reuses its lock; a layer that went away meanwhile (a runtime
    # folder under /tmp is removed when the server stops) is installed again.
    shutil.rmtree(layer)
    v2 = _release(client, acme)
    assert v2["status"] == "ready" and v2["digest"] == v1["digest"], v2
    assert (layer / ".complete").is_file()
    assert "(locked before, reused; layer" in v2["build_log"]


def test_dependencies_that_do_not_install_fail_the_build_at_atoll_toml(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    toml = '[python]\ndependencies = ["atoll-no-such-package-zz9==0.0.1"]\n'
    revision = commit_text(client, acme, "shop", {**USES_SIX, "atoll.toml": toml})["revision"]
    assert isinstance(revision, str)
    failed = _release(client, acme)
    assert failed["status"] == "failed", failed
    [error] = [e for e in failed["errors"] if e["file"] == "atoll.toml"]
    assert "installing [python] dependencies failed" in error["message"], error
    assert "atoll-no-such-package-zz9" in error["message"]
    assert "dependencies: atoll-no-such-package-zz9==0.0.1: not installed" in failed["build_log"]
    # Nothing was kept as its lock: a later build of it tries again.
    assert python_lock(_built(cp, revision)) is None
    refused = client.post("/api/v1/apps/shop/envs/prod/promote", json={}, headers=acme)
    assert refused.status_code == 409, refused.text


def test_a_function_importing_a_package_not_in_its_dependencies_does_not_build(
    client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    commit_text(client, acme, "shop", {"functions/dep.py": USES_SIX["functions/dep.py"]})
    failed = _release(client, acme)
    assert failed["status"] == "failed", failed
    assert [(e["file"], e["line"], e["column"]) for e in failed["errors"]] == [
        ("functions/dep.py", 1, 1)
    ]
    assert "no module named 'six'" in failed["errors"][0]["message"]
    assert "imports: 1 module not found" in failed["build_log"]
    # Declared, it builds: the import is found in the release's dependency layer.
    commit_text(client, acme, "shop", {"atoll.toml": USES_SIX["atoll.toml"]})
    built = _release(client, acme)
    assert built["status"] == "ready", built
    assert "imports: 1 module resolved" in built["build_log"]
