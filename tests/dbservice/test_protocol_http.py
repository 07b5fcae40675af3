"""Hrana over HTTP, request by request, with raw HTTP (the parts clients rarely exercise)."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Service, stmt


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["type"] == "ok", result
    return result["response"]  # type: ignore[no-any-return]


def test_version_endpoints(service: Service) -> None:
    assert service.client.get(service.url + "/v2").status_code == 200
    assert service.client.get(service.url + "/v3").status_code == 200
    assert service.client.get(service.url + "/v3-protobuf").status_code == 404
    assert service.client.post(service.url + "/v3-protobuf/pipeline").status_code == 404


def test_values_round_trip(service: Service) -> None:
    values = [
        {"type": "null"},
        {"type": "integer", "value": "9223372036854775807"},
        {"type": "integer", "value": "-9223372036854775808"},
        {"type": "float", "value": 0.5},
        {"type": "text", "value": "héllo ✓"},
        {"type": "blob", "base64": "AAH/"},
    ]
    body = service.pipeline(
        [{"type": "execute", "stmt": {"sql": "SELECT ?, ?, ?, ?, ?, ?", "args": values}}]
    )
    assert ok(body["results"][0])["result"]["rows"] == [values]


def test_named_args_with_every_prefix(service: Service) -> None:
    body = service.pipeline(
        [
            {
                "type": "execute",
                "stmt": {
                    "sql": "SELECT :a, @b, $c, ?",
                    "named_args": [
                        {"name": ":a", "value": {"type": "integer", "value": "1"}},
                        {"name": "b", "value": {"type": "text", "value": "two"}},
                        {"name": "$c", "value": {"type": "null"}},
                    ],
                    "args": [
                        {"type": "integer", "value": "10"},
                        {"type": "integer", "value": "20"},
                        {"type": "integer", "value": "30"},
                        {"type": "integer", "value": "40"},
                    ],
                },
            },
            {
                "type": "execute",
                "stmt": {
                    "sql": "SELECT :missing",
                    "named_args": [{"name": "other", "value": {"type": "null"}}],
                },
            },
            {"type": "execute", "stmt": {"sql": "SELECT ?, ?", "args": [{"type": "null"}]}},
        ]
    )
    row = ok(body["results"][0])["result"]["rows"][0]
    assert row == [
        {"type": "integer", "value": "1"},
        {"type": "text", "value": "two"},
        {"type": "null"},
        {"type": "integer", "value": "40"},
    ]
    assert body["results"][1]["error"]["code"] == "ARGS_INVALID"
    assert body["results"][2]["error"]["code"] == "ARGS_INVALID"


def test_statement_result_fields(service: Service) -> None:
    body = service.pipeline(
        [
            stmt("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"),
            stmt("INSERT INTO t (name) VALUES ('a'), ('b')"),
            {"type": "execute", "stmt": {"sql": "SELECT id, name AS n FROM t", "want_rows": False}},
            stmt("SELECT id, name AS n, 1 + 1 FROM t ORDER BY id"),
        ]
    )
    insert = ok(body["results"][1])["result"]
    assert insert["affected_row_count"] == 2
    ddl = service.execute("CREATE INDEX i ON t (name)")["response"]["result"]
    assert ddl["affected_row_count"] == 0
    assert insert["last_insert_rowid"] == "2"
    # A statement that writes nothing reports no rowid (not the last write's, as sqld).
    assert ddl["last_insert_rowid"] is None
    assert select_rowid(service) is None
    assert ok(body["results"][2])["result"]["rows"] == []
    select = ok(body["results"][3])["result"]
    assert select["cols"] == [
        {"name": "id", "decltype": "INTEGER"},
        {"name": "n", "decltype": "TEXT"},
        {"name": "1 + 1", "decltype": None},
    ]
    assert len(select["rows"]) == 2


def test_batch_conditions(service: Service) -> None:
    steps = [
        {"stmt": {"sql": "CREATE TABLE t (x UNIQUE)"}},
        {"stmt": {"sql": "INSERT INTO t VALUES (1)"}, "condition": {"type": "ok", "step": 0}},
        {"stmt": {"sql": "INSERT INTO t VALUES (1)"}},
        {"stmt": {"sql": "SELECT 'error-seen'"}, "condition": {"type": "error", "step": 2}},
        {
            "stmt": {"sql": "SELECT 'not'"},
            "condition": {"type": "not", "cond": {"type": "ok", "step": 2}},
        },
        {
            "stmt": {"sql": "SELECT 'and'"},
            "condition": {
                "type": "and",
                "conds": [{"type": "ok", "step": 0}, {"type": "ok", "step": 2}],
            },
        },
        {
            "stmt": {"sql": "SELECT 'or'"},
            "condition": {
                "type": "or",
                "conds": [{"type": "ok", "step": 0}, {"type": "ok", "step": 2}],
            },
        },
        {"stmt": {"sql": "SELECT 'auto'"}, "condition": {"type": "is_autocommit"}},
        {"stmt": {"sql": "BEGIN"}},
        {"stmt": {"sql": "SELECT 'in-tx'"}, "condition": {"type": "is_autocommit"}},
        {"stmt": {"sql": "COMMIT"}},
        {"stmt": {"sql": "SELECT 'skipped-ref'"}, "condition": {"type": "ok", "step": 5}},
    ]
    body = service.pipeline([{"type": "batch", "batch": {"steps": steps}}])
    result = ok(body["results"][0])["result"]
    ran = [r is not None for r in result["step_results"]]
    failed = [e is not None for e in result["step_errors"]]
    assert ran == [True, True, False, True, True, False, True, True, True, False, True, False]
    assert failed == [False, False, True] + [False] * 9
    assert result["step_errors"][2]["code"] == "SQLITE_CONSTRAINT"
    assert result["step_errors"][2]["extended_code"] == "SQLITE_CONSTRAINT_UNIQUE"


def test_store_sql_close_sql_sequence_describe_autocommit(service: Service) -> None:
    body = service.pipeline(
        [
            {"type": "store_sql", "sql_id": 1, "sql": "SELECT :who"},
            {"type": "store_sql", "sql_id": 1, "sql": "SELECT 2"},
            {
                "type": "execute",
                "stmt": {
                    "sql_id": 1,
                    "named_args": [{"name": "who", "value": {"type": "text", "value": "me"}}],
                },
            },
            {"type": "describe", "sql_id": 1},
            {"type": "close_sql", "sql_id": 1},
            {"type": "execute", "stmt": {"sql_id": 1}},
            {"type": "sequence", "sql": "CREATE TABLE s (x); INSERT INTO s VALUES (1); BEGIN;"},
            {"type": "get_autocommit"},
            {"type": "sequence", "sql": "INSERT INTO s VALUES (2); COMMIT"},
            {"type": "get_autocommit"},
            {"type": "describe", "sql": "INSERT INTO s VALUES (?1)"},
            {"type": "describe", "sql": "EXPLAIN SELECT x AS y FROM s"},
            {"type": "sequence", "sql": "SELECT * FROM nowhere"},
        ]
    )
    r = body["results"]
    assert ok(r[0]) == {"type": "store_sql"}
    assert r[1]["type"] == "error"
    assert ok(r[2])["result"]["rows"] == [[{"type": "text", "value": "me"}]]
    assert ok(r[3])["result"] == {
        "params": [{"name": ":who"}],
        "cols": [{"name": ":who", "decltype": None}],
        "is_explain": False,
        "is_readonly": True,
    }
    assert r[5]["type"] == "error"
    assert ok(r[7])["is_autocommit"] is False
    assert ok(r[9])["is_autocommit"] is True
    described = ok(r[10])["result"]
    assert described["params"] == [{"name": "?1"}]
    assert described["is_readonly"] is False
    assert ok(r[11])["result"]["is_explain"] is True
    assert r[12]["error"]["code"] == "SQLITE_ERROR"
    count = service.execute("SELECT count(*) FROM s")["response"]["result"]["rows"]
    assert count == [[{"type": "integer", "value": "2"}]]


def test_close_ends_the_stream(service: Service) -> None:
    body = service.pipeline([{"type": "close"}, stmt("SELECT 1")])
    assert body["baton"] is None
    assert body["results"][1]["type"] == "error"


def test_cursor_ndjson(service: Service) -> None:
    service.execute("CREATE TABLE c (x)")
    batch = {
        "steps": [
            {"stmt": {"sql": "INSERT INTO c VALUES (1), (2)"}},
            {"stmt": {"sql": "SELECT x FROM c ORDER BY x"}},
            {"stmt": {"sql": "SELECT nope"}},
            {"stmt": {"sql": "SELECT 1"}, "condition": {"type": "ok", "step": 2}},
        ]
    }
    response = service.post("/v3/cursor", {"baton": None, "batch": batch})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert set(lines[0]) == {"baton", "base_url"} and lines[0]["baton"]
    types = [e["type"] for e in lines[1:]]
    assert types == ["step_begin", "step_end", "step_begin", "row", "row", "step_end", "step_error"]
    assert lines[2]["affected_row_count"] == 2
    assert lines[4]["row"] == [{"type": "integer", "value": "1"}]
    assert lines[7]["step"] == 2


def test_v1_execute_and_batch(service: Service) -> None:
    response = service.post("/v1/execute", {"stmt": {"sql": "SELECT 7"}})
    assert response.status_code == 200
    assert response.json()["result"]["rows"] == [[{"type": "integer", "value": "7"}]]
    response = service.post("/v1/execute", {"stmt": {"sql": "SELECT * FROM nothing"}})
    assert response.status_code == 400
    assert response.json()["code"] == "SQLITE_ERROR"
    response = service.post(
        "/v1/batch",
        {
            "batch": {
                "steps": [
                    {"stmt": {"sql": "CREATE TABLE v (x)"}},
                    {"stmt": {"sql": "INSERT INTO v VALUES (1)"}},
                    {"stmt": {"sql": "BEGIN"}},
                ]
            }
        },
    )
    assert response.status_code == 200
    assert len(response.json()["result"]["step_results"]) == 3
    # the BEGIN left open by a one-shot request is rolled back, the writer is free again
    assert service.execute("INSERT INTO v VALUES (2)")["type"] == "ok"


def select_rowid(service: Any) -> object:
    """The ``last_insert_rowid`` a plain SELECT reports."""
    result = service.execute("SELECT 1")["response"]["result"]
    return result["last_insert_rowid"]
