"""Hrana structures: parsing requests, encoding values, evaluating batch conditions.

Pure functions only (no sockets, no SQLite), so they are tested directly. The wire format
follows libSQL's Hrana 3 specification (JSON encoding).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from atoll.errors import BadRequest

Value = None | int | float | str | bytes

NULL_VALUE: dict[str, Any] = {"type": "null"}
_PARAM_PREFIXES = (":", "@", "$")

#: SQLite's primary result code names; every extended name is one of these plus ``_SUFFIX``.
SQLITE_PRIMARY_CODES = frozenset(
    "SQLITE_" + name
    for name in (
        "OK ERROR INTERNAL PERM ABORT BUSY LOCKED NOMEM READONLY INTERRUPT IOERR CORRUPT "
        "NOTFOUND FULL CANTOPEN PROTOCOL EMPTY SCHEMA TOOBIG CONSTRAINT MISMATCH MISUSE NOLFS "
        "AUTH FORMAT RANGE NOTADB NOTICE WARNING ROW DONE"
    ).split()
)


class ProtocolError(BadRequest):
    """A Hrana request is malformed (bad JSON shape, unknown type, bad value)."""

    code = "hrana_protocol_error"


@dataclass(frozen=True, slots=True)
class Stmt:
    """One SQL statement with its arguments, as sent by a client."""

    sql: str | None
    sql_id: int | None = None
    args: tuple[Value, ...] = ()
    named_args: Mapping[str, Value] = field(default_factory=dict)
    want_rows: bool = True


@dataclass(frozen=True, slots=True)
class Cond:
    """A batch step condition (ok, error, not, and, or, is_autocommit)."""

    kind: str
    step: int = 0
    conds: tuple[Cond, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchStep:
    """A statement of a batch, run only when its condition holds."""

    stmt: Stmt
    condition: Cond | None = None


def _expect_dict(obj: object, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} must be a JSON object")
    return obj


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"'{key}' must be an integer")
    return value


def decode_value(obj: object) -> Value:
    """Turn a Hrana ``Value`` object into a Python value for SQLite."""
    value = _expect_dict(obj, "a value")
    kind = value.get("type")
    try:
        if kind == "null":
            return None
        if kind == "integer":
            raw = value["value"]
            number = int(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
            if number is None or not -(2**63) <= number < 2**63:
                raise ProtocolError("an integer value must be a 64-bit integer in a string")
            return number
        if kind == "float":
            raw = value["value"]
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ProtocolError("a float value must be a JSON number")
            return float(raw)
        if kind == "text":
            raw = value["value"]
            if not isinstance(raw, str):
                raise ProtocolError("a text value must be a string")
            return raw
        if kind == "blob":
            raw = value.get("base64", "")
            if not isinstance(raw, str):
                raise ProtocolError("a blob value must be base64 text")
            return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (KeyError, ValueError, binascii.Error) as exc:
        raise ProtocolError(f"malformed {kind} value") from exc
    raise ProtocolError(f"unknown value type {kind!r}")


def encode_value(value: object) -> dict[str, Any]:
    """Turn a value read from SQLite into a Hrana ``Value`` object."""
    if value is None:
        return NULL_VALUE
    kind = type(value)
    if kind is int:
        return {"type": "integer", "value": str(value)}
    if kind is str:
        return {"type": "text", "value": value}
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            # JSON has no infinity; text keeps the response parseable by every client.
            return {"type": "text", "value": str(value)}
        return {"type": "float", "value": value}
    if kind is bytes:
        return {"type": "blob", "base64": base64.b64encode(value).decode("ascii")}  # type: ignore[arg-type]
    raise TypeError(f"cannot encode {kind.__name__} as a Hrana value")


def normalize_param_name(name: str) -> str:
    """A named argument's key without its ``:``/``@``/``$`` prefix (SQLite binds by that)."""
    return name[1:] if name[:1] in _PARAM_PREFIXES else name


