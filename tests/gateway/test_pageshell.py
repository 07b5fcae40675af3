"""An app page's shell: its icon (the app's static/favicon.* or the default) and, on dev
pages only, the IDE origins that may nudge the page after a build."""

from __future__ import annotations

import json
from pathlib import Path

from atoll.config import Settings
from atoll.gateway.pageshell import app_icon, dev_boot, ide_origins
from atoll.sdui.html import DEFAULT_ICON, render_page_html

PAGE = {"schemaVersion": 1, "title": "Shop", "root": {"type": "Text"}}
ARGS = {
    "route": "/",
    "routes": ["/"],
    "import_map": {},
    "runtime_js": "/r.js",
    "runtime_css": "/r.css",
}


def _boot(html: str) -> dict[str, object]:
    raw = html.split('id="atoll-boot">', 1)[1].split("</script>", 1)[0]
    boot: dict[str, object] = json.loads(raw)
    return boot


def test_the_apps_favicon_else_the_default(tmp_path: Path) -> None:
    assert app_icon(tmp_path / "none") == DEFAULT_ICON
    static = tmp_path / "static"
    static.mkdir()
    (static / "favicon.ico").write_bytes(b"\0")
    (static / "favicon.png").write_bytes(b"\0")
    assert app_icon(static) == "/favicon.png"


def test_every_page_declares_icon_title_language_and_viewport() -> None:
    html = render_page_html(PAGE, components={}, **ARGS)  # type: ignore[arg-type]
    assert f'<link rel="icon" href="{DEFAULT_ICON}">' in html.replace("&#x27;", "'")
    assert '<html lang="en">' in html and "<title>Shop</title>" in html
    assert 'name="viewport"' in html
    assert "dev" not in _boot(html)  # not a dev page: it listens to no one


def test_a_dev_page_names_the_ide_origins() -> None:
    settings = Settings(port=9000)
    html = render_page_html(PAGE, components={}, dev=dev_boot(settings), **ARGS)  # type: ignore[arg-type]
    assert _boot(html)["dev"] == {"ide": ide_origins(settings)}
    assert "http://127.0.0.1:9000" in ide_origins(settings)
    assert "http://localhost:9000" in ide_origins(settings)
    assert ide_origins(Settings(host="0.0.0.0", port=1)) == [
        "http://localhost:1",
        "http://127.0.0.1:1",
    ]
