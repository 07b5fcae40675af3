"""Looking up built files for HTTP: safe paths, content types and cache headers."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """A file to send: where it is, its content type and its headers."""

    path: Path
    content_type: str
    headers: dict[str, str]


def find_asset(root: Path, url_path: str) -> Asset | None:
    """The file under ``root`` for a URL path below the assets prefix, or None.

    Dotfiles (the build's own bookkeeping) are never served. Every other file a build
    writes is content-hashed, so the headers say immutable.
    """
    relative = PurePosixPath(url_path.lstrip("/"))
    if not relative.parts or any(p in ("..", ".", "") or p.startswith(".") for p in relative.parts):
        return None
    path = root.joinpath(*relative.parts)
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    if not resolved.is_file() or not resolved.is_relative_to(root.resolve()):
        return None
    suffix = resolved.suffix.lower()
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(resolved.name)[0]
    return Asset(
        resolved,
        content_type or "application/octet-stream",
        {"cache-control": IMMUTABLE, "x-content-type-options": "nosniff"},
    )
