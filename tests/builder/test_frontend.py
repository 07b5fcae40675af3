"""Release builds of the browser side: pages checked against the app, then served."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atoll.builder.frontend import (
    AppFrontend,
    build_frontend,
    check_pages,
    frontend_errors_for_files,
)
from atoll.errors import BadInput, BuildFailed
from tests.builder.files import write

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_example_apps_have_valid_pages() -> None:
    for app in sorted(EXAMPLES.iterdir()):
        if (app / "pages").is_dir():
            pages, errors, _ = check_pages(app)
            assert errors == [], (app.name, errors)
            assert "/" in pages


def test_page_errors_name_file_and_path(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app",
        {
            "pages/index.json": json.dumps(
                {"schemaVersion": 1, "root": {"type": "Component", "props": {"name": "Nope"}}}
            ),
            "pages/about.json": '{"schemaVersion": 1,\n "root": }',
            "functions/todos.py": "",
        },
    )
    with pytest.raises(BuildFailed) as caught:
        build_frontend(app, tmp_path / "out")
    errors = caught.value.detail["errors"]
    assert {"file": "pages/about.json", "path": "$", "line": 2, "column": 10}.items() <= errors[
        0
    ].items()
    assert errors[1] == {
        "file": "pages/index.json",
        "path": "$.root.props.name",
        "line": 1,
        "column": 70,  # where the path points: at "Nope"
        "message": "no component components/Nope.jsx (or .tsx)",
    }


def test_page_errors_point_at_their_line(tmp_path: Path) -> None:
    page = {
        "schemaVersion": 1,
        "title": "Shop",
        "root": {"type": "Stack", "children": [{"type": "Heading", "props": {"level": 2}}]},
    }
    app = write(
        tmp_path / "app",
        {
            "pages/index.json": json.dumps(page, indent=2),
            "pages/deep.json": "[" * 100_000 + "]" * 100_000,
        },
    )
    _, errors, _ = check_pages(app)
    by_file = {e["file"]: e for e in errors}
    # The Heading lacks its required text: reported where its props object starts.
    heading = by_file["pages/index.json"]
    assert heading["path"] == "$.root.children[0].props.text"
    assert (heading["line"], heading["column"]) == (9, 18)
    assert by_file["pages/deep.json"]["message"] == "page nests too deeply to parse"


def test_built_frontend_serves_pages_and_assets(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app",
        {
            "pages/index.json": json.dumps(
                {
                    "schemaVersion": 1,
                    "title": "Home",
                    "root": {"type": "Component", "props": {"name": "Hi"}},
                }
            ),
            "pages/docs/intro.json": json.dumps(
                {"root": {"type": "Text", "props": {"text": "unversioned draft"}}}
            ),
            "components/Hi.jsx": "export default () => <p>hi</p>;\n",
        },
    )
    build = build_frontend(app, tmp_path / "out")
    assert set(build.pages) == {"/", "/docs/intro"}
    assert build.pages["/docs/intro"]["schemaVersion"] == 1  # migrated forward
    frontend = AppFrontend.load(tmp_path / "out")
    html = frontend.page_html("/")
    assert html is not None and "<title>Home</title>" in html
    assert frontend.page_html("/missing") is None
    base = f"/_atoll/pages/{frontend.build_id}"
    assert frontend.pages_base == base and base in html
    assert frontend.page_json_for_path(f"{base}/docs/intro.json") == build.pages["/docs/intro"]
    assert frontend.page_json_for_path(f"{base}/index.json") == build.pages["/"]
    assert frontend.page_json_for_path("/_atoll/pages/0000000000000000/index.json") is None
    js_url = frontend.components.browser_entries()["Hi"]["js"]
    assert js_url is not None
    asset = frontend.asset(js_url)
    assert asset is not None and asset.headers["cache-control"].endswith("immutable")
    assert frontend.asset(frontend.platform.import_map["react"]) is not None
    assert frontend.asset("/_atoll/assets/../.pages.json") is None
    assert frontend.asset("/_atoll/assets/.pages.json") is None
    assert frontend.asset("/_atoll/assets/.manifest.json") is None
    assert frontend.asset("/_atoll/static/.platform.json") is None


def test_page_html_preloads_only_its_components(tmp_path: Path) -> None:
    def page_with(name: str) -> str:
        root = {"type": "Stack", "children": [{"type": "Component", "props": {"name": name}}]}
        return json.dumps({"schemaVersion": 1, "root": root})

    app = write(
        tmp_path / "app",
        {
            "pages/index.json": page_with("Styled"),
            "pages/other.json": page_with("Plain"),
            "components/Styled.jsx": 'import "./Styled.css";\nexport default () => <p>s</p>;\n',
            "components/Styled.css": "p{color:red}",
            "components/Plain.jsx": "export default () => <p>p</p>;\n",
        },
    )
    build_frontend(app, tmp_path / "out")
    frontend = AppFrontend.load(tmp_path / "out")
    html = frontend.page_html("/")
    assert html is not None
    styled = frontend.components.components["Styled"]
    plain = frontend.components.components["Plain"]
    assert f'<link rel="modulepreload" href="/_atoll/assets/{styled.js}">' in html
    assert f'as="fetch" crossorigin="anonymous" href="/_atoll/assets/{styled.css}"' in html
    assert plain.js not in html.split('id="atoll-boot"')[0]


def test_frontend_errors_cover_pages_and_components_at_once() -> None:
    files = {
        "pages/index.json": json.dumps(
            {"schemaVersion": 1, "root": {"type": "Heading", "props": {"level": 2}}}
        ).encode(),
        "components/Bad.jsx": b"export default function Bad() {\n  return <p>;\n",
    }
    errors = frontend_errors_for_files(files)
    assert [(e["file"], e.get("path"), e.get("line")) for e in errors] == [
        ("pages/index.json", "$.root.props.text", 1),
        ("components/Bad.jsx", None, 3),
    ]
    ok = {
        "pages/index.json": json.dumps({"root": {"type": "Text", "props": {"text": "x"}}}).encode()
    }
    assert frontend_errors_for_files(ok) == []
    with pytest.raises(BadInput):
        frontend_errors_for_files({"../escape.json": b"{}"})
