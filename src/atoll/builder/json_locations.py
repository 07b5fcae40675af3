"""Where a JSON path (``$.root.children[0].props``) points in a JSON text: line and column.

The text is walked along the path only; the values beside it are skipped by the C JSON
decoder, so finding one location costs about one parse of what comes before it.
"""

from __future__ import annotations

import json
import re

_STEP = re.compile(r'\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def path_parts(path: str) -> list[str | int] | None:
    """``$.a[0]["b c"]`` -> ``["a", 0, "b c"]``; None if it is not such a path."""
    if not path.startswith("$"):
        return None
    parts: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            return None
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(json.loads(quoted))
        pos = match.end()
    return parts


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _member(text: str, pos: int, key: str) -> int | None:
    """Offset of the value of ``key`` in the object starting at ``pos``."""
    pos = _skip_space(text, pos + 1)
    while text[pos] == '"':
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        if text[pos] != ":":
            return None
        pos = _skip_space(text, pos + 1)
        if name == key:
            return pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        if text[pos] != ",":
            return None
        pos = _skip_space(text, pos + 1)
    return None


def _item(text: str, pos: int, index: int) -> int | None:
    """Offset of item ``index`` of the array starting at ``pos``."""
    pos = _skip_space(text, pos + 1)
    if text[pos] == "]":
        return None
    for _ in range(index):
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        if text[pos] != ",":
            return None
        pos = _skip_space(text, pos + 1)
    return pos


def value_offset(text: str, parts: list[str | int]) -> int:
    """Offset of the value at ``parts``, or of the deepest value on the way that exists."""
    pos = _skip_space(text, 0)
    for part in parts:
        try:
            if text[pos] == "{" and isinstance(part, str):
                found = _member(text, pos, part)
            elif text[pos] == "[" and isinstance(part, int):
                found = _item(text, pos, part)
            else:
                found = None
        except (ValueError, IndexError, RecursionError):
            found = None
        if found is None:
            break
        pos = found
    return pos


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def locate_json_path(text: str, path: str) -> tuple[int, int] | None:
    """Line and column of what ``path`` names in ``text`` (or of its nearest existing
    parent); None if ``path`` is not a JSON path."""
    parts = path_parts(path)
    if parts is None:
        return None
    return line_column(text, value_offset(text, parts))
