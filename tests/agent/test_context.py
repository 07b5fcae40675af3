"""The system prompt follows the code's page schema, and the context pack maps an app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atoll import dbservice
from atoll.agent.context import PACK_CHARS, context_pack, estimate_tokens, system_prompt
from atoll.agent.draft import Draft
from atoll.names import AppEnv
from atoll.sdui import page_json_schema
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change

TODO = Path(__file__).resolve().parents[2] / "examples" / "todo"


def test_the_system_prompt_names_every_node_and_action_of_the_schema() -> None:
    prompt = system_prompt()
    defs = page_json_schema()["$defs"]
    for name in defs:
        if name.endswith("Node") and name not in ("Node", "UnknownNode"):
            assert f"- {name.removesuffix('Node')}: " in prompt, name
    for name in (n for n in defs if n.endswith("Action")):
        action = defs[name]["properties"]["action"]["const"]
        assert f'action*: "{action}"' in prompt, name
    assert "atoll.db.execute(" in prompt and "read_file" in prompt


def _app(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], files: dict[str, bytes]
) -> App:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        app = app_repo.get_app(conn, tenant.id, "shop")
    changes = [Change(p, cp.workspaces.put_blob(app, d)) for p, d in files.items()]
    cp.workspaces.commit(app, None, changes, "t", "start")
    with cp.engine.connect() as conn:
        return app_repo.get_app(conn, app.tenant_id, "shop")


def test_the_context_pack_of_the_todo_example(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    files = {
        p.relative_to(TODO).as_posix(): p.read_bytes()
        for p in sorted(TODO.rglob("*"))
        if p.is_file() and "node_modules" not in p.parts
    }
    files["functions/huge.py"] = b"x = 1\n" * 50_000  # listed, not parsed
    files["functions/broken.py"] = b"def get(:\n"
    app = _app(cp, client, acme, files)
    name = dbservice.DatabaseName.of(AppEnv(tenant="acme", app="shop", env="dev"))
    dbservice.create_database(cp.settings.data_dir, name)
    dbservice.exec_sql(cp.settings.data_dir, name, "CREATE TABLE todos (id INTEGER, title TEXT)")
    pack = context_pack(Draft.of_head(cp, app), "acme", ["functions/x.py:1:1: SyntaxError: bad"])
    assert pack.startswith(f"# App 'shop': {len(files)} files")
    lines = pack.splitlines()
    todos = lines.index(next(x for x in lines if x.startswith("functions/todos.py (")))
    assert any(x.startswith("  def get(") for x in lines[todos + 1 : todos + 12]), pack
    assert any(x.startswith("pages/index.json (") for x in lines)
    assert "  title " in pack and "nodes " in pack
    assert "functions/huge.py (293.0 KB)" in pack and "  (does not parse)" in pack
    assert "todos (0 rows): id INTEGER, title TEXT" in pack
    assert "## Last build errors\nfunctions/x.py:1:1: SyntaxError: bad" in pack
    assert len(pack) <= PACK_CHARS and estimate_tokens(pack) <= 4_000


@pytest.mark.parametrize("count", [600])
def test_a_large_app_is_cut_to_the_budget(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], count: int
) -> None:
    body = "".join(
        f"def f{n}(a: int, b: str = 'x') -> dict[str, int]:\n    return {{}}\n" for n in range(30)
    )
    files = {f"functions/mod{n:03}.py": body.encode() for n in range(count)}
    pack = context_pack(Draft.of_head(cp, _app(cp, client, acme, files)), "acme")
    assert len(pack) <= PACK_CHARS
    assert "functions/mod000.py (" in pack  # every file is named while the budget allows
