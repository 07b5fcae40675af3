"""Hrana streams: state kept between HTTP requests, tied together by single-use batons.

A stream routes each statement: reads go to a pooled read-only connection, writes take the
database's writer lease. A transaction pins the stream to its connection (the writer, or
a reader for ``BEGIN TRANSACTION READONLY``) until it ends or the stream dies; a dead or
idle stream's transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from atoll.errors import AtollError, BadRequest, Forbidden, Unavailable

from .databases import Database
from .engine import (
    READ_KEYWORDS,
    Connection,
    NeedsWriter,
    Overran,
    WritePolicy,
    first_keyword,
    hrana_code,
)
from .protocol import (
    BatchStep,
    ProtocolError,
    Stmt,
    error_object,
    eval_cond,
    parse_batch,
    parse_stmt,
)
from .tokens import Mode, TokenClaims

T = TypeVar("T")
MAX_STORED_SQL = 1000
_BEGIN_READONLY = re.compile(r"^\s*BEGIN\s+(?:TRANSACTION\s+)?READONLY\s*;?\s*$", re.I)


class StreamGone(BadRequest):
    """The baton is unknown: the stream expired, was closed, or the baton was forged."""

    code = "stream_expired"


def route(sql: str) -> tuple[str, bool]:
    """The SQL to run and whether it needs the writer (libSQL's read-only BEGIN mapped)."""
    if _BEGIN_READONLY.match(sql):
        return "BEGIN DEFERRED", False
    keyword = first_keyword(sql)
    if keyword == "PRAGMA":
        # Setting pragmas is the writer's job; foreign_keys is per stream on the writer.
        return sql, "=" in sql or "foreign_keys" in sql.lower()
    return sql, keyword not in READ_KEYWORDS


def effective_policy(conn: Connection, policy: WritePolicy) -> WritePolicy:
    """A reader inside a transaction may not hand writes to the writer."""
    if policy == "reroute" and conn.in_transaction:
        return "transaction"
    return policy


def _error(exc: AtollError) -> dict[str, Any]:
    return error_object(exc.message, hrana_code(exc))


class BatchRun:
    """A batch in progress; resumable on the writer if a step turns out to write."""

    def __init__(self, steps: list[BatchStep], sqls: list[str | AtollError]) -> None:
        self.steps = steps
        self.sqls = sqls
        self.next = 0
        self.outcomes: list[bool | None] = [None] * len(steps)
        self.results: list[dict[str, Any] | None] = [None] * len(steps)
        self.errors: list[dict[str, Any] | None] = [None] * len(steps)

    @property
    def wants_write(self) -> bool:
        """True if any step looks like a write (so the batch starts on the writer)."""
        return any(isinstance(s, str) and route(s)[1] for s in self.sqls)

    def __call__(self, conn: Connection, policy: WritePolicy) -> dict[str, Any]:
        start = self.next
        try:
            return self._run(conn, policy)
        except Overran:  # it runs again from ``start``, on a reader rolled back to before it
            self.next = start
            for index in range(start, len(self.steps)):
                self.outcomes[index] = self.results[index] = self.errors[index] = None
            raise

    def _run(self, conn: Connection, policy: WritePolicy) -> dict[str, Any]:
        for index in range(self.next, len(self.steps)):
            step = self.steps[index]
            if step.condition is not None and not eval_cond(
                step.condition, self.outcomes, lambda: not conn.in_transaction
            ):
                self.next = index + 1
                continue
            sql = self.sqls[index]
            try:
                if isinstance(sql, AtollError):
                    raise sql
                text, _ = route(sql)
                self.results[index] = conn.execute(text, step.stmt, effective_policy(conn, policy))
                self.outcomes[index] = True
            except NeedsWriter:
                self.next = index
                raise
            except AtollError as exc:
                self.errors[index] = _error(exc)
                self.outcomes[index] = False
            self.next = index + 1
        return {"step_results": self.results, "step_errors": self.errors}


class Stream:
    """One Hrana stream of one database."""

    def __init__(self, db: Database, mode: Mode) -> None:
        self.db = db
        db.streams += 1
        self.mode = mode
        self.sqls: dict[int, str] = {}
        self.owns_writer = False
        self.foreign_keys = True
        self.reader: Connection | None = None
        self.closed = False
        self.busy = False
        self.baton: str | None = None
        self.last_used = time.monotonic()
        self.lock = asyncio.Lock()

    @property
    def is_autocommit(self) -> bool:
        """True unless a transaction is open on this stream."""
        return not self.owns_writer and self.reader is None

    # -- routing -------------------------------------------------------------------------

    async def _dispatch(self, work: Callable[[Connection, WritePolicy], T], wants_write: bool) -> T:
        db = self.db
        if self.owns_writer:
            return await self._on_writer(work)
        if self.reader is not None:
            pinned: WritePolicy = "token" if self.mode == "ro" else "transaction"
            try:
                return await db.on_reader(self.reader, lambda c: work(c, pinned))
            finally:
                self._after_reader()
        if self.mode == "ro" or not wants_write:
            self.reader = await db.checkout_reader()
            policy: WritePolicy = "token" if self.mode == "ro" else "reroute"
            try:
                return await db.on_reader(self.reader, lambda c: work(c, policy), fresh=True)
            except NeedsWriter:
                pass
            finally:
                self._after_reader()
        # Not in a transaction: share a pass of the writer thread with other streams' writes.
        outcome = await db.write_together(lambda conn: self._writer_call(work, conn))
        self.owns_writer = outcome.in_transaction
        if not outcome.ok:
            assert isinstance(outcome.value, BaseException)
            raise outcome.value
        return outcome.value  # type: ignore[return-value]

    def _writer_call(self, work: Callable[[Connection, WritePolicy], T], conn: Connection) -> T:
        """Run ``work`` on the writer connection, in this stream's foreign-keys setting."""
        # The writer is shared by the database's streams; PRAGMA foreign_keys is
        # per-connection state in SQLite, so it is kept per stream and put back to ON
        # whenever the lease is given back.
        if not self.foreign_keys:
            conn.foreign_keys = False
        conn.foreign_keys_touched = False
        try:
            return work(conn, "allow")
        finally:
            if conn.foreign_keys_touched:
                self.foreign_keys = conn.foreign_keys
            if not conn.in_transaction and not self.foreign_keys:
                conn.foreign_keys = True

    async def _on_writer(self, work: Callable[[Connection, WritePolicy], T]) -> T:
        """Run on the writer (lease held); keep the lease only while a transaction is open."""
        in_transaction = True

        def call(conn: Connection) -> T:
            nonlocal in_transaction
            try:
                return self._writer_call(work, conn)
            finally:
                in_transaction = conn.in_transaction

        try:
            return await self.db.on_writer(call)
        finally:
            if not in_transaction:
                self.owns_writer = False
                self.db.release_writer()

    def _after_reader(self) -> None:
        reader = self.reader
        if reader is not None and not reader.in_transaction:
            self.reader = None
            self.db.checkin_reader(reader)

    # -- requests ------------------------------------------------------------------------

    def _sql(self, sql: object, sql_id: object) -> str:
        if isinstance(sql, str) and sql_id is None:
            return sql
        if sql is None and isinstance(sql_id, int) and not isinstance(sql_id, bool):
            try:
                return self.sqls[sql_id]
            except KeyError:
                raise ProtocolError(f"no SQL text stored under sql_id {sql_id}") from None
        raise ProtocolError("exactly one of 'sql' (a string) and 'sql_id' must be given")

    async def execute(self, stmt: Stmt) -> dict[str, Any]:
        """Run one statement; the Hrana ``StmtResult``."""
        sql, wants_write = route(self._sql(stmt.sql, stmt.sql_id))
        return await self._dispatch(
            lambda c, p: c.execute(sql, stmt, effective_policy(c, p)), wants_write
        )

    async def batch(self, steps: list[BatchStep]) -> dict[str, Any]:
        """Run a batch; the Hrana ``BatchResult``."""
        sqls: list[str | AtollError] = []
        for step in steps:
            try:
                sqls.append(self._sql(step.stmt.sql, step.stmt.sql_id))
            except AtollError as exc:
                sqls.append(exc)
        run = BatchRun(steps, sqls)
        return await self._dispatch(run, run.wants_write)

    async def handle(self, request: object) -> dict[str, Any]:
        """Run one stream request; its response object."""
        if not isinstance(request, dict):
            raise ProtocolError("a request must be a JSON object")
        kind = request.get("type")
        if self.closed:
            raise ProtocolError("the stream is closed")
        if kind == "execute":
            return {"type": kind, "result": await self.execute(parse_stmt(request.get("stmt")))}
        if kind == "batch":
            return {"type": kind, "result": await self.batch(parse_batch(request.get("batch")))}
        if kind == "sequence":
            sql = self._sql(request.get("sql"), request.get("sql_id"))
            # Several statements may start with a read and then write: give them the writer.
            wants_write = route(sql)[1] or ";" in sql.strip().rstrip(";")
            await self._dispatch(lambda c, p: c.sequence(sql, effective_policy(c, p)), wants_write)
            return {"type": kind}
        if kind == "describe":
            sql = self._sql(request.get("sql"), request.get("sql_id"))
            return {
                "type": kind,
                "result": await self._dispatch(lambda c, p: c.describe(sql), False),
            }
        if kind == "store_sql":
            return self._store_sql(request)
        if kind == "close_sql":
            sql_id = request.get("sql_id")
            if isinstance(sql_id, int):
                self.sqls.pop(sql_id, None)
            return {"type": kind}
        if kind == "get_autocommit":
            return {"type": kind, "is_autocommit": self.is_autocommit}
        if kind == "close":
            await self.close()
            return {"type": kind}
        raise ProtocolError(f"unknown request type {kind!r}")

    def _store_sql(self, request: dict[str, Any]) -> dict[str, Any]:
        sql_id, sql = request.get("sql_id"), request.get("sql")
        if not isinstance(sql_id, int) or isinstance(sql_id, bool) or not isinstance(sql, str):
            raise ProtocolError("store_sql needs an integer 'sql_id' and a string 'sql'")
        if sql_id in self.sqls:
            raise ProtocolError(f"sql_id {sql_id} is already in use")
        if len(self.sqls) >= MAX_STORED_SQL:
            raise ProtocolError(f"a stream can store at most {MAX_STORED_SQL} SQL texts")
        self.sqls[sql_id] = sql
        return {"type": "store_sql"}

    def close_idle(self) -> None:
        """Close a stream that holds no transaction (nothing to roll back)."""
        if not self.closed and self.is_autocommit:
            self.closed = True
            self.db.streams -= 1

    async def close(self) -> None:
        """Close the stream, rolling back any open transaction."""
        if self.closed:
            return
        self.closed = True
        self.db.streams -= 1
        # A rollback can only fail if the database is gone (deleted app): nothing to undo.
        if self.owns_writer:
            try:
                with contextlib.suppress(AtollError):
                    await self.db.on_writer(lambda c: c.rollback())
            finally:
                self.owns_writer = False
                self.db.release_writer()
        reader = self.reader
        if reader is not None:
            self.reader = None
            try:
                with contextlib.suppress(AtollError):
                    await self.db.on_reader(reader, lambda c: c.rollback())
            finally:
                self.db.checkin_reader(reader)


class StreamRegistry:
    """Live streams and their current batons; expires idle streams.

    Streams are capped per database, per tenant (over all of its databases) and in all,
    so that one tenant's open transactions cannot take the table from the others.
    """

    def __init__(
        self,
        idle_timeout: float,
        max_streams: int = 1000,
        max_per_database: int = 100,
        max_per_tenant: int = 200,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_streams = max_streams
        self.max_per_database = max_per_database
        self.max_per_tenant = max_per_tenant
        self._by_baton: dict[str, Stream] = {}
        self._streams: set[Stream] = set()
        self._per_tenant: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._streams)

    def open(self, db: Database, mode: Mode) -> Stream:
        """A new stream on ``db``; Unavailable if a limit is reached by transactions."""
        if db.streams >= self.max_per_database:
            self._drop_idle(s for s in self._streams if s.db is db)
        if self._per_tenant[db.tenant] >= self.max_per_tenant:
            self._drop_idle(s for s in self._streams if s.db.tenant == db.tenant)
        if len(self._streams) >= self.max_streams:
            self._drop_idle(self._streams)
        self._check_room(db)
        stream = Stream(db, mode)
        stream.busy = True
        self._streams.add(stream)
        self._per_tenant[db.tenant] += 1
        return stream

    def _check_room(self, db: Database) -> None:
        if db.streams >= self.max_per_database:
            where, limit = f"database {db.name!r}", self.max_per_database
        elif self._per_tenant[db.tenant] >= self.max_per_tenant:
            where, limit = f"tenant {db.tenant!r}", self.max_per_tenant
        elif len(self._streams) >= self.max_streams:
            where, limit = "the DB service", self.max_streams
        else:
            return
        raise Unavailable(
            f"too many open streams: {where} has {limit}, its limit, all holding transactions; "
            "commit or close some, or retry later",
            hrana_code="TOO_MANY_STREAMS",
            limit=limit,
        )

    def _drop_idle(self, candidates: Iterable[Stream]) -> None:
        """Close the least recently used idle stream that holds no transaction."""
        idle = [s for s in candidates if not s.busy and s.is_autocommit and not s.closed]
        if idle:
            oldest = min(idle, key=lambda s: s.last_used)
            self._forget(oldest)
            oldest.close_idle()

    def take(self, baton: str, claims: TokenClaims) -> Stream:
        """The stream a baton names (the baton is used up)."""
        stream = self._by_baton.pop(baton, None)
        if stream is not None:
            stream.baton = None
        if stream is None or stream.closed:
            raise StreamGone(
                "unknown baton: the stream expired, was closed, or the baton is not ours",
                hrana_code="STREAM_EXPIRED",
            )
        if (
            stream.db.name != claims.database
            or stream.db.generation != claims.generation
            or (stream.mode == "rw" and claims.mode != "rw")
        ):
            self._by_baton[baton] = stream
            stream.baton = baton
            raise Forbidden("this token does not allow that stream", hrana_code="STREAM_FORBIDDEN")
        stream.busy = True
        return stream

    def give(self, stream: Stream) -> str | None:
        """A fresh baton for the stream's next request (None once it is closed)."""
        stream.busy = False
        stream.last_used = time.monotonic()
        if stream.closed:
            self._discard(stream)
            return None
        baton = secrets.token_urlsafe(24)
        self._by_baton[baton] = stream
        stream.baton = baton
        return baton

    def _discard(self, stream: Stream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)
            self._per_tenant[stream.db.tenant] -= 1
            if not self._per_tenant[stream.db.tenant]:
                del self._per_tenant[stream.db.tenant]

    def _forget(self, stream: Stream) -> None:
        self._discard(stream)
        if stream.baton is not None:
            self._by_baton.pop(stream.baton, None)
            stream.baton = None

    async def close(self, stream: Stream) -> None:
        """Close a stream and forget it."""
        self._forget(stream)
        await stream.close()

    async def expire_idle(self) -> int:
        """Close streams idle longer than the timeout; how many were closed."""
        deadline = time.monotonic() - self.idle_timeout
        idle = [s for s in self._streams if not s.busy and s.last_used < deadline]
        for stream in idle:  # batons die first, so no request can pick one up meanwhile
            self._forget(stream)
        for stream in idle:
            await stream.close()
        return len(idle)

    async def close_all(self) -> None:
        """Close every stream (on shutdown)."""
        for stream in list(self._streams):
            await self.close(stream)
