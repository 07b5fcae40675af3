"""Environments over HTTP: every push builds dev at once, and says how it went and why."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atoll.releases.deployments import Deployments
from atoll.services import ControlPlane
from atoll.store import builds
from tests.api.builds import env_of, wait_for_build
from tests.conftest import commit_text

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

PAGE = '{"schemaVersion": 1, "title": "%s", "root": {"type": "Heading", "props": {"text": "hi"}}}'
COUNTER = "export default function Counter() {\n  return <b>count</b>;\n}\n"
HELLO = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'


@pytest.fixture
def deployments(cp: ControlPlane, client: TestClient) -> Iterator[Deployments]:
    """The gateway's deployments of ``cp``: they build each new dev head at once."""
    built = Deployments(cp)
    yield built
    built.close()


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str], deployments: Deployments) -> str:
    """App ``shop`` of acme, with a first revision that builds (waited for)."""
    r = client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    assert r.status_code == 201, r.text
    first = _push(
        client, acme, {"pages/index.json": PAGE % "First", "components/Counter.jsx": COUNTER}
    )
    assert wait_for_build(client, acme, "shop", first)["build"]["state"] == "ready"
    return first


def _push(client: TestClient, headers: dict[str, str], files: dict[str, str | None]) -> str:
    revision = commit_text(client, headers, "shop", files)["revision"]
    assert isinstance(revision, str)
    return revision


def _logs(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/v1/apps/shop/envs/dev/logs", headers=headers)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e.get("kind") == "build"]


def test_environments_of_a_new_app(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    r = client.get("/api/v1/apps/shop/envs", headers=acme)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "name": name,
            "release": None,
            "revision": None,
            "number": None,
            "url": f"http://{name}--shop--acme.localhost:8080/",
            "build": None,
            "digest": None,
        }
        for name in ("dev", "staging", "prod")
    ]


