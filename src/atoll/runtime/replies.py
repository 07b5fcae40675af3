"""What workers and zygotes send back, turned into values the platform may keep.

Tenant code runs in every worker and, at import time, in the zygote: it can write frames on
its worker's socket and messages on the control socket. So every field here is checked for
its type, and capped in size, count and nesting, before anything is stored or acted on. The
functions are pure (no I/O); a reply that is wrong in shape is coerced or dropped, never
trusted.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any, TypeGuard

from atoll.sdk._log import (
    LEVELS,
    MAX_FIELD_NAME_CHARS,
    MAX_FIELDS,
    MAX_LOG_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_RECORDS,
)

MAX_OUTPUT_CHARS = 64 * 1024  # captured stdout and stderr, each (the worker keeps as much)
MAX_ERROR_CHARS = 16 * 1024
MAX_HEADER_VALUE_CHARS = 8192
MAX_DETAIL_DEPTH = 8
MAX_DETAIL_ITEMS = 256  # values in an error's detail, all levels together
MAX_DETAIL_CHARS = 16 * 1024  # one string in an error's detail (tracebacks are 8000)
MAX_FUNCTIONS = 1000  # functions (and import errors) a zygote may report
MAX_FUNCTION_NAME_CHARS = 200
MAX_OPENAPI_DEPTH = 64
MAX_OPENAPI_BYTES = 1 << 20
METHODS = frozenset({"get", "post", "put", "patch", "delete"})

HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-atoll-request-id",
    }
)
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every C0 control but HTAB, and DEL
# name as sent -> lower-cased if allowed; only names the regex can match are ever kept, so
# the cache holds at most _NAME_CACHE short strings whatever functions send.
_header_names: dict[str, str | None] = {}
_NAME_CACHE = 4096


class TooManyHeaders(ValueError):
    """A function's response carries more headers, or header bytes, than the platform sends."""

    def __init__(self, message: str, limit: str, most: int) -> None:
        super().__init__(message)
        self.limit = limit  # the HttpLimits field that was exceeded
        self.most = most


class WorkerReply:
    """One worker answer, checked: the values the runtime acts on and logs."""

    __slots__ = (
        "elapsed",
        "error",
        "headers",
        "logs",
        "retire",
        "status",
        "stderr",
        "stdout",
        "truncated",
    )

    def __init__(self, status: object, headers: object) -> None:
        self.status = status  # checked by the caller: an int 200..599 unless ``error`` is set
        self.headers = headers  # raw; ``response_headers`` checks them when the answer is used
        self.stdout = ""
        self.stderr = ""
        self.logs: list[dict[str, Any]] = []
        self.truncated = False
        self.error: dict[str, Any] | None = None  # {"code", "message", "detail"}
        self.elapsed: float | None = None
        self.retire = False


def text(value: object, limit: int) -> str:
    """``value`` when it is a string (cut to ``limit`` characters), else ``""``."""
    return value[:limit] if isinstance(value, str) else ""


def preview(value: object) -> str:
    """A short, safe description of an untrusted value for an error message."""
    if isinstance(value, bool | int | float | str) or value is None:
        shown = repr(value)
        return shown if len(shown) <= 40 else shown[:37] + "..."
    return f"a JSON {'object' if isinstance(value, dict) else 'array'}"


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number a float can hold (JSON integers may have thousands of digits)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < 1e18 if isinstance(value, int) else math.isfinite(value)


def parse_worker_reply(header: dict[str, Any]) -> WorkerReply:
    """The checked form of a worker's reply header (never raises)."""
    get = header.get
    reply = WorkerReply(status=get("status", 200), headers=get("headers"))
    # Runs on every call: absent fields (the usual case) cost a lookup each, nothing more.
    truncated = bool(get("dropped_chars") or get("dropped_logs"))
    stdout, stderr, logs, error = get("stdout"), get("stderr"), get("logs"), get("error")
    if stdout is not None:
        reply.stdout = text(stdout, MAX_OUTPUT_CHARS)
        truncated = truncated or (isinstance(stdout, str) and len(reply.stdout) < len(stdout))
    if stderr is not None:
        reply.stderr = text(stderr, MAX_OUTPUT_CHARS)
        truncated = truncated or (isinstance(stderr, str) and len(reply.stderr) < len(stderr))
    if logs is not None:
        reply.logs, dropped = log_records(logs)
        truncated = truncated or dropped
    if error is not None:
        reply.error = error_object(error)
    reply.truncated = truncated
    elapsed = get("elapsed")
    if _is_number(elapsed) and 0 <= elapsed < 3600:
        reply.elapsed = float(elapsed)
    reply.retire = get("retire") is True
    return reply


