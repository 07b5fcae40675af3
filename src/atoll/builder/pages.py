"""Serving an app's pages: the HTML shell wired to the platform assets and a component build."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from atoll.builder.components import ComponentManifest
from atoll.builder.platform import LAZY_NODE_TYPES, PlatformAssets
from atoll.sdui.html import (
    API_BASE,
    DEFAULT_ICON,
    PAGES_BASE,
    component_names,
    node_types,
    render_page_html,
)


def lazy_chunk_urls(page: Mapping[str, Any], platform: PlatformAssets) -> list[str]:
    """The runtime's on-demand chunks this page renders with (tables, dialogs, charts...)."""
    types = node_types(page)
    if "Button.confirm" in types:
        types.add("Dialog")
    return [
        url
        for name, url in sorted(platform.lazy_chunks.items())
        if types & LAZY_NODE_TYPES.get(name, frozenset())
    ]


def render_app_page(
    page: Mapping[str, Any],
    *,
    platform: PlatformAssets,
    components: ComponentManifest,
    route: str,
    routes: Iterable[str],
    api_base: str = API_BASE,
    pages_base: str = PAGES_BASE,
    theme_css: str = "",
    icon: str = DEFAULT_ICON,
    dev: Mapping[str, Any] | None = None,
) -> str:
    """The HTML of one page: the import map names the shared React, never a per-app copy.

    The modules and stylesheets of the components this page mounts are preloaded, so the
    browser fetches them alongside React instead of after the runtime has started; so are
    the runtime's chunks for the nodes it uses that are not in the main bundle.
    """
    modules, sheets = components.preload_urls(component_names(page))
    return render_page_html(
        page,
        route=route,
        routes=routes,
        import_map=platform.import_map,
        runtime_js=platform.runtime_js,
        runtime_css=platform.runtime_css,
        components=components.browser_entries(),
        preload=[*platform.preload, *lazy_chunk_urls(page, platform), *modules],
        preload_fetch=sheets,
        api_base=api_base,
        pages_base=pages_base,
        theme_css=theme_css,
        icon=icon,
        dev=dev,
    )
