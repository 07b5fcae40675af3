"""Autocommit writes of many streams share passes of the writer thread, without mixing."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from atoll.dbservice import EngineLimits, create_database
from atoll.dbservice.databases import Database

from .conftest import Service, stmt


def _insert_many(service: Service, values: list[str], results: list[dict[str, object]]) -> None:
    headers = {"Authorization": f"Bearer {service.token()}"}
    with httpx.Client(timeout=30) as client:  # one connection per writer, like separate clients
        for value in values:
            body = {"baton": None, "requests": [stmt("INSERT INTO t (v) VALUES (?)", value)]}
            reply = client.post(service.url + "/v2/pipeline", json=body, headers=headers)
            results.append(reply.json()["results"][0])


def test_concurrent_writes_each_commit_or_fail_alone(service: Service) -> None:
    service.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    results: list[dict[str, object]] = []
    # Each thread also repeats a value another thread writes: exactly one of them may win.
    threads = [
        threading.Thread(
            target=_insert_many,
            args=(service, [f"{w}-{i}" for i in range(20)] + ["shared"], results),
        )
        for w in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [r for r in results if r["type"] == "ok"]
    failed = [r for r in results if r["type"] == "error"]
    assert len(ok) == 12 * 20 + 1 and len(failed) == 11
    assert all("UNIQUE" in str(r["error"]) for r in failed)
    count = service.execute("SELECT count(*) FROM t")
    assert count["response"]["result"]["rows"][0][0]["value"] == str(len(ok))


def test_writes_never_land_inside_another_streams_transaction(service: Service) -> None:
    service.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    opened = service.pipeline(
        [
            stmt("BEGIN"),
            stmt("INSERT INTO t (v) VALUES ('in-tx')"),
        ]
    )
    assert all(r["type"] == "ok" for r in opened["results"])
    results: list[dict[str, object]] = []
    writers = [
        threading.Thread(target=_insert_many, args=(service, [f"w{w}"], results)) for w in range(6)
    ]
    for thread in writers:
        thread.start()
    time.sleep(0.2)  # the writers now wait for the writer lease the transaction holds
    rolled = service.pipeline(
        [stmt("ROLLBACK"), {"type": "close"}],
        baton=opened["baton"],
    )
    assert rolled["results"][0]["type"] == "ok"
    for thread in writers:
        thread.join()
    rows = service.execute("SELECT v FROM t ORDER BY v")["response"]["result"]["rows"]
    values = [r[0]["value"] for r in rows]
    assert "in-tx" not in values
    # Every write that reported success survived the other stream's rollback.
    assert len(values) == sum(r["type"] == "ok" for r in results) == 6


def test_a_write_that_opens_a_transaction_keeps_the_writer(service: Service) -> None:
    service.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    opened = service.pipeline([stmt("BEGIN IMMEDIATE")])
    assert opened["results"][0]["type"] == "ok"
    inserted = service.pipeline([stmt("INSERT INTO t (v) VALUES ('mine')")], opened["baton"])
    results: list[dict[str, object]] = []
    other = threading.Thread(target=_insert_many, args=(service, ["theirs"], results))
    other.start()
    time.sleep(0.2)
    assert results == []  # still waiting for the transaction to end
    service.pipeline([stmt("COMMIT"), {"type": "close"}], baton=inserted["baton"])
    other.join()
    assert results[0]["type"] == "ok"
    rows = service.execute("SELECT v FROM t ORDER BY v")["response"]["result"]["rows"]
    assert [r[0]["value"] for r in rows] == ["mine", "theirs"]


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_callers_that_go_away_do_not_keep_the_writer(tmp_path: Path) -> None:
    path = create_database(tmp_path, "tt--aa--dev")
    readers = ThreadPoolExecutor(2)
    db = Database("tt--aa--dev", path, EngineLimits(), readers)
    await db.start()
    try:
        await db.acquire_writer()  # another stream's transaction holds the writer
        # A write that would open a transaction waits, and its caller goes away meanwhile.
        waiting = asyncio.ensure_future(db.write_together(lambda c: c.sequence("BEGIN", "allow")))
        await asyncio.sleep(0.05)
        waiting.cancel()
        db.release_writer()
        # The writer is free again: the next write runs and ends in no transaction.
        outcome = await asyncio.wait_for(
            db.write_together(lambda c: c.sequence("CREATE TABLE x (a)", "allow")), 10
        )
        assert outcome.ok and not outcome.in_transaction
        await asyncio.wait_for(db.acquire_writer(), 10)
        db.release_writer()
    finally:
        await db.close()
        readers.shutdown()
