"""The checks on what workers and zygotes send back, called directly with hostile input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from atoll.runtime import replies
from atoll.runtime.replies import (
    TooManyHeaders,
    control_message,
    control_op,
    exit_report,
    log_records,
    openapi_document,
    parse_worker_reply,
    response_headers,
    specialized,
    worker_announcement,
)
from atoll.sdk._log import MAX_LOG_CHARS, MAX_RECORDS, FunctionLog


def test_log_records_are_capped_in_count_and_characters() -> None:
    records, dropped = log_records([{}] * 300_000)
    assert records == [] and dropped
    records, dropped = log_records([{"message": "m"}] * (MAX_RECORDS + 5))
    assert len(records) == MAX_RECORDS and dropped
    records, dropped = log_records([{"message": "m" * 4000}] * 200)
    assert sum(len(r["message"]) for r in records) <= MAX_LOG_CHARS and dropped
    records, dropped = log_records([{"message": "m" * 10_000, "fields": {"f": "v" * 10_000}}])
    assert len(records[0]["message"]) == 4000 and records[0]["fields"] == {"f": "v" * 4000}
    assert dropped


def test_log_records_keep_only_known_well_typed_fields() -> None:
    raw = [
        {"level": "error", "ts": 1.5, "message": "ok", "fields": {"k": "v"}},
        {"level": ["x"], "ts": float("nan"), "message": "coerced", "extra": 1, "fields": [1]},
        {"ts": 10**4000, "message": "huge ts"},
        {"message": "many fields", "fields": {f"f{i}": "v" for i in range(100)}},
        {"message": "odd fields", "fields": {"n": 1, "x" * 100: "long name", "ok": "yes"}},
        "text",
        None,
        {"message": {"nested": True}},
    ]
    records, dropped = log_records(raw)
    assert records[0] == {"level": "error", "ts": 1.5, "message": "ok", "fields": {"k": "v"}}
    assert records[1] == {"level": "info", "message": "coerced"}
    assert records[2] == {"level": "info", "message": "huge ts"}
    assert len(records[3]["fields"]) == 32
    assert records[4]["fields"] == {"ok": "yes"}
    assert len(records) == 5 and dropped
    assert log_records("not a list") == ([], True)
    assert log_records(None) == ([], False)


def test_what_the_sdk_logs_is_kept_whole_by_the_platform() -> None:
    log = FunctionLog()
    log.begin()
    for i in range(5000):
        log.info("x" * 3000, **{f"field{j}": "v" * 500 for j in range(40)}, n=i)
    records, dropped = log.end()
    assert dropped > 0
    kept, cut = log_records(json.loads(json.dumps(records)))
    assert kept == records and not cut  # the SDK already stays within the platform's caps


def test_reply_fields_are_typed_and_capped() -> None:
    reply = parse_worker_reply(
        {
            "status": "x" * 100,
            "stdout": "o" * 100_000,
            "stderr": ["not", "text"],
            "elapsed": 10**4000,
            "retire": "yes",
            "logs": [{"message": "m"}],
        }
    )
    assert reply.status == "x" * 100  # checked (and refused) where the answer is used
    assert len(reply.stdout) == 64 * 1024 and reply.stderr == "" and reply.truncated
    assert reply.elapsed is None and reply.retire is False and reply.error is None
    assert reply.logs == [{"level": "info", "message": "m"}]
    good = parse_worker_reply({"status": 201, "elapsed": 0.5, "retire": True})
    assert (good.status, good.elapsed, good.retire, good.truncated) == (201, 0.5, True, False)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"d": value}
    return value


def test_error_objects_are_typed_and_their_detail_bounded() -> None:
    assert replies.error_object(None) is None and replies.error_object({}) is None
    assert replies.error_object([1, 2])["message"] == "the worker sent a malformed error"  # type: ignore[index]
    error = replies.error_object(
        {"code": 7, "message": "m" * 100_000, "detail": {"self": 1, "parameter": "x"}}
    )
    assert error == {"code": None, "message": "m" * 16384, "detail": {"self": 1, "parameter": "x"}}
    for detail in (nested(50), {"t": "x" * 100_000}, {"k": list(range(10_000))}, "text"):
        assert replies.error_object({"message": "m", "detail": detail})["detail"] == {}  # type: ignore[index]


def test_headers_are_counted_typed_and_their_names_cached_only_when_valid() -> None:
    with pytest.raises(TooManyHeaders):
        response_headers({f"h{i}": "v" for i in range(101)}, 100, 65536)
    raw = {
        "X-Ok": "1",
        "content-length": "9",
        "Bad Name": "x",
        "x-list": [1],
        "x-number": 7,
        "x-crlf": "a\r\nset-cookie: s=1",
        "x-long": "v" * 10_000,
    }
    assert response_headers(raw, 100, 65536) == [("x-ok", "1")]
    assert response_headers("nope", 100, 65536) == []
    for i in range(5000):  # names no header can have, each as long as a frame allows
        response_headers({f"{i} " + "n" * 100_000: "v"}, 100, 65536)
    assert all(len(name) <= 256 for name in replies._header_names)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-bad", "a\r\nset-cookie: sid=1; Domain=localhost"),
        ("x-bad", "a\nb"),
        ("x-bad", "a\rb"),
        ("x-bad", "a\0b"),
        ("x-bad", "a\x0bb"),
        ("x-bad", "a\x1bb"),
        ("x-bad", "a\x7fb"),
        ("x bad", "1"),
        ("x-bad:", "1"),
        ("", "1"),
        ("x-bad\r\n", "1"),
        ("x-b\u00e4d", "1"),
        ("Transfer-Encoding", "chunked"),
        ("X-Atoll-Request-Id", "forged"),
    ],
)
def test_malformed_and_framing_headers_are_dropped(name: str, value: str) -> None:
    kept = [("x-tabbed", "a\tb"), ("x-latin", "caf\u00e9")]
    assert response_headers({name: value, **dict(kept)}, 100, 65536) == kept


def test_too_many_or_too_large_headers_name_their_limit() -> None:
    assert len(response_headers({f"x-{i}": "v" for i in range(10)}, 10, 2048)) == 10
    with pytest.raises(TooManyHeaders) as many:
        response_headers({f"x-{i}": "v" for i in range(11)}, 10, 2048)
    assert (many.value.limit, many.value.most) == ("max_response_headers", 10)
    with pytest.raises(TooManyHeaders) as large:
        response_headers({"x-a": "v" * 1500, "x-b": "v" * 1500}, 10, 2048)
    assert (large.value.limit, large.value.most) == ("max_response_header_bytes", 2048)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"worker": 3, "signal": 9}, (3, {"op": "exited", "signal": 9})),
        ({"worker": 3, "code": 0}, (3, {"op": "exited", "code": 0})),
        ({"worker": 1e999, "code": 0}, None),
        ({"worker": True, "code": 0}, None),
        ({"worker": "3", "code": 0}, None),
        ({"worker": 2**80, "code": 0}, None),
        ({"worker": 3, "signal": 999}, None),
        ({"worker": 3, "signal": 9, "code": 1}, None),
        ({"worker": 3, "code": "x" * 1000}, None),
        ({"worker": 3}, None),
    ],
)
def test_exit_reports_are_checked(message: dict[str, Any], expected: object) -> None:
    assert exit_report(message) == expected


def test_worker_announcements_are_checked() -> None:
    assert worker_announcement({"worker": 2, "pid": 40}) == (2, 40)
    for bad in ({"worker": 2}, {"worker": 2.0, "pid": 4}, {"worker": 2, "pid": -1}, {}):
        assert worker_announcement(bad) is None


def test_specialized_replies_keep_only_well_formed_entries() -> None:
    functions, errors = specialized(
        {
            "functions": {"todos": ["get", "post", ["get"]], "x" * 1000: ["get"], "n": 7},
            "errors": {"broken": {"message": "m", "exception": 5, "other": "x"}, "bad": []},
        }
    )
    assert functions == {"todos": ["get", "post"]}
    assert errors == {"broken": {"message": "m"}}
    assert specialized({"functions": 7, "errors": "x"}) == ({}, {})


def test_openapi_documents_must_be_objects_of_bounded_depth() -> None:
    assert openapi_document({"document": {"openapi": "3.1.0", "paths": {}}}) is not None
    for bad in ([1, 2], "doc", nested(100), None):
        assert openapi_document({"document": bad}) is None
    assert openapi_document({"oversized": True}) is None


def test_control_messages_are_read_only_when_small_and_well_formed() -> None:
    assert control_op(b'{"op": "worker", "worker": 1}') == "worker"
    assert control_op(b'{"worker": 1, "op": "worker"}') is None  # the zygote writes op first
    assert control_op(b"[" * 100_000) is None
    assert control_message(b"[" * 100_000) is None  # too deep for the parser: not a crash
    assert control_message(b"[1, 2]") is None
    assert control_message(b"\xff") is None
    assert control_message(b'{"op": "ready"}') == {"op": "ready"}