def log_records(raw: object) -> tuple[list[dict[str, Any]], bool]:
    """``atoll.log`` records as the platform keeps them, and whether any were dropped.

    At most ``MAX_RECORDS`` records and ``MAX_LOG_CHARS`` characters of messages and fields
    in all; a record that is not an object with a string message is dropped; unknown keys,
    bad levels, bad timestamps and bad fields are left out.
    """
    if raw is None:
        return [], False
    if not isinstance(raw, list):
        return [], True
    records: list[dict[str, Any]] = []
    budget = MAX_LOG_CHARS
    dropped = len(raw) > MAX_RECORDS
    for item in itertools.islice(raw, MAX_RECORDS):
        message = item.get("message") if isinstance(item, dict) else None
        if not isinstance(message, str):
            dropped = True
            continue
        dropped = dropped or len(message) > MAX_MESSAGE_CHARS
        message = message[:MAX_MESSAGE_CHARS]
        level = item.get("level")
        known = isinstance(level, str) and level in LEVELS  # a list is not even hashable
        record: dict[str, Any] = {"level": level if known else "info"}
        if _is_number(item.get("ts")):
            record["ts"] = float(item["ts"])
        record["message"] = message
        budget -= len(message)
        fields, cut = _fields(item.get("fields"))
        dropped = dropped or cut
        if fields:
            record["fields"] = fields
            budget -= sum(len(k) + len(v) for k, v in fields.items())
        if budget < 0:
            dropped = True
            break
        records.append(record)
    return records, dropped


def _fields(raw: object) -> tuple[dict[str, str], bool]:
    if raw is None:
        return {}, False
    if not isinstance(raw, dict):
        return {}, True
    fields: dict[str, str] = {}
    for name, value in itertools.islice(raw.items(), MAX_FIELDS):
        if isinstance(value, str) and len(name) <= MAX_FIELD_NAME_CHARS:
            fields[name] = value[:MAX_MESSAGE_CHARS]
    return fields, len(fields) < len(raw) or any(
        len(v) > MAX_MESSAGE_CHARS for v in raw.values() if isinstance(v, str)
    )


