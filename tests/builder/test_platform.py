"""The platform's vendor bundle and runtime, the page shell, and asset lookup."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atoll.builder.assets import IMMUTABLE, find_asset
from atoll.builder.components import ComponentManifest
from atoll.builder.pages import render_app_page
from atoll.builder.platform import PlatformAssets, build_platform_assets, build_stamped
from atoll.sdui.html import page_file_for_route, render_page_html, route_for_page, script_json

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


@pytest.fixture(scope="module")
def platform() -> PlatformAssets:
    """The platform assets (built once, then reused from the stamp)."""
    return build_platform_assets()


def test_vendor_bundle_shares_one_react(platform: PlatformAssets) -> None:
    assert set(platform.import_map) == {
        "react",
        "react/jsx-runtime",
        "react-dom",
        "react-dom/client",
        "@atoll/ui",
    }
    for url in platform.import_map.values():
        asset = find_asset(platform.root, url.removeprefix(platform.url_prefix))
        assert asset is not None, url
    react = find_asset(
        platform.root, platform.import_map["react"].removeprefix(platform.url_prefix)
    )
    assert react is not None
    text = react.path.read_text()
    assert re.search(r"\buseState\b", text) and re.search(r"\bcreateElement\b", text)
    react_core = [f for f, size in platform.sizes.items() if "/vendor/" in f and size > 5000]
    assert len(react_core) <= 3  # react, react-dom/client and their shared chunk: nothing twice


def test_second_build_reuses_the_stamp(platform: PlatformAssets) -> None:
    again = build_platform_assets()
    assert again.stamp == platform.stamp and again.import_map == platform.import_map


def _writes(text: str, calls: list[str]) -> Callable[[Path], dict[str, Any]]:
    def build(work: Path) -> dict[str, Any]:
        calls.append(text)
        (work / "out").mkdir()
        (work / "out" / "file.txt").write_text(text)
        return {"stamp": text, "text": text}

    return build


def test_a_stamped_build_is_reused_until_the_stamp_changes(tmp_path: Path) -> None:
    calls: list[str] = []
    first = build_stamped(tmp_path, "aaa", ".x.json", _writes("aaa", calls))
    again = build_stamped(tmp_path, "aaa", ".x.json", _writes("aaa", calls))
    assert first == again == {"stamp": "aaa", "text": "aaa"} and calls == ["aaa"]
    build_stamped(tmp_path, "bbb", ".x.json", _writes("bbb", calls))
    assert calls == ["aaa", "bbb"] and (tmp_path / "bbb" / "file.txt").read_text() == "bbb"
    assert json.loads((tmp_path / ".x.json").read_text())["stamp"] == "bbb"
    # Only the stamps and the manifest remain: no work folder, no temporary manifest.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.json", "aaa", "bbb"]


def test_a_stamped_build_that_lost_a_race_keeps_the_winners_files(tmp_path: Path) -> None:
    (tmp_path / "aaa").mkdir()
    (tmp_path / "aaa" / "file.txt").write_text("winner")
    data = build_stamped(tmp_path, "aaa", ".x.json", _writes("aaa", []))
    assert data["stamp"] == "aaa" and (tmp_path / "aaa" / "file.txt").read_text() == "winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.json", "aaa"]


def test_a_failed_stamped_build_leaves_nothing_behind(tmp_path: Path) -> None:
    def build(work: Path) -> dict[str, Any]:
        (work / "out").mkdir()
        raise RuntimeError("esbuild said no")

    with pytest.raises(RuntimeError):
        build_stamped(tmp_path, "aaa", ".x.json", build)
    assert list(tmp_path.iterdir()) == []


def test_page_shell_has_import_map_before_modules(platform: PlatformAssets) -> None:
    components = ComponentManifest(public_path="/_atoll/assets/")
    page = {
        "schemaVersion": 1,
        "title": "</script><script>alert(1)</script>",
        "root": {"type": "Text", "props": {"text": "x"}},
    }
    html = render_app_page(
        page, platform=platform, components=components, route="/", routes=["/", "/about"]
    )
    assert (
        html.index('type="importmap"') < html.index("modulepreload") < html.index('type="module"')
    )
    assert "<script>alert(1)" not in html
    assert "\\u003c/script\\u003e" in html
    assert "&lt;/script&gt;" in html.split("<title>")[1]
    assert platform.runtime_js in html and platform.runtime_css in html


def test_script_json_escapes_dangerous_sequences() -> None:
    assert (
        script_json({"a": "</script><!--\u2028&"})
        == '{"a":"\\u003c/script\\u003e\\u003c!--\\u2028\\u0026"}'
    )


def test_routes_and_page_files() -> None:
    assert route_for_page("pages/index.json") == "/"
    assert route_for_page("pages/about.json") == "/about"
    assert route_for_page("pages/docs/index.json") == "/docs"
    assert page_file_for_route("/") == "pages/index.json"
    assert page_file_for_route("/about/") == "pages/about.json"


def test_find_asset_refuses_traversal_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "a-HASH.js").write_text("x")
    (tmp_path / ".secret").write_text("x")
    (tmp_path / ".manifest.json").write_text("{}")
    (tmp_path / "manifest.json").write_text("{}")  # e.g. a web app manifest: an ordinary file
    outside = tmp_path.parent / "outside.js"
    outside.write_text("x")
    (tmp_path / "link.js").symlink_to(outside)
    asset = find_asset(tmp_path, "a-HASH.js")
    assert asset is not None
    assert asset.headers["cache-control"] == IMMUTABLE
    assert asset.content_type == "text/javascript; charset=utf-8"
    assert find_asset(tmp_path, "manifest.json") is not None
    for bad in (
        "../outside.js",
        ".secret",
        ".manifest.json",
        "link.js",
        "",
        "/",
        "nope.js",
        "a/../a-HASH.js",
    ):
        assert find_asset(tmp_path, bad) is None, bad


def test_page_shell_nonce_marks_the_scripts(platform: PlatformAssets) -> None:
    html = render_page_html(
        {"title": "t", "root": {"type": "Text", "props": {"text": "x"}}},
        route="/",
        routes=["/"],
        import_map=platform.import_map,
        runtime_js=platform.runtime_js,
        runtime_css=platform.runtime_css,
        components={},
        nonce='n"1',
    )
    assert html.count('nonce="n&quot;1"') == 2  # the import map and the runtime module


def test_pages_preload_only_the_runtime_chunks_they_use(platform: PlatformAssets) -> None:
    rich, chart = platform.lazy_chunks["rich"], platform.lazy_chunks["chart"]
    for url in (rich, chart):
        assert find_asset(platform.root, url.removeprefix(platform.url_prefix)) is not None

    def preloaded(root: dict[str, object]) -> set[str]:
        page = {"schemaVersion": 1, "root": root}
        html = render_app_page(
            page,
            platform=platform,
            components=ComponentManifest(public_path="/_atoll/assets/"),
            route="/",
            routes=["/"],
        )
        return {u for u in (rich, chart) if f'<link rel="modulepreload" href="{u}">' in html}

    text = {"type": "Text", "props": {"text": "x"}}
    assert preloaded({"type": "Stack", "children": [text]}) == set()
    assert (
        preloaded({"type": "Stack", "children": [{"type": "Button", "props": {"text": "b"}}]})
        == set()
    )
    table = {"type": "Table", "props": {"rows": [], "columns": []}}
    assert preloaded({"type": "Stack", "children": [text, table]}) == {rich}
    confirm = {"type": "Button", "props": {"text": "Delete", "confirm": {"title": "Sure?"}}}
    assert preloaded({"type": "Row", "children": [confirm]}) == {rich}
    pie = {"type": "Chart", "props": {"data": [], "x": "a", "y": "b"}}
    assert preloaded({"type": "AppShell", "props": {"title": "t"}, "children": [pie]}) == {
        rich,
        chart,
    }
