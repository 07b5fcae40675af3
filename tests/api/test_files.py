"""The file API: revisions, stale writes, history, diffs, bad input and limits."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from atoll.config import MiB
from tests.conftest import commit_text, head_of

APP = "/api/v1/apps/shop"


@pytest.fixture
def shop(client: TestClient, acme: dict[str, str]) -> dict[str, str]:
    """Tenant acme with an app ``shop`` holding two files."""
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    commit_text(client, acme, "shop", {"a.txt": "one\n", "dir/b.txt": "two\n"})
    return acme


def _revision_count(client: TestClient, headers: dict[str, str]) -> int:
    count: int = client.get(APP, headers=headers).json()["revisions"]
    return count


def test_write_read_list_delete(client: TestClient, shop: dict[str, str]) -> None:
    head = head_of(client, shop, "shop")
    r = client.put(f"{APP}/files/c/d.bin", params={"base": head}, content=b"\x00\xff", headers=shop)
    assert r.status_code == 200 and r.json()["created"]
    new_head = r.json()["revision"]
    got = client.get(f"{APP}/files/c/d.bin", headers=shop)
    assert got.content == b"\x00\xff"
    assert got.headers["x-atoll-sha256"] == hashlib.sha256(b"\x00\xff").hexdigest()
    assert got.headers["x-atoll-revision"] == new_head
    listed = client.get(f"{APP}/files", headers=shop).json()
    assert [f["path"] for f in listed["files"]] == ["a.txt", "c/d.bin", "dir/b.txt"]
    r = client.delete(f"{APP}/files/a.txt", params={"base": new_head}, headers=shop)
    assert r.status_code == 200
    assert client.get(f"{APP}/files/a.txt", headers=shop).status_code == 404
    # The old revision still has it: revisions are immutable.
    old = client.get(f"{APP}/files/a.txt", params={"revision": new_head}, headers=shop)
    assert old.text == "one\n"


def test_stale_write_is_409_and_loses_nothing(client: TestClient, shop: dict[str, str]) -> None:
    base = head_of(client, shop, "shop")
    first = client.put(f"{APP}/files/a.txt", params={"base": base}, content=b"alice", headers=shop)
    assert first.status_code == 200
    second = client.put(f"{APP}/files/a.txt", params={"base": base}, content=b"bob", headers=shop)
    assert second.status_code == 409
    err = second.json()["error"]
    assert err["code"] == "stale_revision" and err["detail"]["head"] == first.json()["revision"]
    assert client.get(f"{APP}/files/a.txt", headers=shop).text == "alice"
    batch = {"base": base, "changes": [{"path": "x", "text": "y"}]}
    assert client.post(f"{APP}/revisions", json=batch, headers=shop).status_code == 409
    missing_base = client.put(f"{APP}/files/a.txt", content=b"carol", headers=shop)
    assert missing_base.status_code == 422


def test_batch_write_is_one_revision(client: TestClient, shop: dict[str, str]) -> None:
    before = _revision_count(client, shop)
    body = {
        "base": head_of(client, shop, "shop"),
        "message": "three at once",
        "changes": [
            {"path": "n1.txt", "text": "1"},
            {"path": "n2.bin", "base64": base64.b64encode(b"\x01\x02").decode()},
            {"path": "a.txt", "delete": True},
        ],
    }
    r = client.post(f"{APP}/revisions", json=body, headers=shop)
    assert r.status_code == 201
    assert _revision_count(client, shop) == before + 1
    files = {f["path"] for f in client.get(f"{APP}/files", headers=shop).json()["files"]}
    assert files == {"dir/b.txt", "n1.txt", "n2.bin"}
    history = client.get(f"{APP}/revisions", headers=shop).json()
    assert history[0]["message"] == "three at once"
    assert history[0]["author"] == "acme/default"
    assert history[0]["parent"] == history[1]["revision"]
    assert [h["number"] for h in history] == list(range(before + 1, 0, -1))


def test_unchanged_commit_creates_nothing(client: TestClient, shop: dict[str, str]) -> None:
    head = head_of(client, shop, "shop")
    body = {"base": head, "changes": [{"path": "a.txt", "text": "one\n"}]}
    r = client.post(f"{APP}/revisions", json=body, headers=shop)
    assert r.status_code == 200 and r.json()["created"] is False
    assert head_of(client, shop, "shop") == head


def test_history_and_diff(client: TestClient, shop: dict[str, str]) -> None:
    first = head_of(client, shop, "shop")
    commit_text(client, shop, "shop", {"a.txt": "one\nuno\n", "dir/b.txt": None, "new.md": "n"})
    second = head_of(client, shop, "shop")
    r = client.get(f"{APP}/diff", params={"from": first, "to": second}, headers=shop)
    assert r.status_code == 200
    changes = {c["path"]: c for c in r.json()["changes"]}
    assert {p: c["status"] for p, c in changes.items()} == {
        "a.txt": "modified",
        "dir/b.txt": "removed",
        "new.md": "added",
    }
    assert "+uno" in changes["a.txt"]["diff"]
    by_number = client.get(f"{APP}/revisions/r1", headers=shop).json()
    assert by_number["revision"] == first and by_number["files"][0]["path"] == "a.txt"
    assert client.get(f"{APP}/revisions/{first[:10]}", headers=shop).status_code == 200
    assert client.get(f"{APP}/revisions/zzz", headers=shop).status_code == 404
    page = client.get(f"{APP}/revisions", params={"limit": 1, "before": 2}, headers=shop).json()
    assert [p["number"] for p in page] == [1]


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "/etc/passwd",
        "a\\b.txt",
        "a\x00b.txt",
        "a//b.txt",
        "./a.txt",
        "a/",
        "tab\there",
        "\udcff.txt",
        "",
    ],
)
def test_unsafe_paths_are_refused(client: TestClient, shop: dict[str, str], path: str) -> None:
    before = _revision_count(client, shop)
    body = {
        "base": head_of(client, shop, "shop"),
        "changes": [{"path": "ok.txt", "text": "fine"}, {"path": path, "text": "evil"}],
    }
    # json.dumps escapes lone surrogates as \\uXXXX, which is how a non-UTF-8 name arrives.
    r = client.post(
        f"{APP}/revisions",
        content=json.dumps(body),
        headers=shop | {"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("invalid_path", "validation_failed")
    assert _revision_count(client, shop) == before  # the good change was not written either


@pytest.mark.parametrize("raw", ["..%2F..%2Fetc%2Fpasswd", "a%5Cb", "%ff%fe.txt", "a%00b"])
def test_unsafe_paths_in_urls_are_refused(
    client: TestClient, shop: dict[str, str], raw: str
) -> None:
    head = head_of(client, shop, "shop")
    r = client.put(f"{APP}/files/{raw}", params={"base": head}, content=b"x", headers=shop)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_path"
    assert head_of(client, shop, "shop") == head


def test_file_dir_clash_is_refused(client: TestClient, shop: dict[str, str]) -> None:
    body = {"base": head_of(client, shop, "shop"), "changes": [{"path": "a.txt/x", "text": "1"}]}
    r = client.post(f"{APP}/revisions", json=body, headers=shop)
    assert r.status_code == 400 and r.json()["error"]["detail"]["conflicts_with"] == "a.txt"


def test_bad_batches(client: TestClient, shop: dict[str, str]) -> None:
    head = head_of(client, shop, "shop")
    cases = [
        {"base": head, "changes": [{"path": "a", "text": "1", "base64": "MQ=="}]},
        {"base": head, "changes": [{"path": "a"}]},
        {"base": head, "changes": [{"path": "a", "base64": "!!notbase64"}]},
        {"base": head, "changes": [{"path": "a", "sha256": "0" * 64}]},
        {"base": head, "changes": [{"path": "a", "sha256": "nothex"}]},
        {"base": head, "changes": [{"path": "a", "text": "1"}, {"path": "a", "text": "2"}]},
        {"base": head, "changes": [{"path": "gone.txt", "delete": True}]},
        {"base": "r999", "changes": []},
        {"changes": []},
        {"base": head, "changes": "nope"},
    ]
    for body in cases:
        r = client.post(f"{APP}/revisions", json=body, headers=shop)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert r.json()["error"]["message"]
    assert head_of(client, shop, "shop") == head


def test_file_over_5_mib_is_refused(client: TestClient, shop: dict[str, str]) -> None:
    head = head_of(client, shop, "shop")
    big = b"x" * (5 * MiB + 1)
    r = client.put(f"{APP}/files/big.bin", params={"base": head}, content=big, headers=shop)
    assert r.status_code == 413
    assert r.json()["error"]["detail"]["limit"] == "max_file_bytes"
    r = client.post(f"{APP}/blobs", content=big, headers=shop)
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(6):
            yield b"y" * MiB

    r = client.post(f"{APP}/blobs", content=chunks(), headers=shop)
    assert r.status_code == 413
    assert (
        client.put(
            f"{APP}/files/ok.bin", params={"base": head}, content=b"x" * (5 * MiB), headers=shop
        ).status_code
        == 200
    )


def test_workspace_over_200_mib_is_refused(client: TestClient, shop: dict[str, str]) -> None:
    blob = client.post(f"{APP}/blobs", content=b"z" * (5 * MiB), headers=shop).json()["sha256"]
    head = head_of(client, shop, "shop")
    changes = [{"path": f"big/{i}.bin", "sha256": blob} for i in range(41)]  # 205 MiB
    r = client.post(f"{APP}/revisions", json={"base": head, "changes": changes}, headers=shop)
    assert r.status_code == 413
    assert r.json()["error"]["detail"]["limit"] == "max_workspace_bytes"
    assert head_of(client, shop, "shop") == head


def test_more_than_5000_files_is_refused(client: TestClient, shop: dict[str, str]) -> None:
    head = head_of(client, shop, "shop")
    changes = [{"path": f"f/{i}.txt", "text": "x"} for i in range(5001)]
    r = client.post(f"{APP}/revisions", json={"base": head, "changes": changes}, headers=shop)
    assert r.status_code == 413
    assert r.json()["error"]["detail"]["limit"] == "max_files"
    assert head_of(client, shop, "shop") == head


def test_oversized_and_malformed_json_bodies(client: TestClient, shop: dict[str, str]) -> None:
    huge = b'{"base": null, "changes": [], "message": "' + b"m" * (9 * MiB) + b'"}'
    r = client.post(
        f"{APP}/revisions", content=huge, headers=shop | {"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["detail"]["limit"] == "max_json_body_bytes"
    for bad in (b"{", b"[]", b'{"base": 1', b"\xff\xfe"):
        r = client.post(
            f"{APP}/revisions", content=bad, headers=shop | {"Content-Type": "application/json"}
        )
        assert r.status_code == 422, (bad, r.text)
    assert client.get("/healthz").status_code == 200


def test_app_names_are_validated(client: TestClient, acme: dict[str, str]) -> None:
    for name in ("A", "a", "1abc", "ab-", "a--b", "a" * 41, "a_b", "ab cd"):
        r = client.post("/api/v1/apps", json={"name": name}, headers=acme)
        assert r.status_code == 400, name
    assert client.post("/api/v1/apps", json={"name": "ab"}, headers=acme).status_code == 201
    assert client.post("/api/v1/apps", json={"name": "ab"}, headers=acme).status_code == 409


@pytest.mark.parametrize(
    ("path", "served_as"),
    [
        ("page.html", "text/plain; charset=utf-8"),
        ("pages/evil.htm", "text/plain; charset=utf-8"),
        ("static/evil.svg", "text/plain; charset=utf-8"),
        ("static/evil.xhtml", "text/plain; charset=utf-8"),
        ("static/evil.xml", "text/plain; charset=utf-8"),
        ("static/app.js", "text/plain; charset=utf-8"),
        ("static/feed.rss", "text/plain; charset=utf-8"),
        ("static/doc.pdf", "application/octet-stream"),
        ("static/noext", "application/octet-stream"),
        ("static/logo.png", "image/png"),
        ("data.json", "application/json"),
    ],
)
def test_files_are_never_rendered_on_the_control_plane_origin(
    client: TestClient, shop: dict[str, str], path: str, served_as: str
) -> None:
    # The control plane's origin will hold the IDE and its session cookie: a workspace file
    # opened there must not run as a page.
    html = "<html><script>fetch('/api/v1/me').then(r => r.text()).then(alert)</script>"
    commit_text(client, shop, "shop", {path: html})
    got = client.get(f"{APP}/files/{path}", headers=shop)
    assert got.status_code == 200 and got.text == html
    assert got.headers["content-type"] == served_as
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment")
    policy = got.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy


def test_download_names_cannot_break_out_of_their_header(
    client: TestClient, shop: dict[str, str]
) -> None:
    path = 'dir/we"ird; name=x.html \u00fc.txt'
    commit_text(client, shop, "shop", {path: "x"})
    got = client.get(f"{APP}/files/{path}", headers=shop)
    assert got.status_code == 200
    assert got.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''we%22ird%3B%20name%3Dx.html%20%C3%BC.txt"
    )
