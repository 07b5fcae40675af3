"""An app's browser side as one release artifact: checked pages plus component bundles.

``build_frontend`` runs at release time and writes everything into one folder;
``AppFrontend.load`` reads that folder back for the gateway, which then answers page,
page-JSON and asset requests without touching the app's sources again.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from atoll.builder.assets import Asset, find_asset
from atoll.builder.components import (
    ASSETS_URL,
    MANIFEST_NAME,
    ComponentManifest,
    build_components,
    discover_components,
)
from atoll.builder.json_locations import locate_json_path
from atoll.builder.pages import render_app_page
from atoll.builder.platform import PlatformAssets, build_platform_assets
from atoll.errors import BadInput, BuildFailed
from atoll.sdui.html import API_BASE, DEFAULT_ICON, PAGES_BASE, route_for_page
from atoll.sdui.theme import read_theme, theme_css
from atoll.sdui.validation import check_page, parse_page_json

PAGES_FILE = ".pages.json"  # a dotfile: never served as an asset
THEME_FILE = ".theme.css"  # the app's checked [theme] as CSS variables
LOCATED_ERRORS = 50  # errors given a line (each costs up to one parse of the page)
_FUNCTION_FILE = re.compile(r"^([a-z_][a-z0-9_]{0,63})\.py$")


@dataclass(frozen=True)
class FrontendBuild:
    """What a release build of the browser side produced."""

    out_dir: Path
    pages: dict[str, dict[str, Any]]
    components: ComponentManifest
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _functions(src_dir: Path) -> set[str]:
    folder = src_dir / "functions"
    if not folder.is_dir():
        return set()
    return {m.group(1) for p in folder.iterdir() if (m := _FUNCTION_FILE.match(p.name))}


def _page_files(src_dir: Path) -> list[str]:
    folder = src_dir / "pages"
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(src_dir).as_posix() for p in folder.rglob("*.json"))


def check_pages(
    src_dir: Path,
    *,
    components: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every ``pages/*.json``: (route -> page JSON, errors, warnings) naming file + path
    (and, for the first ``LOCATED_ERRORS`` errors, the line and column the path points at)."""
    files = _page_files(src_dir)
    routes = {route_for_page(f) for f in files}
    components = set(discover_components(src_dir)) if components is None else components
    functions = _functions(src_dir) if functions is None else functions
    pages: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for rel in files:
        data = (src_dir / rel).read_bytes()
        try:
            raw = parse_page_json(data)
        except BadInput as exc:
            errors.append({"file": rel, "path": "$", **exc.detail, "message": exc.message})
            continue
        except RecursionError:
            errors.append({"file": rel, "path": "$", "message": "page nests too deeply to parse"})
            continue
        report = check_page(raw, components=components, functions=functions, routes=routes)
        text: str | None = None
        for issue in report.issues:
            entry: dict[str, Any] = {"file": rel, "path": issue.path, "message": issue.message}
            if issue.severity == "error" and len(errors) < LOCATED_ERRORS:
                text = data.decode(json.detect_encoding(data), "replace") if text is None else text
                found = locate_json_path(text, issue.path)
                if found is not None:
                    entry["line"], entry["column"] = found
            (errors if issue.severity == "error" else warnings).append(entry)
        if report.ok and report.page is not None:
            pages[route_for_page(rel)] = report.page.to_json()
    return pages, errors, warnings


def build_frontend(
    src_dir: Path,
    out_dir: Path,
    *,
    public_path: str = ASSETS_URL,
    deps_dir: Path | None = None,
    lockfile: bytes | None = None,
    node_modules: Path | None = None,
) -> FrontendBuild:
    """Check pages and bundle components of the app at ``src_dir`` into ``out_dir``.

    Raises ``BuildFailed`` with ``detail["errors"]`` listing every problem as
    ``{file, path | line, message}``. The component lockfile to keep is
    ``result.components.lockfile``.
    """
    pages, errors, warnings = check_pages(src_dir)
    config = src_dir / "atoll.toml"
    try:
        theme = theme_css(read_theme(config.read_text())) if config.is_file() else ""
    except BadInput as exc:
        errors.append({"file": "atoll.toml", "path": "theme", "message": exc.message})
        theme = ""
    if errors:
        shown = "; ".join(f"{e['file']} {e['path']}: {e['message']}" for e in errors[:3])
        raise BuildFailed(f"pages are invalid: {shown}", errors=errors)
    components = build_components(
        src_dir,
        out_dir,
        public_path=public_path,
        deps_dir=deps_dir,
        lockfile=lockfile,
        node_modules=node_modules,
    )
    (out_dir / PAGES_FILE).write_text(json.dumps(pages, separators=(",", ":")))
    (out_dir / THEME_FILE).write_text(theme)
    warnings += [{"file": None, "message": w} for w in components.warnings]
    return FrontendBuild(out_dir, pages, components, warnings)


