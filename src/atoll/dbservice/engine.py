"""One SQLite connection under the service's rules: the authorizer (``authorizer.py``),
a time limit, a result cap and the database's size quota (pages and write-ahead log).

Everything here is synchronous and runs on the thread that owns the connection (the
database's writer thread or a reader pool thread); ``databases.py`` schedules it.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import apsw

from atoll.config import Settings
from atoll.errors import AtollError, BadRequest, Forbidden, LimitExceeded

from .authorizer import Authorizer
from .protocol import Stmt, encode_value

MiB = 1024 * 1024

#: What a connection does with a statement that would write:
#: ``allow`` runs it; ``reroute`` raises NeedsWriter (a reader on a read-write stream);
#: ``token`` refuses it (read-only token); ``transaction`` refuses it (read-only transaction).
WritePolicy = Literal["allow", "reroute", "token", "transaction"]

T = TypeVar("T")

READ_KEYWORDS = frozenset({"SELECT", "VALUES", "WITH", "EXPLAIN", "PRAGMA"})
TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})

# Below this much free space a SQLITE_FULL is the disk's doing, not the quota's.
_DISK_FULL_BYTES = 64 * MiB
_COMMENT_OR_SPACE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))", re.S)
_WORD = re.compile(r"[A-Za-z_]+")
_NULL_BINDINGS: Any = getattr(apsw, "_null_bindings", None)


@dataclass(frozen=True)
class EngineLimits:
    """Limits every statement runs under."""

    statement_timeout: float = 5.0
    max_result_bytes: int = 8 * MiB
    max_sql_bytes: int = 1 * MiB
    max_value_bytes: int = 16 * MiB
    busy_timeout_ms: int = 5000
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    max_database_bytes: int = 1024 * MiB

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EngineLimits:
        """The limits an installation's settings give (its database size quota)."""
        return cls(max_database_bytes=settings.databases.max_database_mb * MiB, **overrides)

    @property
    def quota_text(self) -> str:
        """The size quota as people read it (``1024 MB``)."""
        return f"{self.max_database_bytes / MiB:g} MB"


class SqlError(BadRequest):
    """SQLite rejected a statement; ``detail['hrana_code']`` names its (extended) result code."""

    code = "sql_error"


class StatementTimeout(LimitExceeded):
    """A statement ran past the per-statement time limit and was interrupted."""

    code = "statement_timeout"


class ResultTooLarge(LimitExceeded):
    """A statement produced more result data than the cap allows."""

    code = "result_too_large"


class DatabaseFull(LimitExceeded):
    """A write would take the database past its size quota (or the disk is full)."""

    status = 507
    code = "database_full"


class WriteRefused(Forbidden):
    """A write was attempted with a read-only token or inside a read-only transaction."""

    code = "write_refused"


class Overran(Exception):  # noqa: N818 - a routing signal, not an error
    """A read tried on the event loop ran past its share of it; run it again on a thread."""


class NeedsWriter(Exception):  # noqa: N818 - a routing signal, not an error
    """Internal signal: a statement tried on a reader must run on the writer instead."""


def hrana_code(error: AtollError) -> str:
    """A platform error's code, as specific as known (``protocol.error_object`` splits it)."""
    code = error.detail.get("hrana_code")
    return code if isinstance(code, str) else error.code.upper()


