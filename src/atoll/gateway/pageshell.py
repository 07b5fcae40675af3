"""What an app page's HTML shell says beyond the page itself: the app's icon, and on dev
pages which IDE origins may tell the page that a new build is live (the preview)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from atoll.config import Settings
from atoll.sdui.html import DEFAULT_ICON

# In the order a browser would prefer them; the first one the app has is its icon.
ICON_FILES = ("favicon.svg", "favicon.png", "favicon.ico")


@functools.lru_cache(maxsize=1024)
def app_icon(static_dir: Path) -> str:
    """The URL of the app's ``static/favicon.*``, else the platform's default icon.

    Cached per folder: a deployment's code folder never changes once built.
    """
    for name in ICON_FILES:
        if (static_dir / name).is_file():
            return f"/{name}"
    return DEFAULT_ICON


def ide_origins(settings: Settings) -> list[str]:
    """The origins the IDE may be opened at: the names of the control plane's address."""
    hosts = dict.fromkeys([settings.host, settings.public_host, "localhost", "127.0.0.1"])
    return [f"http://{host}:{settings.port}" for host in hosts if host not in ("0.0.0.0", "::")]


def dev_boot(settings: Settings) -> dict[str, Any]:
    """The ``dev`` part of a dev page's boot JSON (``web/runtime/dev.js`` reads it)."""
    return {"ide": ide_origins(settings)}