@dataclass(frozen=True)
class AppFrontend:
    """A built release's browser side, ready to answer the gateway's requests.

    Page JSON is served under ``/_atoll/pages/<build_id>/``: a tab opened on an older
    release asks for a URL that no longer exists and falls back to a full page load.
    """

    out_dir: Path
    pages: dict[str, dict[str, Any]]
    components: ComponentManifest
    platform: PlatformAssets
    build_id: str
    theme_css: str = ""

    @classmethod
    def load(cls, out_dir: Path, platform: PlatformAssets | None = None) -> AppFrontend:
        """Read a folder written by ``build_frontend``."""
        pages_raw = _first_existing(out_dir, PAGES_FILE, "pages.json").read_bytes()
        manifest_raw = _first_existing(out_dir, MANIFEST_NAME, "manifest.json").read_bytes()
        build_id = hashlib.sha256(pages_raw + b"\0" + manifest_raw).hexdigest()[:16]
        manifest = ComponentManifest.from_json(json.loads(manifest_raw))
        platform = platform or build_platform_assets()
        theme = out_dir / THEME_FILE
        css = theme.read_text() if theme.is_file() else ""  # builds before themes have none
        return cls(out_dir, json.loads(pages_raw), manifest, platform, build_id, css)

    @property
    def pages_base(self) -> str:
        """URL prefix of this build's page JSON."""
        return f"{PAGES_BASE}/{self.build_id}"

    def page_html(
        self,
        route: str,
        *,
        api_base: str = API_BASE,
        icon: str = DEFAULT_ICON,
        dev: Mapping[str, Any] | None = None,
    ) -> str | None:
        """The HTML document for a route (``/``, ``/about``), or None if there is no page;
        ``icon`` and ``dev`` as for ``render_page_html``."""
        page = self.pages.get(_normal_route(route))
        if page is None:
            return None
        return render_app_page(
            page,
            platform=self.platform,
            components=self.components,
            route=_normal_route(route),
            routes=self.pages,
            api_base=api_base,
            pages_base=self.pages_base,
            theme_css=self.theme_css,
            icon=icon,
            dev=dev,
        )

    def page_json(self, route: str) -> dict[str, Any] | None:
        """The checked page JSON for a route."""
        return self.pages.get(_normal_route(route))

    def page_json_for_path(self, path: str) -> dict[str, Any] | None:
        """The page JSON for a request path like ``/_atoll/pages/<build_id>/about.json``."""
        prefix = self.pages_base + "/"
        if not path.startswith(prefix) or not path.endswith(".json"):
            return None
        name = path[len(prefix) : -len(".json")]
        return self.page_json("/" if name == "index" else "/" + name)

    def asset(self, path: str) -> Asset | None:
        """A file for a request path under the app's assets or the platform's static files."""
        if path.startswith(self.components.public_path):
            return find_asset(self.out_dir, path[len(self.components.public_path) :])
        if path.startswith(self.platform.url_prefix):
            return find_asset(self.platform.root, path[len(self.platform.url_prefix) :])
        return None


def _first_existing(folder: Path, name: str, old_name: str) -> Path:
    """``folder/name``, or the name builds used before (still readable)."""
    path = folder / name
    return path if path.exists() or not (folder / old_name).exists() else folder / old_name


def _normal_route(route: str) -> str:
    return "/" + route.strip("/") if route.strip("/") else "/"


def frontend_errors(src_dir: Path) -> list[dict[str, Any]]:
    """Every page and component error of the app at ``src_dir``; empty when it would build.

    For checking edits (the agent's validators): nothing is kept, pages and components are
    both checked even when one of them fails.
    """
    _, errors, _ = check_pages(src_dir)
    with tempfile.TemporaryDirectory(prefix="atoll-check-") as tmp:
        try:
            build_components(src_dir, Path(tmp) / "out")
        except BuildFailed as exc:
            errors += exc.detail.get("errors") or [{"file": None, "message": exc.message}]
        except BadInput as exc:
            errors.append({"file": "components/package.json", "message": exc.message})
    return errors


def frontend_errors_for_files(files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """``frontend_errors`` for an app given as relative path -> content."""
    with tempfile.TemporaryDirectory(prefix="atoll-check-") as tmp:
        root = Path(tmp) / "app"
        for rel, data in files.items():
            parts = PurePosixPath(rel).parts
            if rel.startswith("/") or not parts or any(p in ("", ".", "..") for p in parts):
                raise BadInput(f"bad path {rel!r}")
            path = root.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        root.mkdir(exist_ok=True)
        return frontend_errors(root)