def test_a_good_push_builds_dev_at_once(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    pushed = _push(client, acme, {"pages/index.json": PAGE % "First", "functions/hello.py": HELLO})
    # The very first poll sees the build of what was pushed.
    build = env_of(client, acme, "shop")["build"]
    assert build["revision"] == pushed and build["number"] == 1
    assert build["state"] in ("building", "ready")

    dev = wait_for_build(client, acme, "shop", pushed)
    assert (dev["revision"], dev["number"]) == (pushed, 1)
    build = dev["build"]
    assert (build["state"], build["errors"]) == ("ready", [])
    assert build["finished_at"] >= build["started_at"]
    assert dev["url"] == "http://dev--shop--acme.localhost:8080/"
    (entry,) = _logs(client, acme)
    assert (entry["status"], entry["revision"], entry["number"]) == ("ready", pushed, 1)
    assert "r1" in entry["text"]

    # Nothing is deployed to the other environments until releases exist.
    for other in env_of(client, acme, "shop", "staging"), env_of(client, acme, "shop", "prod"):
        assert (other["revision"], other["build"], other["release"]) == (None, None, None)

    second = _push(client, acme, {"pages/index.json": PAGE % "Second"})
    dev = wait_for_build(client, acme, "shop", second)
    assert (dev["revision"], dev["number"], dev["build"]["state"]) == (second, 2, "ready")


def test_broken_page_json_fails_naming_file_and_line(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    broken = _push(client, acme, {"pages/index.json": '{\n  "schemaVersion": 1,\n  "root": \n}'})
    dev = wait_for_build(client, acme, "shop", broken)
    assert dev["build"]["state"] == "failed"
    assert dev["revision"] == shop and dev["number"] == 1  # dev still serves r1
    (error,) = dev["build"]["errors"]
    assert (error["file"], error["line"], error["column"]) == ("pages/index.json", 4, 1)
    assert "Expecting value" in error["message"]

    failed = _logs(client, acme)[-1]
    assert (failed["status"], failed["revision"], failed["number"]) == ("failed", broken, 2)
    lines = failed["text"].splitlines()
    assert lines[0] == f"r2 ({broken[:12]}) did not build; dev still serves r1"
    assert lines[1].startswith("pages/index.json:4:1: ")

    # A schema error gives the JSON path in the message, and the line it points at.
    page = {"schemaVersion": 1, "root": {"type": "Heading", "props": {"text": "x", "level": 9}}}
    bad = _push(client, acme, {"pages/index.json": json.dumps(page, indent=2)})
    (error,) = wait_for_build(client, acme, "shop", bad)["build"]["errors"]
    assert error["file"] == "pages/index.json" and error["line"] == 7
    assert error["message"].startswith("$.root.props.level: ")


def test_jsx_syntax_error_fails_naming_the_component_line(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    broken = _push(
        client,
        acme,
        {"components/Counter.jsx": COUNTER.replace("return", "const x = ;\n  return")},
    )
    dev = wait_for_build(client, acme, "shop", broken)
    assert dev["build"]["state"] == "failed" and dev["revision"] == shop
    (error,) = dev["build"]["errors"]
    assert (error["file"], error["line"], error["column"]) == ("components/Counter.jsx", 2, 13)
    assert error["message"] == 'Unexpected ";"'


def test_function_syntax_error_fails_and_dev_keeps_the_last_good_revision(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    broken = _push(client, acme, {"functions/todos.py": "def get():\n    return 1 +\n"})
    dev = wait_for_build(client, acme, "shop", broken)
    assert dev["build"]["state"] == "failed"
    assert (dev["revision"], dev["number"]) == (shop, 1)
    assert dev["build"]["errors"] == [
        {
            "file": "functions/todos.py",
            "line": 2,
            "column": 15,
            "message": "SyntaxError: invalid syntax",
        }
    ]
    assert "functions/todos.py:2:15: SyntaxError: invalid syntax" in _logs(client, acme)[-1]["text"]
    fixed = _push(client, acme, {"functions/todos.py": HELLO})
    assert wait_for_build(client, acme, "shop", fixed)["revision"] == fixed


def test_every_problem_of_a_push_is_listed_at_once(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    broken = _push(
        client,
        acme,
        {
            "atoll.toml": 'name = "shop"\n[limits]\nmemory_mb = \n',
            "functions/a.py": "def get(:\n",
            "pages/index.json": "{",
        },
    )
    errors = wait_for_build(client, acme, "shop", broken)["build"]["errors"]
    assert [(e["file"], e["line"]) for e in errors] == [
        ("functions/a.py", 1),
        ("atoll.toml", 3),
        ("pages/index.json", 1),
    ]


def test_a_failing_migration_names_its_file_and_line(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    good = _push(client, acme, {"migrations/0001_init.sql": "CREATE TABLE todos (id INTEGER);\n"})
    assert wait_for_build(client, acme, "shop", good)["build"]["state"] == "ready"
    broken = _push(
        client,
        acme,
        {
            "migrations/0002_more.sql": (
                "ALTER TABLE todos ADD done INTEGER;\n\nINSERT INTO nope VALUES (1);\n"
            )
        },
    )
    dev = wait_for_build(client, acme, "shop", broken)
    (error,) = dev["build"]["errors"]
    assert (error["file"], error["line"]) == ("migrations/0002_more.sql", 3)
    assert "no such table: nope" in error["message"]
    assert dev["revision"] == good


def test_huge_error_output_is_bounded(client: TestClient, acme: dict[str, str], shop: str) -> None:
    many = {f"functions/f{i:03d}.py": "def get(:\n" for i in range(120)}
    broken = _push(client, acme, many)
    errors = wait_for_build(client, acme, "shop", broken)["build"]["errors"]
    assert len(errors) == builds.MAX_ERRORS
    assert errors[0]["file"] == "functions/f000.py"
    assert errors[-1] == {
        "file": None,
        "line": None,
        "column": None,
        "message": "... and 71 more errors",
    }

    token = "x" * 20_000
    noisy = _push(
        client,
        acme,
        {
            **{p: None for p in many},
            "migrations/0001_init.sql": f"CREATE TABLE {token} (a);\n{token};\n",
        },
    )
    errors = wait_for_build(client, acme, "shop", noisy)["build"]["errors"]
    assert errors[0]["file"] == "migrations/0001_init.sql" and errors[0]["line"] == 2
    assert len(errors[0]["message"]) == builds.MAX_MESSAGE_CHARS
    entry = _logs(client, acme)[-1]
    assert len(entry["text"]) < 3 * builds.MAX_MESSAGE_CHARS


def test_pushes_in_a_row_end_with_the_newest_head_built(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    pushed = [_push(client, acme, {"pages/index.json": PAGE % f"v{i}"}) for i in range(5)]
    dev = wait_for_build(client, acme, "shop", pushed[-1])
    assert (dev["revision"], dev["number"], dev["build"]["state"]) == (pushed[-1], 6, "ready")
    # Older heads were skipped or built before it, never recorded after it.
    statuses = [(e["number"], e["status"]) for e in _logs(client, acme)]
    assert statuses[-1] == (6, "ready") and all(s == "ready" for _, s in statuses)
    assert [n for n, _ in statuses] == sorted(n for n, _ in statuses)


def test_environment_routes_refuse_what_they_do_not_serve(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    for path, headers, status, code in (
        ("/api/v1/apps/shop/envs/qa", acme, 404, "not_found"),
        ("/api/v1/apps/shop/envs/dev", globex, 404, "not_found"),
        ("/api/v1/apps/shop/envs", globex, 404, "not_found"),
        ("/api/v1/apps/nope/envs/dev", acme, 404, "not_found"),
        ("/api/v1/apps/shop/envs/Bad--Env", acme, 422, "validation_failed"),
        ("/api/v1/apps/shop/envs/d", acme, 422, "validation_failed"),
        ("/api/v1/apps/shop/envs/dev", {}, 401, "unauthorized"),
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"] == code
    # Another tenant's app of the same name is a different app.
    client.post("/api/v1/apps", json={"name": "shop"}, headers=globex)
    assert env_of(client, globex, "shop")["url"] == "http://dev--shop--globex.localhost:8080/"