def error_object(raw: object) -> dict[str, Any] | None:
    """A worker's error object as ``{"code", "message", "detail"}``, or None for none."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        return {"code": None, "message": "the worker sent a malformed error", "detail": {}}
    code = raw.get("code")
    detail = bounded(raw.get("detail"), MAX_DETAIL_DEPTH, MAX_DETAIL_ITEMS, MAX_DETAIL_CHARS)
    return {
        "code": code if isinstance(code, str) and len(code) <= 64 else None,
        "message": text(raw.get("message"), MAX_ERROR_CHARS),
        "detail": detail if isinstance(detail, dict) else {},
    }


class _TooBig(Exception):
    pass


def bounded(value: object, depth: int, items: int, chars: int) -> object:
    """``value`` when it nests at most ``depth`` deep, holds at most ``items`` values and no
    string longer than ``chars``; None otherwise."""
    budget = [items]

    def check(node: object, level: int) -> None:
        budget[0] -= 1
        if budget[0] < 0 or level > depth:
            raise _TooBig
        if isinstance(node, str):
            if len(node) > chars:
                raise _TooBig
        elif isinstance(node, dict):
            for key, child in node.items():
                check(key, level + 1)
                check(child, level + 1)
        elif isinstance(node, list):
            for child in node:
                check(child, level + 1)

    try:
        check(value, 0)
    except _TooBig:
        return None
    return value


def _header_name(name: str) -> str | None:
    """The lower-cased header name a function may set, or None (framing or malformed)."""
    known = _header_names.get(name, "")
    if known != "":
        return known
    if not HEADER_NAME.fullmatch(name):
        return None  # never cached: a malformed name may be as long as the frame
    lower = name.lower()
    allowed = None if lower in HOP_BY_HOP else lower
    if len(_header_names) < _NAME_CACHE:
        _header_names[name] = allowed
    return allowed


def response_headers(raw: object, max_headers: int, max_bytes: int) -> list[tuple[str, str]]:
    """A function's response headers minus framing ones and anything malformed (names that
    are not tokens, values with control characters other than tab).

    Raises ``TooManyHeaders`` past ``max_headers`` headers or ``max_bytes`` of them: cutting
    them would change the answer.
    """
    if not isinstance(raw, dict):
        return []
    if len(raw) > max_headers:
        raise TooManyHeaders(
            f"the function's response has more than {max_headers} headers",
            "max_response_headers",
            max_headers,
        )
    headers = []
    size = 0
    for name, value in raw.items():
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE_CHARS:
            continue
        lower = _header_name(name)
        if lower is None or _BAD_VALUE.search(value):
            continue
        size += len(lower) + len(value) + 4  # ": " and CRLF on the wire
        if size > max_bytes:
            raise TooManyHeaders(
                f"the function's response headers are larger than {max_bytes} bytes",
                "max_response_header_bytes",
                max_bytes,
            )
        headers.append((lower, value))
    return headers


def exit_report(message: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """A zygote's ``exited`` report as (worker id, {"signal"} or {"code"}); None if malformed."""
    worker, sig, code = message.get("worker"), message.get("signal"), message.get("code")
    if _small_int(worker, 1, 1 << 31):
        if code is None and _small_int(sig, 1, 64):
            return worker, {"op": "exited", "signal": sig}
        if sig is None and _small_int(code, 0, 255):
            return worker, {"op": "exited", "code": code}
    return None


def worker_announcement(message: dict[str, Any]) -> tuple[int, int] | None:
    """A zygote's ``worker`` message as (worker id, pid in the sandbox); None if malformed."""
    worker, pid = message.get("worker"), message.get("pid")
    if _small_int(worker, 1, 1 << 31) and _small_int(pid, 1, 1 << 31):
        return worker, pid
    return None


def _small_int(value: object, low: int, high: int) -> TypeGuard[int]:
    return type(value) is int and low <= value <= high


def specialized(message: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, dict[str, str]]]:
    """The functions (name -> methods) and import errors a zygote reports; junk left out."""
    functions: dict[str, list[str]] = {}
    raw = message.get("functions")
    if isinstance(raw, dict):
        for name, methods in itertools.islice(raw.items(), MAX_FUNCTIONS):
            if len(name) <= MAX_FUNCTION_NAME_CHARS and isinstance(methods, list):
                functions[name] = [
                    m for m in methods[: len(METHODS)] if isinstance(m, str) and m in METHODS
                ]
    errors: dict[str, dict[str, str]] = {}
    raw = message.get("errors")
    if isinstance(raw, dict):
        for name, error in itertools.islice(raw.items(), MAX_FUNCTIONS):
            if len(name) <= MAX_FUNCTION_NAME_CHARS and isinstance(error, dict):
                errors[name] = {
                    key: text(error.get(key), MAX_DETAIL_CHARS)
                    for key in ("exception", "message", "traceback")
                    if isinstance(error.get(key), str)
                }
    return functions, errors


def openapi_document(message: dict[str, Any]) -> dict[str, Any] | None:
    """The OpenAPI document in a zygote's reply, or None when it is malformed or too large."""
    document = message.get("document")
    if not isinstance(document, dict):
        return None
    if bounded(document, MAX_OPENAPI_DEPTH, MAX_OPENAPI_BYTES, MAX_OPENAPI_BYTES) is None:
        return None
    return document


_OP = re.compile(rb'\{\s*"op"\s*:\s*"([a-z]{1,16})"')


def control_op(data: bytes) -> str | None:
    """The ``op`` of a control message, read from its first bytes without parsing it all.

    The zygote writes ``op`` first in every message, so the platform can drop messages it
    did not ask for before spending time on their JSON.
    """
    match = _OP.match(data)
    return match.group(1).decode() if match else None


def control_message(data: bytes) -> dict[str, Any] | None:
    """A control message parsed, or None when it is not a JSON object (too deep included)."""
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return message if isinstance(message, dict) else None
