"""Short reads run on the event loop; long ones, and ones that would wait, move to a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import apsw
import pytest

from atoll.dbservice import EngineLimits, ServiceOptions, create_database
from atoll.dbservice.databases import Database, InlineReads
from atoll.dbservice.engine import Connection, Overran
from atoll.dbservice.protocol import parse_batch
from atoll.dbservice.streams import BatchRun
from atoll.errors import AtollError

from .conftest import Service

# Counts to n in SQLite's VM: a read that takes a while without touching a table.
COUNT_TO = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) "
LONG_READ = COUNT_TO.format(n=3_000_000) + "SELECT count(*) FROM c"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture
def readers() -> Iterator[ThreadPoolExecutor]:
    """A reader thread pool."""
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown()


def _recording(
    threads: list[int], work: Callable[[Connection], Any]
) -> Callable[[Connection], Any]:
    """``work``, noting the thread of each attempt."""

    def run(conn: Connection) -> Any:
        threads.append(threading.get_ident())
        return work(conn)

    return run


async def _database(tmp_path: Path, readers: ThreadPoolExecutor, inline: InlineReads) -> Database:
    path = create_database(tmp_path, "tt--aa--dev")
    db = Database("tt--aa--dev", path, EngineLimits(), readers, inline=inline)
    await db.start()
    await db.on_writer(lambda c: c.run_script("CREATE TABLE t (v); INSERT INTO t VALUES (7);"))
    return db


@pytest.mark.anyio
async def test_a_short_read_runs_on_the_loop_and_a_long_one_again_on_a_thread(
    tmp_path: Path, readers: ThreadPoolExecutor
) -> None:
    inline = InlineReads(0.001, cool_off_s=3600)
    db = await _database(tmp_path, readers, inline)
    loop_thread = threading.get_ident()
    try:
        reader = await db.checkout_reader()
        threads: list[int] = []
        short = _recording(threads, lambda c: c.query("SELECT v FROM t"))
        assert await db.on_reader(reader, short, fresh=True) == (["v"], [(7,)])
        assert threads == [loop_thread] and inline.overruns == 0

        threads.clear()
        long = _recording(threads, lambda c: c.query(LONG_READ))
        assert await db.on_reader(reader, long, fresh=True) == (["count(*)"], [(3_000_000,)])
        # Stopped on the loop after its budget, then run whole on a reader thread.
        assert threads[0] == loop_thread and threads[1] != loop_thread and len(threads) == 2
        assert inline.overruns == 1

        # Cooling off: this database's next read goes straight to a thread.
        threads.clear()
        assert await db.on_reader(reader, short, fresh=True) == (["v"], [(7,)])
        assert threads != [loop_thread] and len(threads) == 1

        # A reader inside a transaction (not fresh) never tries the loop.
        db.inline_after = 0.0
        threads.clear()
        assert await db.on_reader(reader, short) == (["v"], [(7,)])
        assert threads != [loop_thread]
        db.checkin_reader(reader)
    finally:
        await db.close()


@pytest.mark.anyio
async def test_an_overrun_after_begin_leaves_the_reader_as_the_thread_would(
    tmp_path: Path, readers: ThreadPoolExecutor
) -> None:
    inline = InlineReads(0.001, cool_off_s=3600)
    db = await _database(tmp_path, readers, inline)
    try:
        reader = await db.checkout_reader()

        def begin_then_long(conn: Connection) -> Any:
            conn.sequence("BEGIN", "reroute")
            return conn.query(LONG_READ)

        # Run twice (on the loop, then on a thread): the second BEGIN must find no
        # transaction left open by the first, or it fails.
        assert await db.on_reader(reader, begin_then_long, fresh=True) == (
            ["count(*)"],
            [(3_000_000,)],
        )
        assert inline.overruns == 1 and reader.in_transaction
        reader.rollback()
        db.checkin_reader(reader)
    finally:
        await db.close()


@pytest.mark.anyio
async def test_a_batch_that_overran_runs_again_from_its_first_step(
    tmp_path: Path, readers: ThreadPoolExecutor
) -> None:
    inline = InlineReads(0.001, cool_off_s=3600)
    db = await _database(tmp_path, readers, inline)
    try:
        reader = await db.checkout_reader()
        steps = [{"stmt": {"sql": "BEGIN"}}, {"stmt": {"sql": LONG_READ}}]
        sqls: list[str | AtollError] = ["BEGIN", LONG_READ]
        run = BatchRun(parse_batch({"steps": steps}), sqls)
        result = await db.on_reader(reader, lambda c: run(c, "reroute"), fresh=True)
        assert inline.overruns == 1
        # The BEGIN ran again on the thread (the loop's was rolled back): still in it.
        assert reader.in_transaction
        assert result["step_errors"] == [None, None]
        assert result["step_results"][1]["rows"] == [[{"type": "integer", "value": "3000000"}]]
        reader.rollback()
        db.checkin_reader(reader)
    finally:
        await db.close()


def test_reads_that_overran_close_the_loop_to_every_database_for_the_second() -> None:
    inline = InlineReads(0.001, cool_off_s=0.0, max_overruns=3)
    dbs = [cast(Database, type("Db", (), {"inline_after": 0.0})()) for _ in range(4)]
    for db in dbs[:2]:
        inline.overran(db)
    assert inline.allows(dbs[3])
    inline.overran(dbs[2])
    assert not inline.allows(dbs[3])  # a third overrun within the second: nobody tries
    assert not InlineReads(0.0).allows(dbs[3])  # a budget of 0 turns inline reads off


def test_a_read_on_the_loop_never_waits_for_a_lock(tmp_path: Path) -> None:
    path = create_database(tmp_path, "tt--aa--dev")
    conn = Connection(path, readonly=True, limits=EngineLimits(busy_timeout_ms=5000))
    try:

        def busy(c: Connection) -> None:
            # What SQLite raises once the busy timeout, here 0, gives up on a lock.
            raise c._translate(apsw.BusyError("database is locked"), "reroute")

        with pytest.raises(Overran):
            conn.run_inline(1.0, busy)
        # Outside the loop, the same error is the client's to see.
        assert not isinstance(conn._translate(apsw.BusyError("locked"), "reroute"), Overran)
    finally:
        conn.close()


def test_a_long_read_does_not_hold_up_the_service(
    start_service: Callable[..., Service],
) -> None:
    # (With inline_read_seconds=30 the long read holds the loop and this fails.)
    options = ServiceOptions(limits=EngineLimits(statement_timeout=60.0))
    service = start_service(options)
    service.execute("CREATE TABLE t (v)")
    service.execute("INSERT INTO t VALUES (1)")
    finished: list[str] = []
    started = threading.Event()

    def long_read() -> None:
        started.set()
        result = service_copy.execute(COUNT_TO.format(n=10_000_000) + "SELECT count(*) FROM c")
        assert result["response"]["result"]["rows"][0][0]["value"] == "10000000"
        finished.append("long")

    # Its own HTTP client: the fixture's is not shared between threads.
    import httpx

    service_copy = Service(service.url, service.data_dir, service.issuer, httpx.Client(timeout=60))
    thread = threading.Thread(target=long_read)
    thread.start()
    started.wait()
    time.sleep(0.3)  # for the long read to reach the service (it then runs for seconds)
    try:
        for _ in range(20):  # short reads keep being answered while the long one runs
            assert service.execute("SELECT v FROM t")["type"] == "ok"
        finished.append("short")
    finally:
        thread.join(120)
        service_copy.client.close()
    assert finished == ["short", "long"]
