"""Turning app sources into browser artifacts: component bundles, the shared React, pages."""

from atoll.builder.assets import Asset, find_asset
from atoll.builder.components import ComponentEntry, ComponentManifest, build_components
from atoll.builder.esbuild import BuildMessage
from atoll.builder.frontend import (
    AppFrontend,
    FrontendBuild,
    build_frontend,
    check_pages,
    frontend_errors,
    frontend_errors_for_files,
)
from atoll.builder.pages import render_app_page
from atoll.builder.platform import PlatformAssets, build_platform_assets

__all__ = [
    "AppFrontend",
    "Asset",
    "BuildMessage",
    "ComponentEntry",
    "ComponentManifest",
    "FrontendBuild",
    "PlatformAssets",
    "build_components",
    "build_frontend",
    "build_platform_assets",
    "check_pages",
    "find_asset",
    "frontend_errors",
    "frontend_errors_for_files",
    "render_app_page",
]
