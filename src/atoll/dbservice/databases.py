"""Open databases: one writer thread and connection each, read connections beside it.

The writer is leased to one stream at a time: an autocommit write holds the lease for a
single statement or batch; an explicit transaction holds it across requests until it ends
or its stream dies. Reads run on a small pool of read-only connections (WAL readers); a
read on a reader just taken tries the event loop first (``InlineReads``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from atoll.errors import AtollError, NotFound

from .engine import Connection, EngineLimits, Overran, SqlError
from .generations import generation_path, read_generation
from .names import DatabaseName

#: What a database is, on disk: the inodes of its file and of its generation id file.
Identity = tuple[int | None, int | None]

T = TypeVar("T")


class InlineReads:
    """When a read may run on the event loop instead of going to a reader thread.

    Most reads take microseconds; the trip to a thread and back costs more than that. So a
    read on a freshly taken reader runs on the loop, stopped after ``budget_s`` (or at the
    first lock it would wait for) and then run again on a thread, as if never tried: it is
    a read in autocommit, so stopping it changes nothing. A database whose read overran
    runs its reads on threads for ``cool_off_s``, and past ``max_overruns`` overruns in a
    second no database tries, so slow queries cannot take the loop a budget at a time.
    """

    def __init__(self, budget_s: float, cool_off_s: float = 1.0, max_overruns: int = 20) -> None:
        self.budget_s = budget_s
        self.cool_off_s = cool_off_s
        self.max_overruns = max_overruns
        self.overruns = 0  # in all, for stats and tests
        self._window = (0.0, 0)  # (start of the current second, overruns in it)
        self._closed_until = 0.0

    def allows(self, db: Database) -> bool:
        """Whether ``db``'s next read may try the loop."""
        if self.budget_s <= 0:
            return False
        now = time.monotonic()
        return now >= db.inline_after and now >= self._closed_until

    def overran(self, db: Database) -> None:
        """Count a read that overran its budget."""
        now = time.monotonic()
        self.overruns += 1
        db.inline_after = now + self.cool_off_s
        start, count = self._window
        if now - start >= 1.0:
            start, count = now, 0
        count += 1
        self._window = (start, count)
        if count >= self.max_overruns:
            self._closed_until = start + 1.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one write of a shared pass gave: its result or error, and the transaction state."""

    ok: bool
    value: T | BaseException
    in_transaction: bool


def _one_pass(
    conn: Connection, queue: list[tuple[Callable[[Connection], Any], Any]]
) -> list[Outcome[Any]]:
    """Run queued writes in order on the writer thread; stop after one opens a transaction."""
    outcomes: list[Outcome[Any]] = []
    for work, _future in queue:
        try:
            outcomes.append(Outcome(True, work(conn), conn.in_transaction))
        except Exception as exc:
            outcomes.append(Outcome(False, exc, conn.in_transaction))
        if outcomes[-1].in_transaction:
            break
    return outcomes


class Database:
    """One open database: its writer thread, its writer lease and its reader pool."""

    def __init__(
        self,
        name: str,
        path: Path,
        limits: EngineLimits,
        reader_executor: ThreadPoolExecutor,
        max_readers: int = 4,
        inline: InlineReads | None = None,
    ) -> None:
        self.name = name
        self.tenant = DatabaseName.parse(name).tenant
        self.path = path
        self.limits = limits
        self._reader_executor = reader_executor
        self._writer_executor = ThreadPoolExecutor(1, thread_name_prefix=f"db-writer-{name}")
        self._writer: Connection | None = None
        self._lease = asyncio.Lock()
        self._idle_readers: list[Connection] = []
        self._all_readers: list[Connection] = []
        self._reader_slots = asyncio.Semaphore(max_readers)
        self._inline = inline
        self.inline_after = 0.0  # no read tries the loop before this (InlineReads)
        self._pool_lock = threading.Lock()
        self.closed = False
        self.identity: Identity = (None, None)
        self.generation: str | None = None  # what tokens of this database must name
        self.generation_path = path.with_suffix(".generation")
        self._queued: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._passes: asyncio.Task[None] | None = None
        self.streams = 0  # live streams on this database; only a database with none is closed
        self.last_used = time.monotonic()

    # -- writer ------------------------------------------------------------------------

    def _writer_call(self, work: Callable[[Connection], T]) -> T:
        if self._writer is None:
            # Never create: a database only comes to be with its generation id (admin.py).
            self._writer = Connection(self.path, readonly=False, limits=self.limits, create=False)
        return work(self._writer)

    def _check_open(self) -> None:
        if self.closed:
            raise NotFound(f"database {self.name!r} was deleted", database=self.name)

    async def on_writer(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on the writer thread (the caller must hold the lease)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_executor, self._writer_call, work)

    async def acquire_writer(self) -> None:
        """Take the writer lease, waiting at most the busy timeout."""
        if not self._lease.locked():
            await self._lease.acquire()  # free: no timer, no extra task
            return
        timeout = self.limits.busy_timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout):  # no extra task, unlike wait_for
                await self._lease.acquire()
        except TimeoutError as exc:
            raise SqlError(
                "database is locked: another stream holds a write transaction",
                hrana_code="SQLITE_BUSY",
            ) from exc

    def release_writer(self) -> None:
        """Give the writer lease back."""
        if self._lease.locked():
            self._lease.release()

    async def write_together(self, work: Callable[[Connection], T]) -> Outcome[T]:
        """Run ``work`` on the writer, back to back with other streams' waiting writes.

        Each write still runs alone in its own statement or transaction; what is shared is
        the trip to the writer thread, which otherwise costs two thread hops per write under
        one lease. A write that leaves a transaction open ends the pass and keeps the lease:
        its stream owns the writer until it gives it back (``Outcome.in_transaction``).
        """
        self._check_open()
        future: asyncio.Future[Outcome[T]] = asyncio.get_running_loop().create_future()
        self._queued.append((work, future))
        if self._passes is None or self._passes.done():
            self._passes = asyncio.get_running_loop().create_task(self._run_passes())
        return await future

    async def _run_passes(self) -> None:
        while self._queued:
            try:
                await self.acquire_writer()
            except SqlError as exc:  # a transaction held the writer past the busy timeout
                queued, self._queued = self._queued, []
                for _, future in queued:
                    if not future.done():
                        future.set_result(Outcome(False, exc, False))
                continue
            queued = [(w, f) for w, f in self._queued if not f.done()]
            self._queued = []
            if not queued:  # every caller went away while we waited
                self.release_writer()
                continue
            try:
                outcomes = await self.on_writer(functools.partial(_one_pass, queue=queued))
            except BaseException as exc:
                self.release_writer()
                for _, future in queued:
                    if not future.done():
                        future.set_result(Outcome(False, exc, False))
                if not isinstance(exc, Exception):
                    raise
                continue
            self._queued = queued[len(outcomes) :] + self._queued
            kept = outcomes[-1].in_transaction
            for (_, future), outcome in zip(queued, outcomes, strict=False):
                if not future.done():
                    future.set_result(outcome)
                elif outcome.in_transaction:  # its caller went away: nobody will commit
                    kept = False
                    with contextlib.suppress(AtollError):
                        await self.on_writer(lambda c: c.rollback())
            if not kept:
                self.release_writer()

    # -- readers -----------------------------------------------------------------------

    async def checkout_reader(self) -> Connection:
        """Take a read-only connection from the pool (opening one if needed)."""
        self._check_open()
        try:
            if self._reader_slots.locked():
                timeout = self.limits.busy_timeout_ms / 1000
                async with asyncio.timeout(timeout):
                    await self._reader_slots.acquire()
            else:
                await self._reader_slots.acquire()  # free: no timer, no extra task
        except TimeoutError as exc:
            raise SqlError(
                "database is busy: every read connection is held by an open read transaction",
                hrana_code="SQLITE_BUSY",
            ) from exc
        with self._pool_lock:
            if self._idle_readers:
                return self._idle_readers.pop()
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(
                self._reader_executor,
                lambda: Connection(self.path, readonly=True, limits=self.limits),
            )
        except BaseException:
            self._reader_slots.release()
            raise
        with self._pool_lock:
            self._all_readers.append(conn)
        return conn

    def checkin_reader(self, conn: Connection) -> None:
        """Return a reader to the pool; it must not be inside a transaction."""
        with self._pool_lock:
            self._idle_readers.append(conn)
        self._reader_slots.release()

    async def on_reader(
        self, conn: Connection, work: Callable[[Connection], T], *, fresh: bool = False
    ) -> T:
        """Run ``work`` on a checked-out reader in the reader thread pool, or first on the
        event loop when the reader is ``fresh`` (just taken, in autocommit; InlineReads)."""
        self._check_open()
        inline = self._inline
        if fresh and inline is not None and inline.allows(self):
            try:
                return conn.run_inline(inline.budget_s, work)
            except Overran:
                inline.overran(self)
                conn.rollback()  # a BEGIN it ran: the reader goes back as it was taken
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_executor, work, conn)

    # -- life --------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the writer (creating WAL files) so readers can open beside it."""
        await self.on_writer(lambda conn: None)

    async def close(self) -> None:
        """Close every connection and stop the writer thread."""
        if self.closed:
            return
        self.closed = True

        def close_all() -> None:
            if self._writer is not None:
                self._writer.close()
            with self._pool_lock:
                for reader in self._all_readers:
                    reader.close()
                self._all_readers.clear()
                self._idle_readers.clear()

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer_executor, close_all)
        self._writer_executor.shutdown(wait=False)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _identity(path: Path, generation: Path) -> Identity:
    # Both files are replaced, never rewritten, so a new inode means a new database or id.
    return _inode(path), _inode(generation)


