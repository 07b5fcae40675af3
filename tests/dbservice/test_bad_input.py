"""Bad input, refused statements and every token failure: clean errors, server still serving."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from atoll.dbservice import database_generation
from atoll.dbservice.tokens import AUDIENCE, load_or_create_key

from .conftest import DATABASE, OTHER_DATABASE, Service, stmt


def assert_serving(service: Service) -> None:
    result = service.execute("SELECT 41 + 1")
    assert result["type"] == "ok"
    assert result["response"]["result"]["rows"] == [[{"type": "integer", "value": "42"}]]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_malformed_json_is_400(service: Service) -> None:
    response = service.client.post(
        service.url + "/v2/pipeline", content=b"{not json", headers=auth(service.token())
    )
    assert response.status_code == 400
    assert response.json()["code"] == "JSON_INVALID"
    assert "message" in response.json()
    for body in (b"[]", b'{"baton": null}', b'{"baton": 5, "requests": []}'):
        response = service.client.post(
            service.url + "/v3/pipeline", content=body, headers=auth(service.token())
        )
        assert response.status_code == 400, body
    assert_serving(service)


def test_unknown_and_malformed_requests_are_per_request_errors(service: Service) -> None:
    body = service.pipeline(
        [
            {"type": "teleport"},
            "not an object",
            {"type": "execute"},
            {"type": "execute", "stmt": {"sql": "SELECT 1", "sql_id": 3}},
            {"type": "execute", "stmt": {"sql": "SELECT ?", "args": [{"type": "integer"}]}},
            {"type": "execute", "stmt": {"sql": "SELECT ?", "args": [{"type": "complex"}]}},
            {
                "type": "batch",
                "batch": {
                    "steps": [{"stmt": {"sql": "SELECT 1"}, "condition": {"type": "ok", "step": 7}}]
                },
            },
            stmt("SELECT 'after'"),
        ]
    )
    kinds = [r["type"] for r in body["results"]]
    assert kinds == ["error"] * 7 + ["ok"]
    assert body["results"][0]["error"]["message"] == "unknown request type 'teleport'"
    assert body["baton"] is not None
    assert_serving(service)


def test_ten_mib_statement_is_refused_cleanly(service: Service) -> None:
    huge = "SELECT '" + "x" * (10 * 1024 * 1024) + "'"
    result = service.execute(huge)
    assert result["type"] == "error"
    assert result["error"]["code"] == "SQLITE_TOOBIG"
    assert "too large" in result["error"]["message"]
    assert_serving(service)


def test_runaway_recursive_query_hits_the_time_limit(service: Service) -> None:
    result = service.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    assert result["type"] == "error"
    assert result["error"]["code"] == "STATEMENT_TIMEOUT"
    assert "time limit" in result["error"]["message"]
    assert_serving(service)


def test_runaway_result_hits_the_size_cap(service: Service) -> None:
    result = service.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT x, printf('%.500c', 'y') FROM c"
    )
    assert result["type"] == "error"
    assert result["error"]["code"] == "RESULT_TOO_LARGE"
    assert_serving(service)


def test_forged_and_reused_batons_are_refused(service: Service) -> None:
    first = service.pipeline([stmt("SELECT 1")])
    baton = first["baton"]
    assert isinstance(baton, str) and len(baton) >= 32
    second = service.pipeline([stmt("SELECT 2")], baton=baton)
    assert second["baton"] != baton
    for bad in (baton, "forged-baton", second["baton"][:-1] + "A"):
        response = service.post("/v2/pipeline", {"baton": bad, "requests": [stmt("SELECT 3")]})
        assert response.status_code == 400
        assert response.json()["code"] == "STREAM_EXPIRED"
    assert service.pipeline([stmt("SELECT 4")], baton=second["baton"])["results"][0]["type"] == "ok"
    assert_serving(service)


def test_token_failures(service: Service) -> None:
    url = service.url + "/v2/pipeline"
    body = {"baton": None, "requests": [stmt("SELECT 1")]}
    # missing, not bearer, garbage
    for headers in ({}, {"Authorization": "Basic abc"}, auth("not-a-jwt")):
        response = service.client.post(url, json=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    # expired
    key = load_or_create_key(service.data_dir)
    past = int(time.time()) - 60
    generation = database_generation(service.data_dir, DATABASE)
    claims = {
        "db": DATABASE,
        "gen": generation,
        "a": "rw",
        "iat": past - 60,
        "exp": past,
        "aud": AUDIENCE,
    }
    expired = jwt.encode(claims, key, algorithm="EdDSA")
    response = service.client.post(url, json=body, headers=auth(expired))
    assert (response.status_code, response.json()["code"]) == (401, "TOKEN_EXPIRED")
    # forged: right claims, another key; and an unsigned ("none") token
    claims["exp"] = int(time.time()) + 600
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    unsigned = jwt.encode(claims, "", algorithm="none")
    for token in (forged, unsigned):
        response = service.client.post(url, json=body, headers=auth(token))
        assert (response.status_code, response.json()["code"]) == (401, "TOKEN_INVALID")
    # a token for another database cannot resume this database's stream
    baton = service.pipeline([stmt("SELECT 1")])["baton"]
    response = service.post(
        "/v2/pipeline",
        {"baton": baton, "requests": []},
        token=service.token(database=OTHER_DATABASE),
    )
    assert response.status_code == 403
    # a read-only token cannot resume a read-write stream
    response = service.post(
        "/v2/pipeline", {"baton": baton, "requests": []}, token=service.token("ro")
    )
    assert response.status_code == 403
    # a token for a database that does not exist (the platform mints none: signed here)
    gone = jwt.encode(claims | {"db": "acme--gone--dev"}, key, algorithm="EdDSA")
    response = service.post("/v2/pipeline", body, token=gone)
    assert response.status_code == 404
    assert_serving(service)


def test_read_only_token_cannot_write(service: Service) -> None:
    ro = service.token("ro")
    service.execute("CREATE TABLE t (x)")
    body = service.pipeline(
        [
            stmt("INSERT INTO t VALUES (1)"),
            stmt("SELECT count(*) FROM t"),
            {"type": "sequence", "sql": "INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)"},
            stmt("BEGIN IMMEDIATE"),
            stmt("DELETE FROM t"),
            stmt("ROLLBACK"),
        ],
        token=ro,
    )
    results = body["results"]
    assert results[0]["error"]["code"] == "READONLY_TOKEN"
    assert "read-only" in results[0]["error"]["message"]
    assert results[1]["response"]["result"]["rows"] == [[{"type": "integer", "value": "0"}]]
    assert results[2]["error"]["code"] == "READONLY_TOKEN"
    assert results[4]["error"]["code"] == "READONLY_TOKEN"
    response = service.post("/v1/execute", {"stmt": {"sql": "INSERT INTO t VALUES (1)"}}, ro)
    assert response.status_code == 403
    assert response.json()["code"] == "READONLY_TOKEN"


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("ATTACH DATABASE '/tmp/evil.db' AS evil", "ATTACH"),
        ("VACUUM INTO '/tmp/copy.db'", "VACUUM INTO"),
        ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
        ("PRAGMA writable_schema = 1", "writable_schema"),
        ("PRAGMA writable_schema = RESET", "writable_schema"),
        ("PRAGMA journal_mode = DELETE", "journal_mode"),
        ("CREATE TEMP TABLE scratch (x)", "temporary"),
    ],
)
def test_refused_statements(service: Service, sql: str, reason: str) -> None:
    result = service.execute(sql)
    assert result["type"] == "error"
    assert result["error"]["code"] == "SQLITE_AUTH"
    assert reason in result["error"]["message"]
    assert_serving(service)


def test_allowed_maintenance_statements(service: Service) -> None:
    for sql in ("VACUUM", "PRAGMA user_version = 3", "PRAGMA table_list", "PRAGMA integrity_check"):
        assert service.execute(sql)["type"] == "ok", sql
    result = service.execute("PRAGMA user_version")
    assert result["response"]["result"]["rows"] == [[{"type": "integer", "value": "3"}]]


def test_more_than_one_statement_per_execute_is_refused(service: Service) -> None:
    service.execute("CREATE TABLE t (x)")
    result = service.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
    assert result["error"]["code"] == "SQL_MANY_STATEMENTS"
    count = service.execute("SELECT count(*) FROM t")["response"]["result"]["rows"]
    assert count == [[{"type": "integer", "value": "0"}]]
    assert service.execute("SELECT 1; -- trailing comment")["type"] == "ok"


def test_body_over_the_cap_is_413(service: Service) -> None:
    response = service.client.post(
        service.url + "/v2/pipeline",
        content=b" " * (17 * 1024 * 1024),
        headers=auth(service.token()),
    )
    assert response.status_code == 413
    assert_serving(service)


def test_sequence_cannot_smuggle_attach_after_vacuum(service: Service) -> None:
    body = service.pipeline([{"type": "sequence", "sql": "VACUUM; ATTACH '' AS scratch"}])
    assert body["results"][0]["error"]["code"] == "SQLITE_AUTH"
    listed = service.execute("PRAGMA database_list")["response"]["result"]["rows"]
    assert [row[1]["value"] for row in listed] == ["main"]
