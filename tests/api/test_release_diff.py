"""A release's build log and migrations over HTTP, and what differs between two releases."""

from __future__ import annotations

import base64
import re
import shutil
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import commit_text, head_of

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

PAGE = '{"schemaVersion": 1, "title": "Shop", "root": {"type": "Heading", "props": {"text": "hi"}}}'
ABOUT = '{"schemaVersion": 1, "title": "About", "root": {"type": "Text", "props": {"text": "a"}}}'
HELLO = 'def get() -> dict[str, str]:\n    return {"hello": "world"}\n'
HELLO_2 = 'def get() -> dict[str, str]:\n    return {"hello": "there"}\n'
BROKEN = "def get(:\n    return 1\n"
TOML = 'name = "shop"\n[limits]\nmemory_mb = 128\n'
V1 = {
    "atoll.toml": TOML,
    "pages/index.json": PAGE,
    "functions/hello.py": HELLO,
    "migrations/0001_init.sql": "CREATE TABLE notes (body TEXT);\n",
}


def _release(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.post("/api/v1/apps/shop/releases", json={}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _diff(client: TestClient, headers: dict[str, str], a: str, b: str, query: str = "") -> Any:
    r = client.get(f"/api/v1/apps/shop/releases/{a}/diff/{b}{query}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def two(client: TestClient, acme: dict[str, str]) -> None:
    """Releases v1 and v2 of acme's shop: v2 changes a function, adds a page, a destructive
    migration, a dependency and a limit, and drops a binary file."""
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    commit_text(client, acme, "shop", V1)
    logo = {"path": "static/logo.png", "base64": base64.b64encode(b"\x89PNG\x00\x01").decode()}
    body = {"base": head_of(client, acme, "shop"), "changes": [logo], "message": "logo"}
    assert client.post("/api/v1/apps/shop/revisions", json=body, headers=acme).is_success
    assert _release(client, acme)["status"] == "ready"
    commit_text(
        client,
        acme,
        "shop",
        {
            "functions/hello.py": HELLO_2,
            "pages/about.json": ABOUT,
            "migrations/0002_drop_body.sql": "ALTER TABLE notes DROP COLUMN body;\n",
            "atoll.toml": TOML.replace("128", "192")
            + '[python]\ndependencies = ["requests>=2.31"]\n',
            "static/logo.png": None,
        },
    )
    assert _release(client, acme)["status"] == "ready"


def test_a_release_shows_its_build_log_and_planned_migrations(
    client: TestClient, acme: dict[str, str], two: None
) -> None:
    one = client.get("/api/v1/apps/shop/releases/v2", headers=acme).json()
    assert one["migrations"] == [
        {"file": "migrations/0001_init.sql", "kind": "additive"},
        {"file": "migrations/0002_drop_body.sql", "kind": "destructive"},
    ]
    lines = one["build_log"].splitlines()
    assert re.fullmatch(r"checked out r3 \(6 files, \d+ B\) in \d+\.\d s", lines[0]), lines
    assert re.fullmatch(r"functions: 1 compiled in \d+\.\d s", lines[1]), lines
    assert lines[2] == "atoll.toml: ok (limits memory_mb=192)"
    # Locked and installed by the build (requests and what it needs, pinned).
    locked = r"dependencies: (\S+==\S+, )*requests==[\d.]+(, \S+==\S+)* \(locked; layer"
    assert re.fullmatch(locked + r" [0-9a-f]{12} ready in \d+\.\d s\)", lines[3]), lines
    assert lines[4] == "migrations: 0001_init.sql (additive), 0002_drop_body.sql (destructive)"
    # (reused when the dev build of the same revision came first)
    assert re.fullmatch(r"pages: 2 validated(, reused)?", lines[5]), lines
    assert lines[6] == "components: none"
    assert re.fullmatch(r"r3 built in \d+\.\d s", lines[-1]), lines
    # Lists stay small: no logs there.
    listed = client.get("/api/v1/apps/shop/releases", headers=acme).json()["releases"]
    assert [r["version"] for r in listed] == ["v2", "v1"]
    assert all("build_log" not in r for r in listed)


def test_what_differs_between_two_releases(
    client: TestClient, acme: dict[str, str], two: None
) -> None:
    got = _diff(client, acme, "v1", "2")
    assert (got["old"], got["new"]) == ("v1", "v2")
    files = {f["path"]: f for f in got["files"]}
    assert {p: f["status"] for p, f in files.items()} == {
        "atoll.toml": "modified",
        "functions/hello.py": "modified",
        "migrations/0002_drop_body.sql": "added",
        "pages/about.json": "added",
        "static/logo.png": "removed",
    }
    assert (
        files["static/logo.png"]["old_size"] == 6 and files["static/logo.png"]["new_size"] is None
    )
    assert all(f["patch"] is None for f in got["files"])
    assert got["migrations"] == [
        {"file": "migrations/0002_drop_body.sql", "status": "added", "kind": "destructive"}
    ]
    assert got["dependencies"] == [
        {"name": "requests", "status": "added", "old": None, "new": "requests>=2.31"}
    ]
    assert got["config"] == [{"key": "limits.memory_mb", "old": 128, "new": 192}]
    assert got["notes"] == []

    # Backwards too: what was added is removed.
    back = _diff(client, acme, "v2", "v1")
    assert back["migrations"][0]["status"] == "removed"
    assert back["config"] == [{"key": "limits.memory_mb", "old": 192, "new": 128}]

    patched = {f["path"]: f["patch"] for f in _diff(client, acme, "v1", "v2", "?patch=1")["files"]}
    assert (
        '-    return {"hello": "world"}\n+    return {"hello": "there"}'
        in (patched["functions/hello.py"])
    )
    assert patched["static/logo.png"] == "binary, 6 bytes"


def test_a_release_compared_with_itself_and_a_failed_one(
    client: TestClient, acme: dict[str, str], two: None
) -> None:
    same = _diff(client, acme, "v2", "v2", "?patch=true")
    assert [same[k] for k in ("files", "migrations", "dependencies", "config")] == [[]] * 4

    commit_text(client, acme, "shop", {"functions/hello.py": BROKEN, "atoll.toml": "[limits"})
    failed = _release(client, acme)
    assert failed["status"] == "failed"
    log = failed["build_log"]
    assert "functions/hello.py:1:9: " in log and "atoll.toml: invalid" in log
    assert log.splitlines()[-1].startswith("r4 did not build")
    got = _diff(client, acme, "v2", "v3")
    assert [f["path"] for f in got["files"]] == ["atoll.toml", "functions/hello.py"]
    assert got["config"] == [] and got["notes"][0].startswith("v3's atoll.toml does not parse")


def test_bad_versions_unknown_releases_and_another_tenant(
    client: TestClient, acme: dict[str, str], globex: dict[str, str], two: None
) -> None:
    for path, status in (
        ("v1/diff/vx", 422),
        ("v0/diff/v1", 422),
        ("v1/diff/" + "9" * 20, 422),
        ("v1/diff/v1?patch=maybe", 422),
        ("v1/diff/v9", 404),
        ("v9/diff/v1", 404),
    ):
        r = client.get(f"/api/v1/apps/shop/releases/{path}", headers=acme)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"], r.text
    # Another tenant: no such app, whatever it holds.
    r = client.get("/api/v1/apps/shop/releases/v1/diff/v2", headers=globex)
    assert r.status_code == 404 and "hello" not in r.text
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=globex).status_code == 201
    commit_text(client, globex, "shop", {"functions/hello.py": HELLO})
    _release(client, globex)
    # Its own shop has v1 only: acme's v2 is not reachable through it.
    r = client.get("/api/v1/apps/shop/releases/v1/diff/v2", headers=globex)
    assert r.status_code == 404
    assert client.get("/api/v1/apps/shop/releases/v1/diff/v2", headers={}).status_code == 401
