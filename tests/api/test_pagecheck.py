"""Checking a page's text as it is typed: the build's checks with lines and columns; bad
paths, oversized bodies and another tenant's app refused."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.conftest import commit_text

CHECK = "/api/v1/apps/shop/pages/check"
GOOD = {"schemaVersion": 1, "title": "Shop", "root": {"type": "Text", "props": {"text": "hi"}}}


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> dict[str, str]:
    """Tenant acme with an app ``shop`` with one component and one function."""
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    files = {"components/Cart.jsx": "export default () => null;\n", "functions/items.py": ""}
    commit_text(client, acme, "shop", files)
    return acme


def _check(client: TestClient, headers: dict[str, str], text: str, path: str = "pages/a.json"):  # type: ignore[no-untyped-def]
    return client.post(CHECK, params={"path": path}, content=text.encode(), headers=headers)


def test_a_good_page_has_no_issues(client: TestClient, shop: dict[str, str]) -> None:
    r = _check(client, shop, json.dumps(GOOD, indent=2))
    assert r.status_code == 200 and r.json() == {"ok": True, "issues": []}


def test_a_syntax_error_names_its_line_and_column(client: TestClient, shop: dict[str, str]) -> None:
    r = _check(client, shop, '{\n  "title": "x",\n  oops\n}')
    body = r.json()
    assert r.status_code == 200 and body["ok"] is False
    [issue] = body["issues"]
    assert (issue["line"], issue["severity"]) == (3, "error")


def test_schema_and_reference_errors_point_at_their_lines(
    client: TestClient, shop: dict[str, str]
) -> None:
    page = {
        "schemaVersion": 1,
        "title": "Shop",
        "data": {"items": {"function": "nope"}},
        "root": {"type": "Stack", "children": [{"type": "Component", "props": {"name": "Cart"}}]},
    }
    text = json.dumps(page, indent=2)
    body = _check(client, shop, text).json()
    assert body["ok"] is False
    lines = text.splitlines()
    for issue in body["issues"]:
        assert issue["line"] is not None
        if "nope" in issue["message"]:
            assert "nope" in lines[issue["line"] - 1]
    assert any("nope" in i["message"] for i in body["issues"])
    # The component exists in the workspace, so mounting it is no issue.
    assert not any("Cart" in i["message"] for i in body["issues"])
    bad_type = dict(GOOD, root={"type": 3})
    assert _check(client, shop, json.dumps(bad_type)).json()["ok"] is False


@pytest.mark.parametrize("path", ["index.json", "pages/../x.json", "pages/a.txt", "/pages/a.json"])
def test_only_page_paths_are_checked(client: TestClient, shop: dict[str, str], path: str) -> None:
    assert _check(client, shop, "{}", path=path).status_code == 422


def test_not_utf8_and_oversized(client: TestClient, shop: dict[str, str]) -> None:
    r = client.post(CHECK, params={"path": "pages/a.json"}, content=b"\xff\xfe\xfa", headers=shop)
    assert r.status_code == 200 and r.json()["ok"] is False
    big = '{"title": "' + "x" * (1024 * 1024) + '"}'
    assert _check(client, shop, big).status_code == 413


def test_another_tenants_app_is_404(
    client: TestClient, shop: dict[str, str], globex: dict[str, str]
) -> None:
    assert _check(client, globex, json.dumps(GOOD)).status_code == 404
    assert client.post(CHECK, params={"path": "pages/a.json"}, content=b"{}").status_code == 401
