"""Config vars and secrets over HTTP: set, list, unset, history; secrets never answered;
hostile names, values and bodies refused in one line; one tenant never sees another's."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from atoll.services import ControlPlane
from atoll.store import vars as repo

SECRET = "s3cr3t-Value-9f2"
VARS = "/api/v1/apps/shop/envs/prod/vars"


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> str:
    """App ``shop`` of acme."""
    r = client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    assert r.status_code == 201, r.text
    return "shop"


def _set(
    client: TestClient, headers: dict[str, str], body: dict[str, object], url: str = VARS
) -> dict[str, object]:
    r = client.post(url, json=body, headers=headers)
    assert r.status_code == 200, r.text
    got: dict[str, object] = r.json()
    return got


def _error(client: TestClient, headers: dict[str, str], body: object, status: int) -> str:
    """The one-line message of a refused change (and that it never quotes the secret)."""
    r = client.post(
        VARS, content=json.dumps(body), headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert SECRET not in r.text
    message: str = r.json()["error"]["message"]
    assert "\n" not in message
    return message


def test_vars_are_set_listed_and_unset_one_version_per_change(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    empty = client.get(VARS, headers=acme).json()
    assert empty == {"env": "prod", "version": 0, "vars": []}

    got = _set(client, acme, {"vars": {"GREETING": "hello", "LIMIT": "10"}})
    assert got["version"] == 1
    got = _set(client, acme, {"vars": {"API_KEY": SECRET}, "secret": True})
    assert got["version"] == 2
    listed = client.get(VARS, headers=acme).json()
    assert listed["version"] == 2
    assert [(v["key"], v["secret"], v["value"], v["version"]) for v in listed["vars"]] == [
        ("API_KEY", True, None, 2),
        ("GREETING", False, "hello", 1),
        ("LIMIT", False, "10", 1),
    ]
    assert listed["vars"][0]["updated_by"] == "acme/default"

    # Other environments have their own vars.
    assert client.get("/api/v1/apps/shop/envs/dev/vars", headers=acme).json()["vars"] == []

    r = client.delete(f"{VARS}/LIMIT", headers=acme)
    assert r.status_code == 200 and r.json()["version"] == 3
    got = _set(client, acme, {"unset": ["GREETING", "API_KEY"]})
    assert got == {"env": "prod", "version": 4, "vars": []}


def test_a_secret_is_never_answered(client: TestClient, acme: dict[str, str], shop: str) -> None:
    answers = [
        client.post(VARS, json={"vars": {"API_KEY": SECRET}, "secret": True}, headers=acme),
        client.post(VARS, json={"vars": {"API_KEY": SECRET + "-2"}}, headers=acme),
        client.post(VARS, json={"vars": {"OTHER": "x"}}, headers=acme),
        client.get(VARS, headers=acme),
        client.get(f"{VARS}/history", headers=acme),
        client.get("/api/v1/apps/shop/envs/prod", headers=acme),
        client.delete(f"{VARS}/API_KEY", headers=acme),
        client.get(f"{VARS}/history", headers=acme),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        assert SECRET not in r.text
    # Set again without the flag, it stayed a secret (a forgotten --secret shows nothing).
    second = answers[1].json()["vars"]
    assert second == [{**second[0], "key": "API_KEY", "secret": True, "value": None}]
    history = answers[-1].json()["changes"]
    assert [(c["version"], c["changes"]) for c in history] == [
        (4, [{"key": "API_KEY", "action": "unset", "secret": True}]),
        (3, [{"key": "OTHER", "action": "set", "secret": False}]),
        (2, [{"key": "API_KEY", "action": "set", "secret": True}]),
        (1, [{"key": "API_KEY", "action": "set", "secret": True}]),
    ]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"vars": {"api_key": SECRET}}, 422, "invalid var name 'api_key'"),
        ({"vars": {"1ST": SECRET}}, 422, "invalid var name"),
        ({"vars": {"A" * 65: SECRET}}, 422, "invalid var name"),
        ({"vars": {"PATH": SECRET}}, 422, "reserved"),
        ({"vars": {"ATOLL_TOKEN": SECRET}}, 422, "reserved"),
        ({"vars": {"LD_PRELOAD": SECRET}}, 422, "reserved"),
        ({"vars": {"PYTHONPATH": SECRET}}, 422, "reserved"),
        ({"vars": {"HTTPS_PROXY": SECRET}}, 422, "reserved"),
        ({"vars": {"KEY": SECRET + "\x00"}}, 422, "NUL"),
        ({"vars": {"KEY": SECRET * 3000}}, 413, "at most 32768"),
        ({"vars": {"KEY": 12}}, 422, "vars.KEY"),
        ({"vars": {"KEY": None}}, 422, "vars.KEY"),
        ({"vars": ["KEY", SECRET]}, 422, "vars"),
        ({"vars": {"KEY": SECRET}, "secret": "yes"}, 422, "secret"),
        ({"vars": {"KEY": SECRET}, "extra": 1}, 422, "extra"),
        ({"vars": {"KEY": SECRET}, "unset": ["KEY"]}, 422, "both set and unset"),
        ({"unset": "KEY"}, 422, "unset"),
        ({}, 422, "nothing to change"),
        ({"unset": ["MISSING"]}, 404, "no var MISSING"),
        ({"vars": {f"K{i}": "v" for i in range(repo.MAX_VARS + 1)}}, 413, "at most"),
        ([SECRET], 422, "body"),
    ],
)
def test_bad_changes_are_refused_in_one_line_and_change_nothing(
    client: TestClient, acme: dict[str, str], shop: str, body: object, status: int, says: str
) -> None:
    assert says in _error(client, acme, body, status)
    assert client.get(VARS, headers=acme).json()["version"] == 0


def test_malformed_json_and_oversized_bodies_are_refused(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    typed = {**acme, "content-type": "application/json"}
    for raw in (b'{"vars": {"KEY": "' + SECRET.encode(), b"\xff\xfe", b"", b"null"):
        r = client.post(VARS, content=raw, headers=typed)
        assert r.status_code == 422, (raw, r.text)
        assert SECRET not in r.text and r.json()["error"]["code"] == "validation_failed"
    huge = json.dumps({"vars": {"KEY": "x" * (9 << 20)}})
    r = client.post(VARS, content=huge, headers=typed)
    assert r.status_code == 413 and r.json()["error"]["code"] == "limit_exceeded"
    assert client.get(VARS, headers=acme).json()["version"] == 0


def test_an_environment_holds_bounded_bytes(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    value = "x" * repo.MAX_VALUE_BYTES
    count = repo.MAX_TOTAL_BYTES // (len(value) + 8)
    _set(client, acme, {"vars": {f"K{i}": value for i in range(count)}})
    message = _error(client, acme, {"vars": {"ONE_MORE": value}}, 413)
    assert "at most" in message
    assert client.get(VARS, headers=acme).json()["version"] == 1


@pytest.mark.parametrize(
    ("env", "status"), [("qa", 404), ("Prod", 422), ("a--b", 422), ("x" * 41, 422)]
)
def test_unknown_and_malformed_environments(
    client: TestClient, acme: dict[str, str], shop: str, env: str, status: int
) -> None:
    url = f"/api/v1/apps/shop/envs/{env}/vars"
    for r in (
        client.get(url, headers=acme),
        client.post(url, json={"vars": {"A": "1"}}, headers=acme),
        client.delete(f"{url}/A", headers=acme),
        client.get(f"{url}/history", headers=acme),
    ):
        assert r.status_code == status, (env, r.text)


def test_bad_keys_in_the_path_are_refused(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    assert client.delete(f"{VARS}/lower", headers=acme).status_code == 422
    assert client.delete(f"{VARS}/MISSING", headers=acme).status_code == 404
    assert client.delete(f"{VARS}/{'A' * 300}", headers=acme).status_code == 422


def test_another_tenant_sees_and_changes_nothing(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], shop: str
) -> None:
    _set(client, acme, {"vars": {"API_KEY": SECRET}, "secret": True})
    for r in (
        client.get(VARS, headers=globex),
        client.post(VARS, json={"vars": {"API_KEY": "mine"}}, headers=globex),
        client.post(VARS, json={"unset": ["API_KEY"]}, headers=globex),
        client.delete(f"{VARS}/API_KEY", headers=globex),
        client.get(f"{VARS}/history", headers=globex),
        client.get(VARS),  # no token at all
    ):
        assert r.status_code in (401, 404), r.text
        assert SECRET not in r.text and "API_KEY" not in r.text
    # globex's own app of the same name has vars of its own.
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=globex).status_code == 201
    assert client.get(VARS, headers=globex).json()["vars"] == []
    listed = client.get(VARS, headers=acme).json()
    assert listed["version"] == 1 and [v["key"] for v in listed["vars"]] == ["API_KEY"]


def test_a_deleted_app_takes_its_vars_along(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    _set(client, acme, {"vars": {"API_KEY": SECRET}, "secret": True})
    assert client.delete("/api/v1/apps/shop", headers=acme).status_code == 200
    assert client.get(VARS, headers=acme).status_code == 404
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    assert client.get(VARS, headers=acme).json() == {"env": "prod", "version": 0, "vars": []}
    assert client.get(f"{VARS}/history", headers=acme).json()["changes"] == []


def test_a_store_failure_is_503_and_logs_no_value(
    cp: ControlPlane,
    client: TestClient,
    acme: dict[str, str],
    shop: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with cp.engine.begin() as conn:  # every insert of a var now fails inside the database
        conn.exec_driver_sql(
            "CREATE TRIGGER broken BEFORE INSERT ON env_vars BEGIN SELECT * FROM gone; END"
        )
    r = client.post(VARS, json={"vars": {"API_KEY": SECRET}, "secret": True}, headers=acme)
    assert r.status_code == 503 and SECRET not in r.text
    assert "were not changed: OperationalError" in caplog.text
    assert SECRET not in caplog.text
    assert client.get(VARS, headers=acme).json()["version"] == 0


def test_a_created_environment_has_vars_of_its_own(
    client: TestClient, acme: dict[str, str], shop: str
) -> None:
    qa = "/api/v1/apps/shop/envs/qa/vars"
    assert client.get(qa, headers=acme).status_code == 404  # not created yet
    assert (
        client.post("/api/v1/apps/shop/envs", json={"name": "qa"}, headers=acme).status_code == 201
    )
    got = _set(client, acme, {"vars": {"COLOUR": "teal"}}, url=qa)
    assert [v["key"] for v in got["vars"]] == ["COLOUR"]  # type: ignore[union-attr]
    assert client.get(VARS, headers=acme).json()["vars"] == []  # prod's are its own
    assert client.delete("/api/v1/apps/shop/envs/qa", headers=acme).status_code in (200, 204)
    assert client.get(qa, headers=acme).status_code == 404
