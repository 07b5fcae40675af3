"""The HTML shell of a page: import map, runtime, and the page JSON the runtime boots from."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

API_BASE = "/api"
PAGES_BASE = "/_atoll/pages"
# An app with no static/favicon.* still names an icon, so browsers do not ask for
# /favicon.ico (a 404 each app page would log in its console).
DEFAULT_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Ccircle cx='8' cy='8' r='7' fill='%230e7c86'/%3E%3Ccircle cx='8' cy='8' r='3' "
    "fill='%23fff'/%3E%3C/svg%3E"
)


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def page_nodes(page: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a page's tree (any order)."""
    stack: list[Any] = [page.get("root")]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield node
        children = node.get("children")
        if isinstance(children, list):
            stack.extend(children)


def component_names(page: Mapping[str, Any]) -> set[str]:
    """Names of the components a page mounts (``Component`` nodes anywhere in its tree)."""
    names: set[str] = set()
    for node in page_nodes(page):
        props = node.get("props")
        if node.get("type") == "Component" and isinstance(props, dict):
            if isinstance(props.get("name"), str):
                names.add(props["name"])
    return names


def node_types(page: Mapping[str, Any]) -> set[str]:
    """The node types a page uses; ``Button.confirm`` stands for a Button that asks first."""
    types: set[str] = set()
    for node in page_nodes(page):
        kind = node.get("type")
        if isinstance(kind, str):
            types.add(kind)
            props = node.get("props")
            if kind == "Button" and isinstance(props, dict) and props.get("confirm"):
                types.add("Button.confirm")
    return types


def route_for_page(path: str) -> str:
    """The route a page file serves: ``pages/index.json`` -> ``/``, ``pages/a.json`` -> ``/a``."""
    name = path.removeprefix("pages/").removesuffix(".json")
    if name == "index":
        return "/"
    return "/" + name.removesuffix("/index")


def page_file_for_route(route: str) -> str:
    """The page file for a route: ``/`` -> ``pages/index.json``, ``/a`` -> ``pages/a.json``."""
    name = route.strip("/") or "index"
    return f"pages/{name}.json"


def render_page_html(
    page: Mapping[str, Any],
    *,
    route: str,
    routes: Iterable[str],
    import_map: Mapping[str, str],
    runtime_js: str,
    runtime_css: str,
    components: Mapping[str, Mapping[str, str | None]],
    preload: Iterable[str] = (),
    preload_fetch: Iterable[str] = (),
    api_base: str = API_BASE,
    pages_base: str = PAGES_BASE,
    nonce: str | None = None,
    theme_css: str = "",
    icon: str = DEFAULT_ICON,
    dev: Mapping[str, Any] | None = None,
) -> str:
    """The full HTML document for one page of an app.

    ``theme_css`` is the app's checked theme (``sdui.theme.theme_css``), never raw tenant text.
    ``icon`` is the URL of the app's icon; ``dev`` is set only on pages of the environment
    that follows the workspace (what the IDE's preview may ask of the page, ``dev.py``).
    """
    boot: dict[str, Any] = {
        "page": page,
        "route": route,
        "routes": sorted(set(routes)),
        "components": dict(components),
        "apiBase": api_base,
        "pagesBase": pages_base,
    }
    if dev is not None:
        boot["dev"] = dict(dev)
    title = html.escape(str(page.get("title") or "Atoll app"))
    nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
    links = "\n".join(
        [f'<link rel="modulepreload" href="{html.escape(u)}">' for u in dict.fromkeys(preload)]
        + [
            # Matches the runtime's fetch() of stylesheets, so the preloaded response is reused.
            f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{html.escape(u)}">'
            for u in dict.fromkeys(preload_fetch)
        ]
    )
    # Belt and braces: a theme is built from checked values, but never let it close the element.
    safe_theme = theme_css.replace("<", "")
    style = f"<style{nonce_attr}>{safe_theme}</style>" if safe_theme else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{html.escape(icon)}">
<script type="importmap"{nonce_attr}>{script_json({"imports": dict(import_map)})}</script>
{links}
<link rel="stylesheet" href="{html.escape(runtime_css)}">
{style}
<script type="application/json" id="atoll-boot">{script_json(boot)}</script>
<script type="module" src="{html.escape(runtime_js)}"{nonce_attr}></script>
</head>
<body>
<div id="atoll-root"></div>
<noscript>This app needs JavaScript.</noscript>
</body>
</html>
"""
