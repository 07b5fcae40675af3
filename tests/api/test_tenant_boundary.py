"""Every app and file endpoint called with another tenant's token is a 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import commit_text, head_of


def _calls(head: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid request for every route that names an app (bodies valid, so only auth decides)."""
    return {
        ("GET", "/api/v1/apps/{app}"): {},
        ("DELETE", "/api/v1/apps/{app}"): {},
        ("GET", "/api/v1/apps/{app}/files"): {},
        ("GET", "/api/v1/apps/{app}/files/{path}"): {},
        ("PUT", "/api/v1/apps/{app}/files/{path}"): {"params": {"base": head}, "content": b"x"},
        ("DELETE", "/api/v1/apps/{app}/files/{path}"): {"params": {"base": head}},
        ("POST", "/api/v1/apps/{app}/blobs"): {"content": b"x"},
        ("POST", "/api/v1/apps/{app}/blobs/missing"): {"json": {"sha256": ["a" * 64]}},
        ("POST", "/api/v1/apps/{app}/revisions"): {
            "json": {"base": head, "changes": [{"path": "b.txt", "text": "b"}]}
        },
        ("GET", "/api/v1/apps/{app}/revisions"): {},
        ("GET", "/api/v1/apps/{app}/revisions/{revision}"): {},
        ("GET", "/api/v1/apps/{app}/diff"): {"params": {"from": head, "to": head}},
        ("POST", "/api/v1/apps/{app}/invoke"): {"json": {"function": "hello"}},
        ("GET", "/api/v1/apps/{app}/envs"): {},
        ("POST", "/api/v1/apps/{app}/envs"): {"json": {"name": "theirs"}},
        ("DELETE", "/api/v1/apps/{app}/envs/{env}"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/logs"): {},
        ("POST", "/api/v1/apps/{app}/envs/{env}/db/exec"): {"json": {"sql": "SELECT 1"}},
        ("GET", "/api/v1/apps/{app}/envs/{env}/db/url"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/db/tables"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/db/tables/{table}/rows"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/db/snapshots"): {},
        ("POST", "/api/v1/apps/{app}/envs/{env}/db/snapshots"): {"json": {}},
        ("POST", "/api/v1/apps/{app}/envs/{env}/db/snapshots/{snapshot}/restore"): {},
        ("POST", "/api/v1/apps/{app}/releases"): {"json": {"notes": "theirs"}},
        ("GET", "/api/v1/apps/{app}/releases"): {},
        ("GET", "/api/v1/apps/{app}/releases/{version}"): {},
        ("GET", "/api/v1/apps/{app}/releases/{version}/diff/{other}"): {"params": {"patch": 1}},
        ("POST", "/api/v1/apps/{app}/envs/{env}/promote"): {"json": {"release": "v1"}},
        ("POST", "/api/v1/apps/{app}/envs/{env}/rollback"): {"json": {}},
        ("GET", "/api/v1/apps/{app}/envs/{env}/history"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/rollback-plan"): {"params": {"to": "v1"}},
        ("GET", "/api/v1/apps/{app}/envs/{env}/vars"): {},
        ("POST", "/api/v1/apps/{app}/envs/{env}/vars"): {"json": {"vars": {"KEY": "theirs"}}},
        ("DELETE", "/api/v1/apps/{app}/envs/{env}/vars/{key}"): {},
        ("GET", "/api/v1/apps/{app}/envs/{env}/vars/history"): {},
        ("POST", "/api/v1/apps/{app}/agent/turns"): {"json": {"prompt": "theirs"}},
        ("POST", "/api/v1/apps/{app}/agent/stop"): {},
        ("GET", "/api/v1/apps/{app}/agent/turns"): {},
        ("POST", "/api/v1/apps/{app}/agent/undo"): {},
        ("POST", "/api/v1/apps/{app}/pages/check"): {
            "params": {"path": "pages/index.json"},
            "content": b"{}",
        },
    }


def test_every_app_route_is_covered(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if "{app}" in path
        for method in ops
    }
    assert routes == set(_calls("h"))


def test_another_tenants_app_is_404_on_every_route(
    client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    commit_text(client, acme, "shop", {"a.txt": "secret"})
    sql = {"sql": "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('secret')"}
    assert client.post("/api/v1/apps/shop/envs/dev/db/exec", json=sql, headers=acme).is_success
    head = head_of(client, acme, "shop")
    assert head is not None
    assert client.post("/api/v1/apps/shop/releases", json={}, headers=acme).status_code == 201
    secret = {"vars": {"TOKEN": "secret"}, "secret": True}
    assert client.post("/api/v1/apps/shop/envs/dev/vars", json=secret, headers=acme).is_success
    snap = client.post("/api/v1/apps/shop/envs/dev/db/snapshots", json={}, headers=acme).json()[
        "id"
    ]
    for (method, template), kwargs in _calls(head).items():
        url = template.format(
            app="shop",
            path="a.txt",
            revision=head,
            env="dev",
            table="t",
            snapshot=snap,
            version="v1",
            other="v1",
            key="TOKEN",
        )
        r = client.request(method, url, headers=globex, **kwargs)
        assert r.status_code == 404, (method, template, r.status_code, r.text)
        assert "secret" not in r.text
    # ...and nothing of acme's changed.
    assert head_of(client, acme, "shop") == head
    r = client.get("/api/v1/apps/shop/files/a.txt", headers=acme)
    assert r.content == b"secret"
    rows = client.get("/api/v1/apps/shop/envs/dev/db/tables/t/rows", headers=acme).json()
    assert rows["rows"] == [["secret"]]
    assert client.get("/api/v1/apps", headers=globex).json() == []
    releases = client.get("/api/v1/apps/shop/releases", headers=acme).json()["releases"]
    assert [r["version"] for r in releases] == ["v1"]
    listed = client.get("/api/v1/apps/shop/envs/dev/vars", headers=acme).json()
    assert listed["version"] == 1 and [v["key"] for v in listed["vars"]] == ["TOKEN"]


def test_same_app_name_in_two_tenants_is_two_apps(
    client: TestClient, acme: dict[str, str], globex: dict[str, str]
) -> None:
    for who, text in ((acme, "A"), (globex, "G")):
        assert client.post("/api/v1/apps", json={"name": "shop"}, headers=who).status_code == 201
        commit_text(client, who, "shop", {"a.txt": text})
    assert client.get("/api/v1/apps/shop/files/a.txt", headers=acme).text == "A"
    assert client.get("/api/v1/apps/shop/files/a.txt", headers=globex).text == "G"
    assert client.delete("/api/v1/apps/shop", headers=acme).status_code == 200
    assert client.get("/api/v1/apps/shop/files/a.txt", headers=globex).text == "G"
    assert client.get("/api/v1/apps/shop", headers=acme).status_code == 404
