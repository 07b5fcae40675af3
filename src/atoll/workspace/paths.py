"""Workspace path rules: relative, forward-slash, UTF-8, no traversal."""

from __future__ import annotations

from atoll.errors import InvalidPath, LimitExceeded

MAX_SEGMENT_BYTES = 255


def check_path(path: str, max_bytes: int = 1024) -> str:
    """Return ``path`` if it is a safe workspace path, else raise ``InvalidPath``.

    A safe path is relative, uses ``/`` between non-empty segments, has no ``.`` or ``..``
    segment, no backslash, NUL or other control character, and encodes as UTF-8.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath("a file path must be a non-empty string", path=path)
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath("file path is not valid UTF-8", path=repr(path)) from None
    if len(encoded) > max_bytes:
        raise LimitExceeded(
            f"file path is longer than {max_bytes} bytes",
            limit="max_path_length",
            max=max_bytes,
            path=path[:100],
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise InvalidPath("file path contains NUL or a control character", path=repr(path))
    if "\\" in path:
        raise InvalidPath("file path contains a backslash; use '/'", path=path)
    if path.startswith("/"):
        raise InvalidPath("file path must be relative, not absolute", path=path)
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidPath(
                "file path has an empty, '.' or '..' segment", path=path, segment=segment
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidPath(
                f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes", path=path[:100]
            )
    return path
