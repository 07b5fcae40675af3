"""Apps that start from one of the examples that come with Atoll."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


def test_the_examples_are_listed_and_an_app_starts_from_one(
    client: TestClient, acme: dict[str, str]
) -> None:
    listed = client.get("/api/v1/examples", headers=acme).json()
    names = [e["name"] for e in listed]
    assert "todo" in names and "crm" in names
    assert all(e["description"] for e in listed)
    r = client.post("/api/v1/apps", json={"name": "mytodo", "example": "todo"}, headers=acme)
    assert r.status_code == 201, r.text
    assert r.json()["revisions"] == 1 and r.json()["head_revision"]
    files = json.dumps(client.get("/api/v1/apps/mytodo/files", headers=acme).json())
    assert "functions/todos.py" in files and "pages/index.json" in files
    empty = client.post("/api/v1/apps", json={"name": "blank"}, headers=acme).json()
    assert empty["revisions"] == 0


@pytest.mark.parametrize("example", ["nope", "../todo", "todo/../crm", "", "x" * 101])
def test_an_unknown_example_creates_nothing(
    client: TestClient, acme: dict[str, str], example: str
) -> None:
    r = client.post("/api/v1/apps", json={"name": "shop", "example": example}, headers=acme)
    assert r.status_code in (404, 422), r.text
    assert client.get("/api/v1/apps/shop", headers=acme).status_code == 404
    assert client.get("/api/v1/examples").status_code == 401
