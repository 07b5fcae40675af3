"""Issue 18 end to end: a tenant on the gVisor tier pushes the todo example and uses it through
the gateway (page, functions, database) on gVisor's kernel; a default tenant stays on bwrap."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atoll.runtime import RunscBackend
from tests.conftest import REPO
from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")

KERNEL = """
import os


def get() -> dict[str, str]:
    return {"release": os.uname().release, "version": open("/proc/version").read()}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``atoll serve`` with bwrap as the platform default."""
    tmp = tmp_path_factory.mktemp("gvisor-tier")
    served = start_server(tmp / "data", tmp / "serve.log")
    yield served
    stop_server(served.process)


def _tenant(server: Served, name: str, *isolation: str) -> str:
    created = json.loads(
        server.cli("--json", "tenant", "create", name, *isolation, token=server.admin_token).stdout
    )
    assert created["isolation"] == (isolation[1] if isolation else "default")
    token: str = created["token"]
    return token


def _push_todo(server: Served, tmp_path: Path, token: str) -> None:
    src = tmp_path / "todo"
    shutil.copytree(REPO / "examples" / "todo", src)
    (src / "functions" / "kernel.py").write_text(KERNEL)
    server.cli("app", "create", "todo", "--from", str(src), token=token)


def _gateway(server: Served, tenant: str) -> httpx.Client:
    host = f"dev--todo--{tenant}.localhost:{server.gateway_port}"
    return httpx.Client(
        base_url=f"http://127.0.0.1:{server.gateway_port}", headers={"host": host}, timeout=60
    )


def test_a_gvisor_tenant_runs_the_todo_app_on_gvisor_and_a_default_one_on_bwrap(
    server: Served, tmp_path: Path
) -> None:
    assert "runsc yes" in server.log.read_text()  # the start-up report names the backends
    vault = _tenant(server, "vault", "--isolation", "gvisor")
    plain = _tenant(server, "plain")  # no --isolation: the server's default backend (bwrap)
    listed = server.cli("tenant", "list", token=server.admin_token).stdout
    assert "ISOLATION" in listed
    assert any(line.split()[:2] == ["vault", "gvisor"] for line in listed.splitlines())
    assert any(line.split()[:2] == ["plain", "default"] for line in listed.splitlines())

    host = os.uname()
    for token, name, on_gvisor in ((vault, "vault", True), (plain, "plain", False)):
        _push_todo(server, tmp_path / name, token)
        with _gateway(server, name) as gateway:
            page = gateway.get("/")
            assert page.status_code == 200 and "Todos" in page.text, page.text[:300]
            added = gateway.post("/api/todos", json={"title": f"from {name}"})
            assert added.status_code == 200, added.text
            toggled = gateway.patch("/api/todos", json={"id": added.json()["id"], "done": True})
            assert toggled.status_code == 200, toggled.text
            listed_todos = gateway.get("/api/todos").json()
            assert listed_todos == [
                {"id": added.json()["id"], "title": f"from {name}", "done": True}
            ]
            kernel = gateway.get("/api/kernel").json()
        if on_gvisor:
            assert kernel["release"] != host.release and host.version not in kernel["version"]
        else:
            assert kernel["release"] == host.release and host.version in kernel["version"]
