"""Environments over HTTP: every push builds dev at once, and says how it went and why."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atoll import dbservice
from atoll.errors import NotFound
from atoll.names import AppEnv
from atoll.releases.deployments import CONCURRENT_BUILDS, Deployments
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import builds
from atoll.store import envs as env_repo
from atoll.store import vars as vars_repo
from atoll.store.tenants import now
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


def test_a_burst_of_pushes_is_built_once_as_its_newest_head(
    client: TestClient, acme: dict[str, str], shop: str, deployments: Deployments
) -> None:
    """Pushes are debounced by coalescing: those that land while a build waits or runs are
    built once, as the newest head (here every build slot is taken while they land)."""
    before = len(_logs(client, acme))
    held = 0
    try:
        for _ in range(CONCURRENT_BUILDS):
            assert deployments._slots.acquire(timeout=60)
            held += 1
        pushed = [_push(client, acme, {"pages/index.json": PAGE % f"v{i}"}) for i in range(5)]
        # Recorded as building at once, so a push can say so, though no build ran yet.
        building = env_of(client, acme, "shop")["build"]
        assert (building["number"], building["state"]) == (6, "building")
    finally:
        for _ in range(held):
            deployments._slots.release()
    dev = wait_for_build(client, acme, "shop", pushed[-1])
    assert (dev["number"], dev["build"]["state"]) == (6, "ready")
    deployments.close()  # every queued build has run
    built = [(e["number"], e["status"]) for e in _logs(client, acme)[before:]]
    assert built == [(6, "ready")]


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


# -- environments a tenant creates ---------------------------------------------------------

INIT = "CREATE TABLE notes (body TEXT);\n"


def _new_env(client: TestClient, headers: dict[str, str], name: str, app: str = "shop") -> Any:
    r = client.post(f"/api/v1/apps/{app}/envs", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _names(client: TestClient, headers: dict[str, str], app: str = "shop") -> list[str]:
    r = client.get(f"/api/v1/apps/{app}/envs", headers=headers)
    assert r.status_code == 200, r.text
    return [e["name"] for e in r.json()]


def _sql(client: TestClient, headers: dict[str, str], env: str, sql: str) -> Any:
    return client.post(f"/api/v1/apps/shop/envs/{env}/db/exec", json={"sql": sql}, headers=headers)


def test_created_environments_follow_the_defaults_in_creation_order(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    qa = _new_env(client, acme, "qa")
    assert qa == {
        "name": "qa",
        "release": None,
        "revision": None,
        "number": None,
        "url": "http://qa--shop--acme.localhost:8080/",
        "build": None,
        "digest": None,
    }
    _new_env(client, acme, "preview-2")
    _new_env(client, acme, "load")
    assert _names(client, acme) == ["dev", "staging", "prod", "qa", "preview-2", "load"]
    assert env_of(client, acme, "shop", "qa") == qa
    # Its own database, made on first use like any environment's.
    assert _sql(client, acme, "qa", "SELECT 1").json()["rows"] == [[1]]


def test_creating_an_environment_checks_what_it_is_sent(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    url = "/api/v1/apps/shop/envs"
    for body, status, code in (
        (b"{not json", 422, "validation_failed"),
        (b"{}", 422, "validation_failed"),
        (b'["qa"]', 422, "validation_failed"),
        (b'{"name": 7}', 422, "validation_failed"),
        (b'{"name": "qa", "extra": 1}', 422, "validation_failed"),
        (b'{"name": "%s"}' % (b"q" * 101), 422, "validation_failed"),  # oversized
        (b'{"name": "%s"}' % (b"q" * 41), 400, "invalid_name"),
        (b'{"name": "QA"}', 400, "invalid_name"),
        (b'{"name": "q"}', 400, "invalid_name"),
        (b'{"name": "qa--x"}', 400, "invalid_name"),  # -- separates the host's parts
        (b'{"name": "-qa"}', 400, "invalid_name"),
        (b'{"name": "qa-"}', 400, "invalid_name"),
        (b'{"name": "q.a"}', 400, "invalid_name"),
        (b'{"name": "q/a"}', 400, "invalid_name"),
        ('{"name": "qä"}'.encode(), 400, "invalid_name"),
        (b'{"name": "1qa"}', 400, "invalid_name"),
        (b'{"name": "<b>qa</b>"}', 400, "invalid_name"),
        (b'{"name": "prod"}', 409, "already_exists"),
        (b'{"name": "dev"}', 409, "already_exists"),
    ):
        headers = {**acme, "Content-Type": "application/json"}
        r = client.post(url, content=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == code, r.text
    _new_env(client, acme, "qa")
    again = client.post(url, json={"name": "qa"}, headers=acme)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_exists"
    # Another tenant's app, an unknown app, no token: nothing is created.
    assert client.post(url, json={"name": "beta"}, headers=globex).status_code == 404
    r = client.post("/api/v1/apps/nope/envs", json={"name": "beta"}, headers=acme)
    assert r.status_code == 404
    assert client.post(url, json={"name": "beta"}).status_code == 401
    assert _names(client, acme) == ["dev", "staging", "prod", "qa"]


def test_an_environment_name_keeps_the_origin_a_dns_label(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    app = "a" * 40  # {env}--{app}--acme in 63 characters leaves the env 63 - 48 = 15
    client.post("/api/v1/apps", json={"name": app}, headers=acme)
    fits = _new_env(client, acme, "e" * 15, app=app)
    host = fits["url"].split("//")[1].split(".")[0]
    assert len(host) == 63
    r = client.post(f"/api/v1/apps/{app}/envs", json={"name": "e" * 16}, headers=acme)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_name"
    assert "use at most 15 characters" in r.json()["error"]["message"]
    assert r.json()["error"]["detail"]["max_length"] == 15


def test_an_app_has_at_most_so_many_created_environments(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    for i in range(env_repo.MAX_CUSTOM_ENVS):
        _new_env(client, acme, f"env{i}")
    r = client.post("/api/v1/apps/shop/envs", json={"name": "onemore"}, headers=acme)
    assert r.status_code == 413 and r.json()["error"]["code"] == "limit_exceeded", r.text
    assert "onemore" not in _names(client, acme)
    assert len(_names(client, acme)) == 3 + env_repo.MAX_CUSTOM_ENVS
    # Deleting one makes room again.
    assert client.delete("/api/v1/apps/shop/envs/env0", headers=acme).status_code == 200
    _new_env(client, acme, "onemore")


def test_deleting_refuses_the_defaults_and_what_is_not_there(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    _new_env(client, acme, "qa")
    for name in ("dev", "staging", "prod"):
        r = client.delete(f"/api/v1/apps/shop/envs/{name}", headers=acme)
        assert r.status_code == 409 and "cannot be deleted" in r.text, r.text
    for path, headers, status in (
        ("/api/v1/apps/shop/envs/qa", globex, 404),  # another tenant's app
        ("/api/v1/apps/nope/envs/qa", acme, 404),
        ("/api/v1/apps/shop/envs/beta", acme, 404),
        ("/api/v1/apps/shop/envs/Q--A", acme, 422),
        ("/api/v1/apps/shop/envs/qa", {}, 401),
    ):
        r = client.delete(path, headers=headers)
        assert r.status_code == status, (path, r.text)
    assert _names(client, acme) == ["dev", "staging", "prod", "qa"]
    # Another tenant's app of the same name has only the defaults.
    client.post("/api/v1/apps", json={"name": "shop"}, headers=globex)
    assert _names(client, globex) == ["dev", "staging", "prod"]
    assert client.get("/api/v1/apps/shop/envs/qa", headers=globex).status_code == 404


def test_a_created_environment_is_promoted_to_served_and_deleted_with_what_it_held(
    cp: ControlPlane, client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    files = {"functions/hello.py": HELLO, "migrations/0001_init.sql": INIT}
    commit_text(client, acme, "shop", files)
    assert client.post("/api/v1/apps/shop/releases", json={}, headers=acme).status_code == 201
    r = client.post("/api/v1/apps/shop/envs/qa/promote", json={"release": "v1"}, headers=acme)
    assert r.status_code == 404 and "environment 'qa' not found" in r.text  # not yet created
    _new_env(client, acme, "qa")
    qa = AppEnv(tenant="acme", app="shop", env="qa")
    with pytest.raises(NotFound, match="nothing is deployed to qa yet"):  # as staging says
        deployments.resolve(qa)

    r = client.post("/api/v1/apps/shop/envs/qa/promote", json={"release": "v1"}, headers=acme)
    assert r.status_code == 200, r.text
    assert r.json()["url"] == "http://qa--shop--acme.localhost:8080/"
    assert env_of(client, acme, "shop", "qa")["release"] == "v1"
    assert deployments.resolve(qa).release == "v1"
    history = client.get("/api/v1/apps/shop/envs/qa/history", headers=acme).json()["deploys"]
    assert [(d["action"], d["to_release"]) for d in history] == [("promote", "v1")]
    # Its database is its own: migrated by the promotion, apart from prod's.
    assert _sql(client, acme, "qa", "INSERT INTO notes VALUES ('qa only')").status_code == 200
    assert _sql(client, acme, "prod", "SELECT name FROM sqlite_master").json()["rows"] == []
    snapshot = client.post("/api/v1/apps/shop/envs/qa/db/snapshots", json={}, headers=acme)
    assert snapshot.status_code == 201
    with cp.engine.begin() as conn:
        app = app_repo.find_app(conn, "acme", "shop")
        assert app is not None
        vars_repo.change_vars(conn, app.id, "qa", {"TOKEN": "s3"}, [], True, "t", now())
    database = dbservice.DatabaseName(tenant="acme", app="shop", env="qa")
    assert database.path(cp.settings.data_dir).exists()

    r = client.delete("/api/v1/apps/shop/envs/qa", headers=acme)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["release"]) == ("qa", "v1")  # what it served
    assert _names(client, acme) == ["dev", "staging", "prod"]
    with pytest.raises(NotFound, match="no app is served"):  # the gateway stops at once
        deployments.resolve(qa)
    assert not database.path(cp.settings.data_dir).exists()
    assert not database.snapshot_dir(cp.settings.data_dir).exists()
    for method, path, body in (
        ("GET", "/api/v1/apps/shop/envs/qa", None),
        ("GET", "/api/v1/apps/shop/envs/qa/history", None),
        ("POST", "/api/v1/apps/shop/envs/qa/db/exec", {"sql": "SELECT 1"}),
        ("GET", "/api/v1/apps/shop/envs/qa/db/tables", None),
        ("POST", "/api/v1/apps/shop/envs/qa/rollback", {}),
        ("POST", "/api/v1/apps/shop/envs/prod/promote", {"from": "qa"}),
        ("DELETE", "/api/v1/apps/shop/envs/qa", None),
    ):
        r = client.request(method, path, json=body, headers=acme)
        assert r.status_code == 404, (method, path, r.text)
    with cp.engine.connect() as conn:
        assert vars_repo.list_vars(conn, app.id, "qa") == []
        assert vars_repo.current_version(conn, app.id, "qa") == 2  # unset: the version moves on
    assert not database.path(cp.settings.data_dir).exists()  # no route made it again

    # Created again, it starts empty: no release, no history, a new database.
    assert _new_env(client, acme, "qa")["release"] is None
    assert client.get("/api/v1/apps/shop/envs/qa/history", headers=acme).json() == {"deploys": []}
    assert "no such table" in _sql(client, acme, "qa", "SELECT * FROM notes").text
    with pytest.raises(NotFound, match="nothing is deployed to qa yet"):
        deployments.resolve(qa)


def test_a_deleted_app_takes_its_created_environments_along(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    _new_env(client, acme, "qa")
    assert client.delete("/api/v1/apps/shop", headers=acme).status_code == 200
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    assert _names(client, acme) == ["dev", "staging", "prod"]


def test_an_app_created_again_under_its_name_is_not_served_the_old_apps_release(
    client: TestClient, acme: dict[str, str], deployments: Deployments
) -> None:
    prod = AppEnv(tenant="acme", app="shop", env="prod")
    served = []
    for body in ("'first app'", "'second app'"):
        assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
        commit_text(
            client, acme, "shop", {"functions/hello.py": f"def get():\n    return {body}\n"}
        )
        assert client.post("/api/v1/apps/shop/releases", json={}, headers=acme).status_code == 201
        r = client.post("/api/v1/apps/shop/envs/prod/promote", json={}, headers=acme)
        assert r.status_code == 200 and r.json()["release"] == "v1", r.text
        deployment = deployments.resolve(prod)  # the gateway's lookup, cached between
        served.append((deployment.code_dir / "functions" / "hello.py").read_text())
        if body == "'first app'":
            deleted = client.delete("/api/v1/apps/shop", headers=acme)
            assert deleted.status_code in (200, 204), deleted.text
    # Both apps' prod serves a v1; the second's is its own code, not the first's cached one.
    assert "'second app'" in served[1], served