def first_keyword(sql: str) -> str:
    """The first SQL keyword of a statement, upper-cased, skipping comments ('' if none)."""
    pos = 0
    while True:
        match = _COMMENT_OR_SPACE.match(sql, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
    word = _WORD.match(sql, pos)
    return word.group(0).upper() if word else ""


def has_sql(text: str) -> bool:
    """True if ``text`` holds anything besides blanks, comments and semicolons."""
    return bool(_COMMENT_OR_SPACE.sub("", text).replace(";", "").strip())


def split_statements(sql: str) -> list[str]:
    """The statements of a script (trigger bodies kept whole), comments left in."""
    statements: list[str] = []
    current = ""
    for piece in re.split(r"(;)", sql):
        current += piece
        if piece == ";" and apsw.complete(current):
            if has_sql(current):
                statements.append(current.strip())
            current = ""
    if has_sql(current):
        statements.append(current.strip())
    return statements


def _param_name(sql: str, bare: str | None) -> str | None:
    """Restore the prefix SQLite's parameter name had (apsw strips it)."""
    if bare is None:
        return None
    if bare.isdigit():
        return f"?{bare}"
    match = re.search(r"([:@$])" + re.escape(bare) + r"(?![\w])", sql)
    return (match.group(1) if match else ":") + bare


def _error_name(exc: apsw.Error) -> str:
    """SQLite's extended result code name for an error (its primary name if it has none)."""
    extended = getattr(exc, "extendedresult", None)
    name = apsw.mapping_extended_result_codes.get(extended) if extended is not None else None
    if not isinstance(name, str):
        name = apsw.mapping_result_codes.get(getattr(exc, "result", 1), "SQLITE_ERROR")
    return str(name)


class _Trace:
    """Per-statement state filled in by apsw's exec tracer before the first step."""

    __slots__ = ("sql", "policy", "cols", "readonly", "refusal", "calls", "room")

    def __init__(
        self, sql: str, policy: WritePolicy, room: Callable[[], DatabaseFull | None]
    ) -> None:
        self.sql = sql
        self.policy = policy
        self.room = room  # None if a write may grow the log, else why not
        self.cols: list[dict[str, str | None]] = []
        self.readonly = True
        self.refusal: str | DatabaseFull | None = None
        self.calls = 0

    def __call__(self, cursor: apsw.Cursor, first: str, bindings: object) -> bool:
        self.calls += 1
        if self.calls > 1 and not has_sql(first):
            return True  # apsw hands over a trailing comment as its own (empty) statement
        if self.calls > 1 or (len(first) < len(self.sql) and has_sql(self.sql[len(first) :])):
            self.refusal = "multiple"
            return False
        self.readonly = bool(cursor.is_readonly)
        if not self.readonly and self.policy != "allow":
            self.refusal = self.policy
            return False
        if not self.readonly:
            self.refusal = self.room()
            if self.refusal is not None:
                return False
        self.cols = [{"name": n, "decltype": d} for n, d in cursor.get_description()]
        return True


class Connection:
    """A SQLite connection opened with the service's pragmas, authorizer and limits."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool,
        limits: EngineLimits,
        extra_pragmas: frozenset[str] = frozenset(),
        create: bool = True,
    ) -> None:
        self.path = path
        self._wal = path.with_name(path.name + "-wal")
        self._rules = Authorizer(extra_pragmas)
        self.readonly = readonly
        self.limits = limits
        if readonly:
            flags = apsw.SQLITE_OPEN_READONLY
        else:
            flags = apsw.SQLITE_OPEN_READWRITE | (apsw.SQLITE_OPEN_CREATE if create else 0)
        try:
            self._db = apsw.Connection(str(path), flags=flags)
            self._db.set_busy_timeout(limits.busy_timeout_ms)
            if not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={limits.synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            # The quota, on every connection (the pragma is not stored in the file); tenant
            # SQL can neither set it (authorizer) nor change the page size it counts in.
            page_size = int(self._db.execute("PRAGMA page_size").fetchall()[0][0] or 4096)
            pages = max(1, limits.max_database_bytes // page_size)
            self._db.execute(f"PRAGMA max_page_count={pages}")
        except apsw.Error as exc:
            raise SqlError(f"cannot open database: {exc}", hrana_code=_error_name(exc)) from exc
        self._db.limit(apsw.SQLITE_LIMIT_SQL_LENGTH, limits.max_sql_bytes)
        self._db.limit(apsw.SQLITE_LIMIT_LENGTH, limits.max_value_bytes)
        self._deadline = float("inf")  # the running statement's time limit
        # Set while a read runs on the event loop: it is stopped here (``Overran``) and
        # run again on a thread, so a long read never holds up the loop.
        self.inline_until: float | None = None
        self._stop_at = float("inf")  # the sooner of the two, checked by the progress handler
        self._db.set_progress_handler(self._progress, 1000)
        self._db.authorizer = self._rules

    # -- rules -----------------------------------------------------------------------

    def _progress(self) -> bool:
        return time.monotonic() > self._stop_at

    @property
    def foreign_keys_touched(self) -> bool:
        """True once a statement set ``PRAGMA foreign_keys`` (streams keep it per stream)."""
        return self._rules.foreign_keys_touched

    @foreign_keys_touched.setter
    def foreign_keys_touched(self, value: bool) -> None:
        self._rules.foreign_keys_touched = value

    # -- state -----------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """True when the connection is inside an explicit transaction."""
        return bool(self._db.in_transaction)

    @property
    def foreign_keys(self) -> bool:
        """Whether foreign key enforcement is on."""
        return bool(self._db.execute("PRAGMA foreign_keys").fetchall()[0][0])

    @foreign_keys.setter
    def foreign_keys(self, on: bool) -> None:
        self._db.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")

    def run_inline(self, seconds: float, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on this thread, stopped with ``Overran`` once it has run ``seconds``
        or would wait for a lock (the caller runs it again elsewhere)."""
        self.inline_until = time.monotonic() + seconds
        self._db.set_busy_timeout(0)
        try:
            return work(self)
        finally:
            self.inline_until = None
            self._db.set_busy_timeout(self.limits.busy_timeout_ms)

    def rollback(self) -> None:
        """Roll back an open transaction, if any."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (rolling back whatever is open)."""
        self._db.close(True)

    @property
    def raw(self) -> apsw.Connection:
        """The underlying apsw connection (for the backup API)."""
        return self._db

    # -- running ---------------------------------------------------------------------

    def _translate(self, exc: BaseException, policy: WritePolicy) -> AtollError | Overran:
        if isinstance(exc, apsw.InterruptError):
            now = time.monotonic()
            if now > self._deadline:
                limit = self.limits.statement_timeout
                return StatementTimeout(
                    f"statement interrupted: it ran longer than the {limit:g} s time limit",
                    hrana_code="STATEMENT_TIMEOUT",
                    limit_seconds=limit,
                )
            if self.inline_until is not None and now > self.inline_until:
                return Overran()
        if isinstance(exc, apsw.BusyError) and self.inline_until is not None:
            return Overran()  # waiting for a lock is for a thread, not the event loop
        denied = self._rules.denied
        if isinstance(exc, apsw.AuthError) or (denied and "not authorized" in str(exc)):
            reason = denied or "not authorized"
            return SqlError(f"statement refused: {reason}", hrana_code="SQLITE_AUTH")
        if isinstance(exc, apsw.ReadOnlyError) and policy in ("token", "transaction"):
            return _write_refused(policy)
        if isinstance(exc, apsw.FullError):
            return self._full()
        if isinstance(exc, apsw.TooBigError):
            return SqlError(
                "statement or value too large "
                f"(SQL limit {self.limits.max_sql_bytes} bytes, value limit "
                f"{self.limits.max_value_bytes} bytes)",
                hrana_code="SQLITE_TOOBIG",
            )
        if isinstance(exc, apsw.BindingsError):
            return SqlError(f"bad arguments: {exc}", hrana_code="ARGS_INVALID")
        if isinstance(exc, KeyError):
            return SqlError(f"missing named argument {exc.args[0]!r}", hrana_code="ARGS_INVALID")
        if isinstance(exc, apsw.Error):
            return SqlError(str(exc), hrana_code=_error_name(exc))
        return SqlError(f"cannot bind argument: {exc}", hrana_code="ARGS_INVALID")

    def _full(self) -> DatabaseFull:
        limit = self.limits.max_database_bytes
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            free = _DISK_FULL_BYTES
        if free < _DISK_FULL_BYTES:
            return DatabaseFull(
                "database is full: the server's disk is out of space", hrana_code="SQLITE_FULL"
            )
        return DatabaseFull(
            f"database is full: it reached its quota of {self.limits.quota_text}; "
            "delete rows or drop tables to make room",
            hrana_code="SQLITE_FULL",
            limit_bytes=limit,
        )

    def _log_room(self) -> DatabaseFull | None:
        """Why a write may not grow the write-ahead log now (None: it may).

        A read transaction held open keeps the log from being checkpointed and reset, so
        every later write is appended to it, past the quota; the log is held to the quota.
        """
        limit = self.limits.max_database_bytes
        if _size(self._wal) <= limit:
            return None
        if not self._db.in_transaction:
            # Readers still on old snapshots make this fail at once, without waiting.
            self._db.set_busy_timeout(0)
            try:
                self._db.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
            except apsw.Error:
                pass
            finally:
                self._db.set_busy_timeout(self.limits.busy_timeout_ms)
            if _size(self._wal) <= limit:
                return None
        return DatabaseFull(
            f"database is full: its write-ahead log reached the quota of "
            f"{self.limits.quota_text} because a long-running read transaction keeps it from "
            "being checkpointed; end read transactions, then write again",
            hrana_code="SQLITE_FULL",
            limit_bytes=limit,
        )

    def _start(self, sql: str) -> None:
        self._rules.start(first_keyword(sql))
        self._deadline = time.monotonic() + self.limits.statement_timeout
        self._stop_at = min(self._deadline, self.inline_until or self._deadline)

    def _end(self) -> None:
        self._deadline = self._stop_at = float("inf")

    def _bindings(self, stmt: Stmt, sql: str) -> Any:
        if stmt.named_args and stmt.args:
            names = [p["name"] for p in self.describe(sql)["params"]]
            values = list(stmt.args) + [None] * max(0, len(names) - len(stmt.args))
            for index, name in enumerate(names):
                bare = name[1:] if name else None
                if bare is not None and bare in stmt.named_args:
                    values[index] = stmt.named_args[bare]
            return values
        if stmt.named_args:
            return dict(stmt.named_args)
        return stmt.args

    def execute(self, sql: str, stmt: Stmt, policy: WritePolicy) -> dict[str, Any]:
        """Run one statement and return a Hrana ``StmtResult``."""
        trace = _Trace(sql, policy, self._log_room)
        cursor = self._db.cursor()
        cursor.exec_trace = trace
        rows: list[list[dict[str, Any]]] = []
        before = self._db.total_changes()
        try:
            bindings = self._bindings(stmt, sql)
            self._start(sql)
            rows = self._collect(cursor.execute(sql, bindings), stmt.want_rows)
        except apsw.ExecTraceAbort as exc:
            raise self._refusal(trace) from exc
        except Overran:
            cursor.close(True)  # its statement and read snapshot end here, not when collected
            raise
        except (apsw.Error, KeyError, TypeError, OverflowError) as exc:
            raise self._translate(exc, policy) from exc
        finally:
            self._end()
        if not trace.cols and not rows and trace.refusal is None and not sql.strip():
            raise SqlError("no SQL statement given", hrana_code="SQL_NO_STATEMENT")
        changed = self._db.total_changes() != before
        return {
            "cols": trace.cols,
            "rows": rows,
            # changes() and last_insert_rowid() keep the last write's values (maybe another
            # stream's: streams share the writer) across statements that write nothing, so
            # those report 0 and null, as sqld does for everything but an INSERT.
            "affected_row_count": self._db.changes() if changed else 0,
            "last_insert_rowid": str(self._db.last_insert_rowid()) if changed else None,
        }

    def _refusal(self, trace: _Trace) -> Exception:
        if isinstance(trace.refusal, DatabaseFull):
            return trace.refusal
        if trace.refusal == "multiple":
            return SqlError(
                "SQL text holds more than one statement; send one per request or use a batch",
                hrana_code="SQL_MANY_STATEMENTS",
            )
        if trace.refusal == "reroute":
            return NeedsWriter()
        return _write_refused("token" if trace.refusal == "token" else "transaction")

    def _collect(self, cursor: Iterator[tuple[Any, ...]], want_rows: bool) -> list[Any]:
        rows: list[list[dict[str, Any]]] = []
        size = 0
        cap = self.limits.max_result_bytes
        inline_until = self.inline_until
        for row in cursor:
            # Encoding rows is Python work the progress handler does not see.
            if inline_until is not None and time.monotonic() > inline_until:
                raise Overran()
            if not want_rows:
                continue
            size += 16 * len(row)
            for value in row:
                if type(value) is str or type(value) is bytes:
                    size += len(value)
            if size > cap:
                raise ResultTooLarge(
                    f"result is larger than the {cap} byte cap; select fewer rows or columns",
                    hrana_code="RESULT_TOO_LARGE",
                    limit_bytes=cap,
                )
            rows.append([encode_value(v) for v in row])
        return rows

    def sequence(self, sql: str, policy: WritePolicy) -> None:
        """Run semicolon-separated statements in order, ignoring their rows."""
        for statement in split_statements(sql):
            self._run_one(statement, policy)

    def _run_one(self, statement: str, policy: WritePolicy) -> None:
        refused: list[WritePolicy] = []
        full: list[DatabaseFull] = []

        def trace(cur: apsw.Cursor, first: str, bindings: object) -> bool:
            if policy != "allow" and not cur.is_readonly:
                refused.append(policy)
                return False
            if not cur.is_readonly and (no_room := self._log_room()) is not None:
                full.append(no_room)
                return False
            return True

        cursor = self._db.cursor()
        cursor.exec_trace = trace
        # Each statement is prepared after _start, so the authorizer judges it by its own
        # first keyword (VACUUM's internal ATTACH is allowed, a following ATTACH is not).
        self._start(statement)
        try:
            for _ in cursor.execute(statement):
                pass
        except apsw.ExecTraceAbort as exc:
            if full:
                raise full[0] from exc
            if refused == ["reroute"]:
                raise NeedsWriter() from exc
            raise _write_refused("token" if refused == ["token"] else "transaction") from exc
        except (apsw.Error, KeyError) as exc:
            raise self._translate(exc, policy) from exc
        finally:
            self._end()

    def describe(self, sql: str) -> dict[str, Any]:
        """Parse a statement without running it: parameters, columns, read-only, explain."""
        info: dict[str, Any] = {}

        def trace(cur: apsw.Cursor, first: str, bindings: object) -> bool:
            names = cur.bindings_names
            info["params"] = [_param_name(first, n) for n in names]
            info["cols"] = [{"name": n, "decltype": d} for n, d in cur.get_description()]
            info["is_explain"] = bool(cur.is_explain)
            info["is_readonly"] = bool(cur.is_readonly)
            return False

        cursor = self._db.cursor()
        cursor.exec_trace = trace
        self._start(sql)
        try:
            # apsw's own query_info binds this sentinel to prepare without real arguments.
            cursor.execute(sql, _NULL_BINDINGS, can_cache=False)
        except apsw.ExecTraceAbort:
            pass
        except apsw.Error as exc:
            raise self._translate(exc, "allow") from exc
        finally:
            self._end()
        if not info:
            raise SqlError("no SQL statement given", hrana_code="SQL_NO_STATEMENT")
        return {
            "params": [{"name": n} for n in info["params"]],
            "cols": info["cols"],
            "is_explain": info["is_explain"],
            "is_readonly": info["is_readonly"],
        }

    def run_script(self, sql: str) -> None:
        """Run a multi-statement script (migrations), rows ignored, each under the limit."""
        self.sequence(sql, "allow")

    def query(
        self, sql: str, args: tuple[Any, ...] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one trusted statement and return plain column names and rows."""
        cursor = self._db.cursor()
        cols: list[str] = []

        def trace(cur: apsw.Cursor, first: str, bindings: object) -> bool:
            cols[:] = [d[0] for d in cur.get_description()]
            return True

        cursor.exec_trace = trace
        self._start(sql)
        try:
            rows = list(cursor.execute(sql, args))
        except (apsw.Error, KeyError) as exc:
            raise self._translate(exc, "allow") from exc
        finally:
            self._end()
        return cols, rows


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _write_refused(policy: WritePolicy) -> WriteRefused:
    if policy == "token":
        return WriteRefused(
            "write refused: this database token is read-only", hrana_code="READONLY_TOKEN"
        )
    return WriteRefused(
        "write refused: the stream is inside a read-only transaction",
        hrana_code="READONLY_TRANSACTION",
    )


def open_connection(path: Path, *, readonly: bool, limits: EngineLimits) -> Connection:
    """Open a connection to an existing (or, for writers, new) database file."""
    return Connection(path, readonly=readonly, limits=limits)


ConnectionWork = Callable[[Connection], Any]
