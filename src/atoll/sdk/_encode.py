"""JSON encoding of function return values (dicts, lists, pydantic models, dataclasses)."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import typing
from typing import Any


def _types(module: str, *names: str) -> tuple[type, ...]:
    # A value can only be of a type whose module is already imported: no import needed.
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, n) for n in names) if loaded is not None else ()


_SCALARS = frozenset({str, int, float, bool, type(None)})
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for anything a function may return."""
    kind = type(value)
    if kind in _SCALARS:  # the common cases first, by exact type (subclasses go the long way)
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list:
        return [to_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, _types("datetime", "datetime", "date", "time")):
        return typing.cast(Any, value).isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    stringy = _types("decimal", "Decimal") + _types("uuid", "UUID") + _types("pathlib", "PurePath")
    if isinstance(value, stringy):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON")


def to_json_bytes(value: Any) -> bytes:
    """The JSON encoding of a return value."""
    return _ENCODER.encode(to_jsonable(value)).encode()
