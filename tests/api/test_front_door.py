"""The control plane's own pages over HTTP: the front door, the API docs and their files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from atoll import __version__
from atoll.api import frontdoor, ide
from atoll.api.app import STRICT_POLICY, SecurityHeaders
from atoll.api.errors import install_error_handlers


def _policy(headers: httpx.Headers) -> dict[str, str]:
    """The Content-Security-Policy as directive -> sources."""
    value = headers.get("content-security-policy", "")
    pairs = (d.strip().partition(" ") for d in value.split(";") if d.strip())
    return {name: rest.strip() for name, _, rest in pairs}


def _links(body: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]+)"', body)


def make_pages_app(docs_dir: Path, swagger_dist: Path = frontdoor.SWAGGER_UI_DIST) -> FastAPI:
    """Just the front-door routes, with the control plane's error rendering and headers."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(ide.make_router(frontdoor.FrontDoor(docs_dir)))
    app.include_router(frontdoor.make_router(swagger_dist, docs_dir))
    app.add_middleware(SecurityHeaders)
    return app


@pytest.fixture
def pages_client(tmp_path: Path) -> Iterator[TestClient]:
    """A client of the pages with no Swagger UI files and a docs folder of our own."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# The `guide` <b>\n\nbody\n")
    (docs / "notes.txt").write_text("not a guide")
    (docs / "Upper.md").write_text("# not listed: the name rule is lower case")
    (docs / "linked.md").symlink_to(tmp_path / "outside.md")
    (tmp_path / "outside.md").write_text("# outside the docs folder")
    app = make_pages_app(swagger_dist=tmp_path / "missing", docs_dir=docs)
    with TestClient(app) as c:
        yield c


def test_the_front_door_says_what_this_is_and_how_to_start(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    policy = _policy(r.headers)
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == "'self'" and policy["img-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    # The page runs one script of this server's, the IDE's sign-in, which calls the API.
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["form-action"] == "'none'"
    body = r.text
    assert "<h1>Atoll control plane</h1>" in body and f"version {__version__}" in body
    for href in ("/api/docs", "/api/v1/openapi.json", "/api/v1/schemas/page.json"):
        assert f'href="{href}"' in body
    assert 'href="/docs/cli.md"' in body  # the project's guides
    for command in (
        "atoll login --server http://testserver --token TOKEN",
        "export ATOLL_SERVER=http://testserver",
        "export ATOLL_TOKEN=TOKEN",
        "&lt;data-dir&gt;/admin.token",
        "atoll tenant create acme",
        "atoll app create shop\n",
        "atoll push ./shop --app shop",
    ):
        assert command in body
    assert "Open the IDE" in body and 'id="signin"' in body
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, re.S)
    assert len(scripts) == 1 and scripts[0][1] == ""  # nothing inline
    assert re.fullmatch(
        r' type="module" src="/ide/assets/[0-9a-f]{16}/signin-\w+\.js"', scripts[0][0]
    )
    assert "style=" not in body and "http" not in body.split("<body>")[0]


def test_every_link_and_file_of_the_pages_answers(client: TestClient) -> None:
    seen = set()
    for page in ("/", "/api/docs"):
        for link in _links(client.get(page).text):
            assert link.startswith("/"), f"{page} links off this server: {link}"
            seen.add(link)
    for link in seen:
        r = client.get(link)
        assert r.status_code == 200, link
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "/api/docs/assets/swagger-ui-bundle.js" in seen and "/assets/docs.js" in seen


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/", "/api/docs", "/assets/frontdoor.css", "/api/docs/assets/swagger-ui.css"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


def test_api_docs_run_only_this_servers_scripts(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    policy = _policy(r.headers)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no CDN
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert [attrs for attrs, _ in scripts] == [
        ' src="/api/docs/assets/swagger-ui-bundle.js"',
        ' src="/assets/docs.js"',
    ]
    assert all(inline.strip() == "" for _, inline in scripts)
    assert 'data-openapi-url="/api/v1/openapi.json"' in r.text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [*frontdoor.SWAGGER_ASSETS.items()],
)
def test_swagger_ui_files_come_from_node_modules(
    client: TestClient, name: str, media_type: str
) -> None:
    r = client.get(f"/api/docs/assets/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == media_type
    assert r.content == (frontdoor.SWAGGER_UI_DIST / name).read_bytes()
    assert "max-age" in r.headers["cache-control"]


def test_swagger_ui_is_version_5_which_reads_openapi_3_1(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    package = (frontdoor.SWAGGER_UI_DIST / "package.json").read_text()
    assert re.search(r'"version": "5\.', package), package


@pytest.mark.parametrize(
    "path",
    [
        "/api/docs/assets/../../x",
        "/api/docs/assets/..%2f..%2fpackage.json",
        "/api/docs/assets/%2e%2e%2f%2e%2e%2fpackage.json",
        "/api/docs/assets/%2e%2e",
        "/api/docs/assets/",
        "/api/docs/assets/index.html",
        "/api/docs/assets/swagger-initializer.js",
        "/api/docs/assets/swagger-ui-bundle.js.map",
        "/api/docs/assets/package.json",
        "/assets/frontdoor.py",
        "/assets/..%2ffrontdoor.py",
        "/assets/..%2fapp.py",
        "/assets/%2e%2e",
        "/assets/nope.css",
        "/docs/..%2fREADME.md",
        "/docs/nope.md",
        "/docs/",
    ],
)
def test_traversal_and_unknown_files_are_404s(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, (path, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["content-security-policy"] == STRICT_POLICY


def test_the_pages_are_not_api_operations(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/v1/", "/healthz"))]


def test_without_swagger_ui_the_docs_page_says_what_is_missing(
    pages_client: TestClient,
) -> None:
    r = pages_client.get("/api/docs")
    assert r.status_code == 503
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert _policy(r.headers)["default-src"] == "'none'"
    assert "script-src" not in _policy(r.headers)
    assert "swagger-ui-dist" in r.text and "npm ci" in r.text
    assert 'href="/api/v1/openapi.json"' in r.text
    assert pages_client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 404
    assert pages_client.get("/").status_code == 200  # the front door does not need it


def test_project_docs_are_the_folders_guides_as_plain_text(pages_client: TestClient) -> None:
    body = pages_client.get("/").text
    listed = re.findall(r'href="/docs/([^"]+)"', body)
    assert listed == ["guide.md"]
    assert ">The guide &lt;b&gt;</a>" in body  # the title, with its HTML escaped
    r = pages_client.get("/docs/guide.md")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-security-policy"] == STRICT_POLICY
    assert r.text.startswith("# The `guide`")
    for name in ("linked.md", "notes.txt", "Upper.md"):
        assert pages_client.get(f"/docs/{name}").status_code == 404, name


def test_without_a_docs_folder_the_front_door_says_where_they_are(tmp_path: Path) -> None:
    app = make_pages_app(docs_dir=tmp_path / "none")
    with TestClient(app) as c:
        body = c.get("/").text
        assert "/docs/" not in re.sub(r"<code>docs/</code>", "", body)
        assert "the <code>docs/</code> folder of the Atoll source tree" in body
        assert c.get("/docs/api.md").status_code == 404
