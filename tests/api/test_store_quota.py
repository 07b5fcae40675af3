"""How much file content an app keeps: revisions and uploads count, uploads no revision names
are collected after an hour to make room, and what is over the limit is refused clearly."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atoll.config import Limits, Settings
from tests.conftest import head_of

APP = "/api/v1/apps/shop"
KiB = 1024
LIMIT = 100 * KiB


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh data dir and a 100 KiB store per app."""
    return Settings(data_dir=tmp_path / "data", limits=Limits(max_app_store_bytes=LIMIT))


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> dict[str, str]:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    return acme


def upload(client: TestClient, headers: dict[str, str], fill: bytes, app: str = APP) -> int:
    return client.post(f"{app}/blobs", content=fill * (60 * KiB), headers=headers).status_code


def sha_of(fill: bytes) -> str:
    return hashlib.sha256(fill * (60 * KiB)).hexdigest()


def age(settings: Settings, fill: bytes, hours: float = 2) -> None:
    """Make an upload look ``hours`` old."""
    sha = sha_of(fill)
    [path] = Path(settings.data_dir).rglob(sha[2:])
    old = time.time() - hours * 3600
    os.utime(path, (old, old))


def missing(client: TestClient, headers: dict[str, str], *fills: bytes) -> list[str]:
    body = {"sha256": [sha_of(f) for f in fills]}
    found: list[str] = client.post(f"{APP}/blobs/missing", json=body, headers=headers).json()[
        "missing"
    ]
    return found


def test_uploads_past_the_limit_are_refused_clearly(
    client: TestClient, shop: dict[str, str]
) -> None:
    assert upload(client, shop, b"a") == 201
    r = client.post(f"{APP}/blobs", content=b"b" * (60 * KiB), headers=shop)
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["detail"]["limit"] == "max_app_store_bytes"
    assert error["detail"]["max"] == LIMIT and error["detail"]["actual"] == 120 * KiB
    assert "every revision and upload together" in error["message"]
    assert upload(client, shop, b"a") == 201  # content it already has costs nothing


def test_old_unnamed_uploads_make_room(
    client: TestClient, shop: dict[str, str], settings: Settings
) -> None:
    assert upload(client, shop, b"a") == 201  # never committed
    age(settings, b"a")
    assert upload(client, shop, b"b") == 201
    assert missing(client, shop, b"a", b"b") == [sha_of(b"a")]  # collected


def test_recent_or_asked_about_uploads_are_kept(
    client: TestClient, shop: dict[str, str], settings: Settings
) -> None:
    assert upload(client, shop, b"a") == 201
    assert upload(client, shop, b"b") == 413  # "a" is too recent to collect
    age(settings, b"a")
    assert missing(client, shop, b"a") == []  # a push asking about it: it counts as used
    assert upload(client, shop, b"b") == 413
    commit = {"base": None, "changes": [{"path": "a.bin", "sha256": sha_of(b"a")}]}
    assert client.post(f"{APP}/revisions", json=commit, headers=shop).status_code == 201


def test_content_any_revision_names_is_never_collected(
    client: TestClient, shop: dict[str, str], settings: Settings
) -> None:
    assert upload(client, shop, b"a") == 201
    commit = {"base": None, "changes": [{"path": "a.bin", "sha256": sha_of(b"a")}]}
    first = client.post(f"{APP}/revisions", json=commit, headers=shop).json()["revision"]
    gone = client.delete(f"{APP}/files/a.bin", params={"base": first}, headers=shop)
    assert gone.status_code == 200  # only the history names it now
    age(settings, b"a")
    assert upload(client, shop, b"b") == 413
    old = client.get(f"{APP}/files/a.bin", params={"revision": first}, headers=shop)
    assert old.status_code == 200 and old.content == b"a" * (60 * KiB)
    assert head_of(client, shop, "shop") == gone.json()["revision"]


def test_each_app_has_its_own_room(
    client: TestClient, shop: dict[str, str], globex: dict[str, str]
) -> None:
    assert upload(client, shop, b"a") == 201
    assert upload(client, shop, b"b") == 413
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=globex).status_code == 201
    assert upload(client, globex, b"b") == 201  # another tenant's app of the same name
    assert client.post("/api/v1/apps", json={"name": "other"}, headers=shop).status_code == 201
    assert upload(client, shop, b"b", app="/api/v1/apps/other") == 201
