"""Automatic dependencies: an import nothing provides is added as its package and installed
from the operator's index (here a loopback index of a wheel made in the test)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atoll.agent.autodeps import allowed, missing_modules, package_for
from atoll.agent.draft import Draft
from atoll.agent.provider import ChatProvider, ModelSettings
from atoll.agent.session import Agent
from atoll.agent.turn import Event, Turn
from atoll.api import make_app
from atoll.api.bootstrap import ensure_admin_token
from atoll.config import AgentSettings, RuntimeSettings, Settings
from atoll.runtime.layout import choose_runtime_dir, preferred_runtime_dir
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, BuildError
from atoll.workspace import Change
from tests.agent.fake_llm import Answer, fake_llm
from tests.agent.local_index import local_index, make_wheel
from tests.builder.npm_registry import NpmRegistry
from tests.conftest import make_tenant

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

USES = "import zzatoll_demo\n\n\ndef get() -> int:\n    return zzatoll_demo.VALUE\n"


def test_package_names_and_policy() -> None:
    assert package_for("yaml") == "PyYAML" and package_for("PIL") == "pillow"
    assert package_for("zz_thing") == "zz-thing"
    missing = "ModuleNotFoundError: no module named 'yaml' where functions run: add it"
    errors = [
        BuildError("functions/a.py", 1, 1, missing),
        BuildError("functions/b.py", 1, 1, missing),
        BuildError("functions/b.py", 2, 1, "SyntaxError: invalid syntax"),
    ]
    assert missing_modules(errors) == ["yaml"]
    assert allowed("PyYAML", AgentSettings())
    assert not allowed("pyyaml", AgentSettings(packages_deny=["PyYAML"]))
    assert not allowed("requests", AgentSettings(packages_allow=["httpx"]))
    assert allowed("Py_YAML", AgentSettings(packages_allow=["py-yaml"]))


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[tuple[ControlPlane, TestClient]]:
    wheel = make_wheel(tmp_path, "zzatoll-demo", "1.2.3", "zzatoll_demo", "VALUE = 42\n")
    with local_index([wheel]) as index:
        settings = Settings(
            data_dir=tmp_path / "data", runtime=RuntimeSettings(python_index_url=index)
        )
        cp = ControlPlane.open(settings)
        try:
            with TestClient(make_app(cp)) as client:
                yield cp, client
        finally:
            cp.close()
            chosen = choose_runtime_dir(preferred_runtime_dir(settings))
            if chosen != preferred_runtime_dir(settings):
                shutil.rmtree(chosen, ignore_errors=True)


def test_an_import_of_a_package_not_installed_is_added_and_installed(
    indexed: tuple[ControlPlane, TestClient],
) -> None:
    cp, client = indexed
    acme = make_tenant(client, {"Authorization": f"Bearer {ensure_admin_token(cp)}"}, "acme")
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        app = app_repo.get_app(conn, tenant.id, "shop")
    write = json.dumps({"path": "functions/demo.py", "content": USES})
    answers = [Answer(calls=[("c1", "write_file", write)]), Answer(text="Done.")]
    with fake_llm(answers) as (url, script):
        with ChatProvider(ModelSettings(base_url=url, model="fake", retries=0)) as provider:
            result = Turn(provider, Draft.of_head(cp, app), "acme", "system").run("use the demo")
    assert result.outcome == "done", result
    told = script.requests[1]["messages"][-1]["content"]
    assert told.startswith(
        "Checks after your edits: The platform added to [python] dependencies: "
        "zzatoll-demo (for import zzatoll_demo). all checks passed"
    ), told
    assert sorted(result.changed) == ["atoll.toml", "functions/demo.py"]
    assert result.revision is not None
    data, _, _ = cp.workspaces.read(app, "atoll.toml", result.revision.id)
    assert data == b'\n[python]\ndependencies = ["zzatoll-demo"]\n'


CONFETTI = (
    'import confetti from "zz-confetti";\n\n'
    "export default function Party() {\n"
    "  return <button onClick={() => confetti()}>{confetti.label}</button>;\n"
    "}\n"
)
PARTY_PAGE = json.dumps(
    {
        "schemaVersion": 1,
        "title": "Party",
        "root": {"type": "Component", "props": {"name": "Party"}},
    }
)


@pytest.fixture
def npm_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[NpmRegistry]:
    registry = NpmRegistry()
    code = "export default function confetti() {}\nconfetti.label = 'party';\n"
    registry.publish("zz-confetti", "1.4.2", {"index.js": code}, main="index.js")
    registry.publish("zz-denied", "1.0.0", {"index.js": "export default 1;\n"}, main="index.js")
    monkeypatch.setenv("npm_config_registry", registry.url)
    try:
        yield registry
    finally:
        registry.close()


def _shop(cp: ControlPlane, client: TestClient) -> App:
    acme = make_tenant(client, {"Authorization": f"Bearer {ensure_admin_token(cp)}"}, "acme")
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")


def test_an_npm_import_of_a_component_is_listed_pinned_and_installed(
    cp: ControlPlane, client: TestClient, npm_registry: NpmRegistry
) -> None:
    app = _shop(cp, client)
    writes = [
        ("c1", "write_file", json.dumps({"path": "components/Party.jsx", "content": CONFETTI})),
        ("c2", "write_file", json.dumps({"path": "pages/index.json", "content": PARTY_PAGE})),
    ]
    answers = [Answer(calls=writes), Answer(text="Done.")]
    events: list[Event] = []
    with fake_llm(answers) as (url, script):
        with ChatProvider(ModelSettings(base_url=url, model="fake", retries=0)) as provider:
            turn = Turn(provider, Draft.of_head(cp, app), "acme", "system", on_event=events.append)
            result = turn.run("a party button")
    assert result.outcome == "done", result
    told = script.requests[1]["messages"][-1]["content"]
    assert told == (
        "Checks after your edits: The platform added to components/package.json: "
        "zz-confetti. all checks passed: the app builds"
    ), told
    assert [e.data for e in events if e.kind == "dependencies"] == [
        {"added": ["zz-confetti (npm)"]}
    ]
    assert result.revision is not None
    data, _, _ = cp.workspaces.read(app, "components/package.json", result.revision.id)
    assert json.loads(data) == {"dependencies": {"zz-confetti": "^1.4.2"}}
    assert any("zz-confetti-1.4.2.tgz" in path for path in npm_registry.requests)


def test_an_npm_package_the_operator_denies_is_never_installed(
    cp: ControlPlane, client: TestClient, npm_registry: NpmRegistry
) -> None:
    cp.settings = cp.settings.model_copy(
        update={"agent": AgentSettings(npm_packages_deny=["zz-denied"])}
    )
    app = _shop(cp, client)
    uses = 'import x from "zz-denied";\n\nexport default function A() {\n  return <b>{x}</b>;\n}\n'
    plain = "export default function A() {\n  return <b>1</b>;\n}\n"
    path = "components/A.jsx"
    edit = {"path": path, "search": uses, "replace": plain}
    answers = [
        Answer(calls=[("c1", "write_file", json.dumps({"path": path, "content": uses}))]),
        Answer(
            calls=[
                ("c2", "read_file", json.dumps({"path": path})),
                ("c3", "edit_file", json.dumps(edit)),
            ]
        ),
        Answer(text="Done without it."),
    ]
    with fake_llm(answers) as (url, script):
        with ChatProvider(ModelSettings(base_url=url, model="fake", retries=0)) as provider:
            result = Turn(provider, Draft.of_head(cp, app), "acme", "system").run("use zz-denied")
    assert result.outcome == "done", result
    told = script.requests[1]["messages"][-1]["content"]
    assert "components/package.json: the operator does not let the agent add the npm " in told
    assert "'zz-denied'" in told
    assert not any("zz-denied" in path for path in npm_registry.requests)
    assert result.revision is not None and "components/package.json" not in result.revision.tree


def test_undo_takes_back_a_dependency_the_turn_added(
    indexed: tuple[ControlPlane, TestClient],
) -> None:
    cp, client = indexed
    app = _shop(cp, client)
    blob = cp.workspaces.put_blob(app, b'name = "shop"\n')
    cp.workspaces.commit(app, None, [Change("atoll.toml", blob)], "u", "start")
    app = _shop_again(cp)
    write = json.dumps({"path": "functions/demo.py", "content": USES})
    answers = [Answer(calls=[("c1", "write_file", write)]), Answer(text="Done.")]
    with fake_llm(answers) as (url, _script):
        settings = ModelSettings(base_url=url, model="fake", retries=0)
        agent = Agent(cp, lambda _tenant: ChatProvider(settings))
        _number, result = agent.run("acme", app, "use the demo", "acme/default")
    assert result.outcome == "done" and result.revision is not None
    data, _, _ = cp.workspaces.read(app, "atoll.toml", result.revision.id)
    assert b"zzatoll-demo" in data
    undone = agent.undo("acme", _shop_again(cp), "acme/default")
    assert undone.revision is not None
    data, _, _ = cp.workspaces.read(app, "atoll.toml", undone.revision.id)
    assert data == b'name = "shop"\n'  # and with it the lock the next build resolves
    assert "functions/demo.py" not in undone.revision.tree


def _shop_again(cp: ControlPlane) -> App:
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")
