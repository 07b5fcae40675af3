"""Interactive transactions across requests, the writer lease, and stream expiry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atoll.dbservice import EngineLimits, ServiceOptions

from .conftest import DATABASE, OTHER_DATABASE, Service, stmt


def rows(result: dict[str, Any]) -> list[list[Any]]:
    assert result["type"] == "ok", result
    return [[v.get("value") for v in row] for row in result["response"]["result"]["rows"]]


def test_transaction_spans_requests_and_commits(service: Service) -> None:
    service.execute("CREATE TABLE t (x)")
    first = service.pipeline([stmt("BEGIN"), stmt("INSERT INTO t VALUES (1)")])
    assert [r["type"] for r in first["results"]] == ["ok", "ok"]
    # another stream does not see the uncommitted row, and cannot write meanwhile
    assert rows(service.execute("SELECT count(*) FROM t")) == [["0"]]
    busy = service.execute("INSERT INTO t VALUES (99)")
    assert busy["error"]["code"] == "SQLITE_BUSY"
    second = service.pipeline(
        [stmt("INSERT INTO t VALUES (2)"), {"type": "get_autocommit"}, stmt("COMMIT")],
        baton=first["baton"],
    )
    assert second["results"][1]["response"]["is_autocommit"] is False
    assert rows(service.execute("SELECT x FROM t ORDER BY x")) == [["1"], ["2"]]
    assert service.execute("INSERT INTO t VALUES (3)")["type"] == "ok"


def test_transaction_rolls_back_on_close(service: Service) -> None:
    service.execute("CREATE TABLE t (x)")
    first = service.pipeline([stmt("BEGIN IMMEDIATE"), stmt("INSERT INTO t VALUES (1)")])
    service.pipeline([{"type": "close"}], baton=first["baton"])
    assert rows(service.execute("SELECT count(*) FROM t")) == [["0"]]
    assert service.execute("INSERT INTO t VALUES (2)")["type"] == "ok"


def test_idle_stream_expires_and_its_transaction_rolls_back(
    start_service: Callable[..., Service],
) -> None:
    options = ServiceOptions(limits=EngineLimits(busy_timeout_ms=3000), stream_idle_timeout=0.3)
    service = start_service(options)
    service.execute("CREATE TABLE t (x)")
    first = service.pipeline([stmt("BEGIN"), stmt("INSERT INTO t VALUES (1)")])
    # this write waits for the lease, which the expiry of the idle stream gives back
    assert service.execute("INSERT INTO t VALUES (2)")["type"] == "ok"
    assert rows(service.execute("SELECT x FROM t")) == [["2"]]
    response = service.post("/v2/pipeline", {"baton": first["baton"], "requests": []})
    assert response.status_code == 400
    assert response.json()["code"] == "STREAM_EXPIRED"


def test_read_stream_sees_a_stable_snapshot(service: Service) -> None:
    service.execute("CREATE TABLE t (x)")
    service.execute("INSERT INTO t VALUES (1)")
    reader = service.pipeline([stmt("BEGIN TRANSACTION READONLY"), stmt("SELECT count(*) FROM t")])
    service.execute("INSERT INTO t VALUES (2)")
    again = service.pipeline(
        [stmt("SELECT count(*) FROM t"), stmt("COMMIT"), stmt("SELECT count(*) FROM t")],
        baton=reader["baton"],
    )
    assert rows(again["results"][0]) == [["1"]]
    assert rows(again["results"][2]) == [["2"]]


def test_many_streams_write_concurrently(service: Service) -> None:
    import concurrent.futures

    service.execute("CREATE TABLE t (x)")

    def insert(i: int) -> str:
        return str(service.execute("INSERT INTO t VALUES (?)", i)["type"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(insert, range(200)))
    assert outcomes == ["ok"] * 200
    assert rows(service.execute("SELECT count(*), sum(x) FROM t")) == [
        ["200", str(sum(range(200)))]
    ]


def test_idle_databases_are_closed_beyond_the_limit(start_service: Callable[..., Service]) -> None:
    service = start_service(ServiceOptions(max_open_databases=1))
    other = service.token(database=OTHER_DATABASE)
    held = service.pipeline(
        [stmt("CREATE TABLE t (x)"), stmt("BEGIN"), stmt("INSERT INTO t VALUES (1)")]
    )
    # the first database has a live stream, so it stays open beside the second one
    assert service.execute("SELECT 1", token=other)["type"] == "ok"
    service.pipeline([stmt("COMMIT"), {"type": "close"}], baton=held["baton"])
    for _ in range(3):  # each switch closes the other, now idle, database
        assert rows(service.execute("SELECT count(*) FROM t")) == [["1"]]
        assert service.execute("SELECT 2", token=other)["type"] == "ok"


def test_open_streams_are_capped_per_database(start_service: Callable[..., Service]) -> None:
    service = start_service(ServiceOptions(max_streams_per_database=3))
    service.execute("CREATE TABLE t (x)")
    idle = service.pipeline([stmt("SELECT 1")])["baton"]
    # a fourth stream pushes out the oldest stream that holds nothing
    reads = [service.pipeline([stmt("BEGIN TRANSACTION READONLY")])["baton"] for _ in range(3)]
    response = service.post("/v2/pipeline", {"baton": idle, "requests": []})
    assert response.json()["code"] == "STREAM_EXPIRED"
    # streams holding transactions are never pushed out: the next one is refused
    response = service.post("/v2/pipeline", {"baton": None, "requests": []})
    assert response.status_code == 503
    assert response.json()["code"] == "TOO_MANY_STREAMS"
    other = service.token(database=OTHER_DATABASE)
    assert service.execute("SELECT 1", token=other)["type"] == "ok"
    service.pipeline([stmt("COMMIT"), {"type": "close"}], baton=reads[0])
    assert service.execute("SELECT 1")["type"] == "ok"


def test_foreign_keys_pragma_is_kept_per_stream(service: Service) -> None:
    service.pipeline(
        [
            stmt("CREATE TABLE parent (id INTEGER PRIMARY KEY)"),
            stmt("CREATE TABLE child (id INTEGER PRIMARY KEY, p REFERENCES parent (id))"),
        ]
    )
    loose = service.pipeline([stmt("PRAGMA foreign_keys = OFF")])
    # another stream still has foreign keys enforced
    refused = service.execute("INSERT INTO child VALUES (1, 42)")
    assert refused["error"]["code"] == "SQLITE_CONSTRAINT"
    assert refused["error"]["extended_code"] == "SQLITE_CONSTRAINT_FOREIGNKEY"
    again = service.pipeline(
        [stmt("INSERT INTO child VALUES (2, 42)"), stmt("PRAGMA foreign_keys")],
        baton=loose["baton"],
    )
    assert again["results"][0]["type"] == "ok"
    assert rows(again["results"][1]) == [["0"]]
    assert rows(service.execute("PRAGMA foreign_keys")) == [["1"]]


def test_exhausted_reader_pool_is_a_clean_busy_error(start_service: Callable[..., Service]) -> None:
    options = ServiceOptions(limits=EngineLimits(busy_timeout_ms=200), max_readers=1)
    service = start_service(options)
    held = service.pipeline([stmt("BEGIN TRANSACTION READONLY"), stmt("SELECT 1")])
    busy = service.execute("SELECT 2", token=service.token("ro"))
    assert busy["error"]["code"] == "SQLITE_BUSY"
    service.pipeline([stmt("COMMIT")], baton=held["baton"])
    assert rows(service.execute("SELECT 3", token=service.token("ro"))) == [["3"]]


def test_open_streams_are_capped_per_tenant(start_service: Callable[..., Service]) -> None:
    options = ServiceOptions(max_streams=8, max_streams_per_tenant=4, max_streams_per_database=3)
    service = start_service(options, databases=("acme--shop--dev", "globex--todo--dev"))
    acme = [service.token(database=d) for d in (DATABASE, OTHER_DATABASE, "acme--shop--dev")]
    globex = service.token(database="globex--todo--dev")
    idle = service.pipeline([stmt("SELECT 1")], token=acme[2])["baton"]
    held = [
        service.pipeline([stmt("BEGIN TRANSACTION READONLY")], token=token)["baton"]
        for token in (acme[0], acme[0], acme[0], acme[1])
    ]
    # the tenant's idle stream made room; the next one finds only transactions
    response = service.post("/v2/pipeline", {"baton": idle, "requests": []}, acme[2])
    assert response.json()["code"] == "STREAM_EXPIRED"
    response = service.post("/v2/pipeline", {"baton": None, "requests": []}, acme[2])
    assert response.status_code == 503
    assert response.json()["code"] == "TOO_MANY_STREAMS"
    assert "tenant" in response.json()["message"]
    response = service.post("/v1/execute", {"stmt": {"sql": "SELECT 1"}}, acme[2])
    assert response.status_code == 503 and response.json()["code"] == "TOO_MANY_STREAMS"
    # another tenant is not held up by acme's streams
    others = [
        service.pipeline([stmt("BEGIN TRANSACTION READONLY")], token=globex)["baton"]
        for _ in range(2)
    ]
    assert service.execute("SELECT 1", token=globex)["type"] == "ok"
    service.pipeline([stmt("COMMIT"), {"type": "close"}], baton=held[3], token=acme[1])
    assert service.execute("SELECT 1", token=acme[2])["type"] == "ok"
    assert len(others) == 2


def test_open_streams_are_capped_in_all(start_service: Callable[..., Service]) -> None:
    options = ServiceOptions(max_streams=3, max_streams_per_tenant=2, max_streams_per_database=2)
    service = start_service(options, databases=("globex--todo--dev",))
    globex = service.token(database="globex--todo--dev")
    for token in (service.token(), service.token(), globex):
        service.pipeline([stmt("BEGIN TRANSACTION READONLY")], token=token)
    response = service.post("/v2/pipeline", {"baton": None, "requests": []}, globex)
    assert response.status_code == 503
    assert response.json()["code"] == "TOO_MANY_STREAMS"