def parse_stmt(obj: object) -> Stmt:
    """Parse a Hrana ``Stmt``."""
    data = _expect_dict(obj, "'stmt'")
    sql = data.get("sql")
    if sql is not None and not isinstance(sql, str):
        raise ProtocolError("'sql' must be a string")
    sql_id = _opt_int(data, "sql_id")
    if (sql is None) == (sql_id is None):
        raise ProtocolError("exactly one of 'sql' and 'sql_id' must be given")
    raw_args = data.get("args")
    raw_args = [] if raw_args is None else raw_args
    if not isinstance(raw_args, list):
        raise ProtocolError("'args' must be an array")
    raw_named = data.get("named_args")
    raw_named = [] if raw_named is None else raw_named
    if not isinstance(raw_named, list):
        raise ProtocolError("'named_args' must be an array")
    named: dict[str, Value] = {}
    for item in raw_named:
        entry = _expect_dict(item, "a named argument")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ProtocolError("a named argument needs a 'name'")
        named[normalize_param_name(name)] = decode_value(entry.get("value"))
    want_rows = data.get("want_rows", True)
    if want_rows is None:
        want_rows = True
    if not isinstance(want_rows, bool):
        raise ProtocolError("'want_rows' must be a boolean")
    return Stmt(
        sql=sql,
        sql_id=sql_id,
        args=tuple(decode_value(a) for a in raw_args),
        named_args=named,
        want_rows=want_rows,
    )


def parse_cond(obj: object, depth: int = 0) -> Cond:
    """Parse a Hrana ``BatchCond``."""
    if depth > 64:
        raise ProtocolError("batch condition nested too deeply")
    data = _expect_dict(obj, "a batch condition")
    kind = data.get("type")
    if kind in ("ok", "error"):
        step = _opt_int(data, "step")
        if step is None or step < 0:
            raise ProtocolError(f"an '{kind}' condition needs a 'step'")
        return Cond(kind, step=step)
    if kind == "not":
        return Cond(kind, conds=(parse_cond(data.get("cond"), depth + 1),))
    if kind in ("and", "or"):
        conds = data.get("conds")
        if not isinstance(conds, list):
            raise ProtocolError(f"an '{kind}' condition needs 'conds'")
        return Cond(kind, conds=tuple(parse_cond(c, depth + 1) for c in conds))
    if kind == "is_autocommit":
        return Cond(kind)
    raise ProtocolError(f"unknown batch condition type {kind!r}")


def parse_batch(obj: object) -> list[BatchStep]:
    """Parse a Hrana ``Batch`` into its steps."""
    data = _expect_dict(obj, "'batch'")
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise ProtocolError("'batch' needs a 'steps' array")
    parsed = []
    for index, raw in enumerate(steps):
        step = _expect_dict(raw, "a batch step")
        cond = step.get("condition")
        parsed_cond = None if cond is None else parse_cond(cond)
        if parsed_cond is not None:
            _check_cond_refs(parsed_cond, index)
        parsed.append(BatchStep(stmt=parse_stmt(step.get("stmt")), condition=parsed_cond))
    return parsed


def _check_cond_refs(cond: Cond, index: int) -> None:
    if cond.kind in ("ok", "error") and cond.step >= index:
        raise ProtocolError(f"step {index} has a condition on a later step {cond.step}")
    for sub in cond.conds:
        _check_cond_refs(sub, index)


def eval_cond(
    cond: Cond, outcomes: Sequence[bool | None], is_autocommit: Callable[[], bool]
) -> bool:
    """Evaluate a condition; ``outcomes[i]`` is True (ok), False (error) or None (skipped)."""
    if cond.kind == "ok":
        return outcomes[cond.step] is True
    if cond.kind == "error":
        return outcomes[cond.step] is False
    if cond.kind == "not":
        return not eval_cond(cond.conds[0], outcomes, is_autocommit)
    if cond.kind == "and":
        return all(eval_cond(c, outcomes, is_autocommit) for c in cond.conds)
    if cond.kind == "or":
        return any(eval_cond(c, outcomes, is_autocommit) for c in cond.conds)
    return is_autocommit()


def base_code(code: str) -> str:
    """SQLite's primary result code name for an extended one (else ``code`` unchanged)."""
    head = "_".join(code.split("_", 2)[:2])
    return head if head != code and head in SQLITE_PRIMARY_CODES else code


def error_object(message: str, code: str | None) -> dict[str, Any]:
    """A Hrana ``Error`` object, its ``code`` a primary result code name as sqld sends it."""
    # sqld sends SQLITE_CONSTRAINT, never SQLITE_CONSTRAINT_UNIQUE, and the clients hand
    # `code` to the app as is. The extended name rides along in a field of our own, which
    # the clients' decoders skip (it is not in the specification).
    if code is None:
        return {"message": message, "code": None}
    base = base_code(code)
    if base == code:
        return {"message": message, "code": code}
    return {"message": message, "code": base, "extended_code": code}