class DatabaseRegistry:
    """The databases the service has open, looked up by name."""

    def __init__(
        self,
        data_dir: Path,
        limits: EngineLimits,
        max_readers: int = 4,
        max_open: int = 256,
        inline_read_seconds: float = 0.001,
    ) -> None:
        self.data_dir = data_dir
        self.limits = limits
        self.max_readers = max_readers
        self.max_open = max_open
        self._open: dict[str, Database] = {}
        self.inline = InlineReads(inline_read_seconds)
        self._opening = asyncio.Lock()
        # Shared by every database; each database uses at most max_readers of its threads,
        # so one tenant's slow queries cannot take all of them.
        self._reader_executor = ThreadPoolExecutor(
            max(16, max_readers * 4), thread_name_prefix="db-reader"
        )

    def is_current(self, db: Database) -> bool:
        """True while ``db`` is still the database of its name (not deleted or re-created)."""
        return not db.closed and _identity(db.path, db.generation_path) == db.identity

    async def get(self, name: str) -> Database:
        """The open database called ``name``; NotFound if it was never created (or deleted)."""
        db = self._open.get(name)
        # Two stat() calls (~3 us) per new stream: a deleted, or deleted and re-created,
        # database is noticed at once instead of being served from connections to the old
        # file, or under the old generation id.
        if db is not None and self.is_current(db):
            db.last_used = time.monotonic()
            return db
        async with self._opening:
            parsed = DatabaseName.parse(name)
            path = parsed.path(self.data_dir)
            marker = generation_path(self.data_dir, parsed)
            while True:
                db = self._open.get(name)
                identity = _identity(path, marker)
                if db is not None and db.identity != identity:
                    del self._open[name]
                    await db.close()
                    db = None
                if identity[0] is None:
                    raise NotFound(f"database {name!r} does not exist", database=name)
                if db is not None:
                    return db
                await self._close_idle()
                db = Database(
                    name, path, self.limits, self._reader_executor, self.max_readers, self.inline
                )
                db.identity = identity
                db.generation = read_generation(marker)
                try:
                    await db.start()
                except AtollError:
                    await db.close()
                    if _inode(path) is None:  # deleted while we opened it
                        raise NotFound(f"database {name!r} does not exist", database=name) from None
                    raise
                self._open[name] = db
                # Re-created while we opened it? Then the writer or the id may be the old
                # one's: go round again, and open what is there now.
                if _identity(path, marker) == identity:
                    return db

    async def _close_idle(self) -> None:
        """Keep at most ``max_open`` databases open, closing the least recently used idle ones."""
        surplus = len(self._open) + 1 - self.max_open
        if surplus <= 0:
            return
        idle = sorted((d for d in self._open.values() if d.streams == 0), key=lambda d: d.last_used)
        for db in idle[:surplus]:
            await self.forget(db.name)

    async def forget(self, name: str) -> None:
        """Close a database if open (before its files are deleted or replaced)."""
        db = self._open.pop(name, None)
        if db is not None:
            await db.close()

    async def close(self) -> None:
        """Close every open database."""
        for name in list(self._open):
            await self.forget(name)
        self._reader_executor.shutdown(wait=False)
