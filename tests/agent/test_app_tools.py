"""The agent's tools over the dev database, logs, checks and dependencies."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket

import pytest
from fastapi.testclient import TestClient

from atoll import dbservice
from atoll.agent.app_tools import app_tools, with_dependency
from atoll.agent.draft import Draft
from atoll.agent.tools import Toolbox, ToolResult
from atoll.config import AgentSettings
from atoll.names import AppEnv
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App

DEV = AppEnv(tenant="acme", app="shop", env="dev")


@pytest.fixture
def box(cp: ControlPlane, client: TestClient, acme: dict[str, str]) -> tuple[Toolbox, Draft]:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        app: App = app_repo.get_app(conn, tenant.id, "shop")
    draft = Draft.of_head(cp, app)
    return Toolbox(app_tools(draft, "acme")), draft


def call(box: Toolbox, name: str, **args: object) -> ToolResult:
    return box.call(name, json.dumps(args))


def _dev_database(cp: ControlPlane) -> None:
    name = dbservice.DatabaseName.of(DEV)
    dbservice.create_database(cp.settings.data_dir, name)
    dbservice.exec_sql(
        cp.settings.data_dir,
        name,
        "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER);"
        "INSERT INTO todos (title, done) VALUES ('milk', 0), ('bread', 1);",
    )


def test_schema_and_read_only_sql_on_dev(cp: ControlPlane, box: tuple[Toolbox, Draft]) -> None:
    tools, _ = box
    assert "does not exist yet" in call(tools, "show_schema").text
    assert not call(tools, "run_sql", sql="SELECT 1").ok
    _dev_database(cp)
    assert call(tools, "show_schema").text == "todos (2 rows): id INTEGER, title TEXT, done INTEGER"
    rows = call(tools, "run_sql", sql="SELECT title, done FROM todos ORDER BY id")
    assert rows.text.splitlines() == ["title | done", "milk | 0", "bread | 1"]
    for sql, said in (
        ("DELETE FROM todos", "readonly"),
        ("ATTACH '/etc/passwd' AS x", "attach is not allowed"),
        ("SELECT 1; SELECT 2", "exactly one"),
        ("SELECT * FROM nope", "no such table"),
    ):
        refused = call(tools, "run_sql", sql=sql)
        assert not refused.ok and said in refused.text.lower(), (sql, refused)
    assert call(tools, "run_sql", sql="SELECT count(*) AS n FROM todos").text == "n\n2"


def test_logs_and_checks(cp: ControlPlane, box: tuple[Toolbox, Draft]) -> None:
    tools, draft = box
    assert call(tools, "read_logs").text == "no log entries in dev yet"
    cp.logs.append(DEV.key, {"kind": "invoke", "function": "todos", "status": 500, "error": "boom"})
    assert call(tools, "read_logs", limit=5).text == "invoke todos 500: boom"
    assert not call(tools, "read_logs", limit=500).ok
    if shutil.which("node") is None:
        pytest.skip("needs node")
    draft.write("functions/broken.py", b"def get(:\n")
    checked = call(tools, "run_checks").text
    assert checked.startswith("1 problem(s):") and "functions/broken.py:1:" in checked


def test_add_dependency_keeps_the_rest_of_atoll_toml(box: tuple[Toolbox, Draft]) -> None:
    tools, draft = box
    added = call(tools, "add_dependency", requirement="six==1.16.0")
    assert (
        added.ok and draft.content("atoll.toml") == b'\n[python]\ndependencies = ["six==1.16.0"]\n'
    )
    assert "already" in call(tools, "add_dependency", requirement="Six").text
    refused = call(tools, "add_dependency", requirement="six --index-url http://evil/")
    assert not refused.ok and "is not a plain" in refused.text


def test_add_dependency_follows_the_operators_policy(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    with cp.engine.connect() as conn:
        app = app_repo.get_app(conn, tenant_repo.get_tenant(conn, "acme").id, "shop")
    policy = AgentSettings(packages_deny=["PyYAML"])
    strict = dataclasses.replace(cp, settings=cp.settings.model_copy(update={"agent": policy}))
    tools = Toolbox(app_tools(Draft.of_head(strict, app), "acme"))
    denied = call(tools, "add_dependency", requirement="pyyaml>=6")
    assert not denied.ok and "does not let the agent add 'pyyaml'" in denied.text
    assert call(tools, "add_dependency", requirement="httpx").ok


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('name = "shop"\n', 'name = "shop"\n\n[python]\ndependencies = ["httpx"]\n'),
        (
            '[python]\ndependencies = ["six"]  # pinned\n[limits]\nmemory_mb = 256\n',
            '[python]\ndependencies = ["six", "httpx"]  # pinned\n[limits]\nmemory_mb = 256\n',
        ),
        (
            '[limits]\nmemory_mb = 256\n[python]\nversion = "3.11"\n',
            '[limits]\nmemory_mb = 256\n[python]\ndependencies = ["httpx"]\nversion = "3.11"\n',
        ),
    ],
)
def test_with_dependency(before: str, after: str) -> None:
    assert with_dependency(before, "httpx") == (after, True)


def test_invoking_a_function_checks_its_arguments_and_says_when_dev_is_not_there(
    cp: ControlPlane, box: tuple[Toolbox, Draft]
) -> None:
    tools, _ = box
    for bad in (
        {"function": "../admin"},
        {"function": "todos", "method": "TRACE"},
        {"function": "todos", "query": {"a": 1}},
        {"function": "todos", "headers": {"Host": "x"}},
    ):
        result = tools.call("invoke_function", json.dumps(bad))
        assert not result.ok and result.text.startswith("bad arguments"), (bad, result)
    big = call(tools, "invoke_function", function="todos", body="x" * (1 << 20))
    assert not big.ok and "over 1048576 bytes" in big.text
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    cp.settings = cp.settings.model_copy(update={"gateway_port": closed})
    result = call(tools, "invoke_function", function="todos")
    assert not result.ok and "the app gateway is not reachable" in result.text
