"""Dev builds across gateway restarts: nothing stays ``building``, nothing good is forgotten."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atoll.api.bootstrap import DEMO_APP, ensure_demo
from atoll.names import AppEnv
from atoll.releases.deployments import Deployments
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import builds
from atoll.store import tenants as tenant_repo
from atoll.store import vars as vars_repo
from atoll.store.records import App, Revision
from tests.api.builds import env_of, wait_for_build
from tests.conftest import commit_text

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HELLO = "def get() -> str:\n    return 'hello'\n"
SHOP = AppEnv(env="dev", app="shop", tenant="acme")


def _push(client: TestClient, headers: dict[str, str], files: dict[str, str | None]) -> str:
    revision = commit_text(client, headers, "shop", files)["revision"]
    assert isinstance(revision, str)
    return revision


def test_heads_committed_while_no_gateway_listened_are_built_when_it_starts(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    token = ensure_demo(cp, EXAMPLES / DEMO_APP)  # what `atoll serve --demo` does first
    demo = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    pushed = _push(client, acme, {"functions/hello.py": HELLO})
    assert env_of(client, acme, "shop")["build"] is None

    deployments = Deployments(cp)
    try:
        head = client.get(f"/api/v1/apps/{DEMO_APP}", headers=demo).json()["head_revision"]
        dev = wait_for_build(client, demo, DEMO_APP, head)
        assert (dev["build"]["state"], dev["revision"]) == ("ready", head)
        assert wait_for_build(client, acme, "shop", pushed)["build"]["state"] == "ready"
    finally:
        deployments.close()


def test_a_build_a_stop_interrupted_is_built_again(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    pushed = _push(client, acme, {"functions/hello.py": HELLO})
    app_id = _app(cp).id
    with cp.engine.begin() as conn:  # what a process that stopped mid-build left behind
        builds.start_build(conn, app_id, "dev", pushed, 1, tenant_repo.now())
    assert env_of(client, acme, "shop")["build"]["state"] == "building"

    deployments = Deployments(cp)
    try:
        dev = wait_for_build(client, acme, "shop", pushed)
        assert (dev["build"]["state"], dev["revision"]) == ("ready", pushed)
    finally:
        deployments.close()


def test_after_a_restart_dev_serves_the_last_revision_that_built(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    first = Deployments(cp)
    try:
        good = _push(client, acme, {"functions/hello.py": HELLO})
        wait_for_build(client, acme, "shop", good)
        broken = _push(client, acme, {"functions/hello.py": "def get(:\n"})
        assert wait_for_build(client, acme, "shop", broken)["revision"] == good
        assert first.resolve(SHOP).revision == good
    finally:
        first.close()

    restarted = Deployments(cp)  # a new process: it never built anything
    try:
        deployment = restarted.resolve(SHOP)
        assert (deployment.revision, deployment.number) == (good, 1)
        dev = env_of(client, acme, "shop")
        assert (dev["revision"], dev["build"]["revision"], dev["build"]["state"]) == (
            good,
            broken,
            "failed",
        )
        entries = client.get("/api/v1/apps/shop/envs/dev/logs", headers=acme).json()["entries"]
        head_line = entries[-1]["text"].splitlines()[0]
        assert head_line == f"r2 ({broken[:12]}) did not build; dev still serves r1"
    finally:
        restarted.close()


def test_a_closed_gateway_builds_nothing_and_a_failing_listener_fails_no_commit(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    deployments = Deployments(cp)
    deployments.close()

    def broken_listener(app: App, revision: Revision) -> None:
        raise RuntimeError("listener bug")

    unsubscribe = cp.workspaces.subscribe(broken_listener)
    try:
        r = client.post(
            "/api/v1/apps/shop/revisions",
            json={"base": None, "changes": [{"path": "functions/hello.py", "text": HELLO}]},
            headers=acme,
        )
        assert r.status_code == 201, r.text
    finally:
        unsubscribe()
    assert env_of(client, acme, "shop")["build"] is None


def _app(cp: ControlPlane) -> App:
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")


class _Gateway:
    """What a gateway in this process does around a switch (``ReleaseSwitches``); with
    ``vars_meanwhile``, prod's vars change between its staging and its switch."""

    def __init__(self, cp: ControlPlane, deployments: Deployments, vars_meanwhile: bool) -> None:
        self.cp, self.deployments, self.vars_meanwhile = cp, deployments, vars_meanwhile
        self.switched: list[tuple[AppEnv, int]] = []

    def before_switch(self, host: AppEnv, number: int) -> None:
        self.deployments.stage(host, number)
        if self.vars_meanwhile:
            with self.cp.engine.begin() as conn:
                app = _app(self.cp)
                values = {"GREETING": "hi"}
                vars_repo.change_vars(conn, app.id, host.env, values, [], False, "t", _now())
            self.cp.workspaces.changed()

    def after_switch(self, host: AppEnv, number: int) -> None:
        self.switched.append((host, number))
        self.deployments.switched(host, number)


@pytest.mark.parametrize("vars_meanwhile", [False, True])
def test_a_switch_made_here_serves_the_staged_release_with_no_lookup(
    cp: ControlPlane,
    client: TestClient,
    acme: dict[str, str],
    vars_meanwhile: bool,
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    _push(client, acme, {"functions/hello.py": HELLO})
    for _ in range(2):
        r = client.post("/api/v1/apps/shop/releases", json={}, headers=acme)
        assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    prod = AppEnv(env="prod", app="shop", tenant="acme")
    deployments = Deployments(cp)
    gateway = _Gateway(cp, deployments, vars_meanwhile)
    cp.switches = gateway
    try:
        r = client.post("/api/v1/apps/shop/envs/prod/promote", json={"release": "v2"}, headers=acme)
        assert r.status_code == 200, r.text
        assert gateway.switched == [(prod, 2)]
        # The next request finds v2 in the cache: no metadata query, no thread hop.
        served = deployments.cached(prod)
        assert served is not None and served.release == "v2"
        # Vars set after it was staged are the ones it serves.
        assert dict(served.vars.values) == ({"GREETING": "hi"} if vars_meanwhile else {})
        assert deployments.resolve(prod) is served  # what a lookup would have found

        # Without a gateway told of the switch, the next request looks it up.
        cp.switches = None
        r = client.post("/api/v1/apps/shop/envs/prod/rollback", json={"to": "v1"}, headers=acme)
        assert r.status_code == 200, r.text
        assert deployments.cached(prod) is None
        assert deployments.resolve(prod).release == "v1"
    finally:
        cp.switches = None
        deployments.close()


def _now() -> datetime:
    return tenant_repo.now()
