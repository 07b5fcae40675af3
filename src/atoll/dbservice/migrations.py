"""Forward migrations: ``migrations/NNNN_name.sql`` applied in order, one transaction each.

Applied migrations are recorded in the database's ``_atoll_migrations`` table with a
SHA-256 checksum; editing an applied migration is an error. Each migration is classified
additive (create table/index/view/trigger, add column, insert) or destructive (drop,
rename, update/delete, anything unknown) for the release rollback check. Parsing,
splitting, classifying and planning are pure functions; applying and the dry run do I/O.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import apsw

from atoll.errors import AtollError, BadInput, Conflict, NotFound
from atoll.faults import crash_point

from .engine import Connection, EngineLimits, split_statements
from .names import DatabaseName
from .snapshots import KEEP_SNAPSHOTS, SnapshotInfo, take_snapshot

Kind = Literal["additive", "destructive"]
MIGRATION_TABLE = "_atoll_migrations"
MIGRATION_LIMITS = EngineLimits(statement_timeout=300.0)
# Table-rebuild recipes (and tools that write them) toggle these; inside the migration's
# transaction SQLite ignores foreign_keys, and foreign_key_check runs before the commit.
MIGRATION_PRAGMAS = frozenset({"foreign_keys", "legacy_alter_table"})
_FILENAME = re.compile(r"^(?:.*/)?(\d{4})_([a-z0-9][a-z0-9_]*)\.sql$")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?(?:\*/|$)", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]")
_CREATE_STATEMENTS = {"TABLE", "INDEX", "UNIQUE", "VIEW", "TRIGGER", "VIRTUAL"}
_SNAPSHOT_REASON = re.compile(r"before-migration-(\d{4})")
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?(?:\*/|$))*", re.S)


class MigrationError(Conflict):
    """A migration cannot be planned or applied; ``detail`` names it (and the snapshot)."""

    code = "migration_error"


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def filename(self) -> str:
        """``NNNN_name.sql``."""
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    """A migration recorded as applied in a database."""

    version: int
    name: str
    checksum: str
    kind: str
    applied_at: str

    @property
    def filename(self) -> str:
        """``NNNN_name.sql``."""
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class Classification:
    """Whether a migration only adds, and why not if it does more."""

    kind: Kind
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class MigrationOutcome:
    """How one migration went (applied for real, or in a dry run)."""

    filename: str
    kind: Kind
    ok: bool
    error: str | None = None
    line: int | None = None  # where the statement that failed starts in the file


@dataclass(frozen=True)
class MigrationReport:
    """The result of applying (or dry-running) the pending migrations."""

    outcomes: list[MigrationOutcome] = field(default_factory=list)
    snapshot: SnapshotInfo | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True if every pending migration applied."""
        return self.error is None


# -- pure logic -------------------------------------------------------------------------


def parse_migration_filename(filename: str) -> tuple[int, str]:
    """``0001_init.sql`` -> ``(1, "init")``; BadInput otherwise."""
    match = _FILENAME.match(filename)
    if not match:
        raise BadInput(
            f"migration file {filename!r} must be named NNNN_name.sql (lower case, digits, _)",
            file=filename,
        )
    return int(match.group(1)), match.group(2)


def load_migrations(files: Mapping[str, str]) -> list[Migration]:
    """Migrations from ``{filename: sql}``, in version order; duplicates are an error."""
    migrations: dict[int, Migration] = {}
    for filename, sql in files.items():
        version, name = parse_migration_filename(filename)
        if version in migrations:
            raise BadInput(
                f"two migrations have version {version:04d}",
                files=[migrations[version].filename, filename],
            )
        if version == 0:
            raise BadInput("migration versions start at 0001", file=filename)
        migrations[version] = Migration(version, name, sql)
    return [migrations[v] for v in sorted(migrations)]


def _words(statement: str, count: int = 6) -> list[str]:
    text = _STRINGS.sub(" 'x' ", _COMMENTS.sub(" ", statement))
    return re.findall(r"[A-Za-z_]+|\(", text)[:count]


def classify_statement(statement: str) -> tuple[Kind, str]:
    """Classify one statement: its kind and a short description."""
    words = [w.upper() for w in _words(statement, 12)]
    head = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    if head == "CREATE" and (second in _CREATE_STATEMENTS or second in ("TEMP", "TEMPORARY")):
        return "additive", f"CREATE {second}"
    if head == "ALTER":
        if "ADD" in words:
            return "additive", "ALTER TABLE ADD COLUMN"
        if "RENAME" in words:
            return "destructive", "ALTER TABLE RENAME"
        if "DROP" in words:
            return "destructive", "ALTER TABLE DROP COLUMN"
    if head == "INSERT":
        if "OR" in words[:3] and "REPLACE" in words[:4]:
            return "destructive", "INSERT OR REPLACE"
        if "UPDATE" in (w.upper() for w in _words(statement, 100_000)):
            return "destructive", "INSERT ... DO UPDATE"
        return "additive", "INSERT"
    if head in ("PRAGMA", "ANALYZE", "SELECT"):
        return "additive", head
    if head in ("DROP", "UPDATE", "DELETE", "REPLACE", "INSERT"):
        return "destructive", " ".join(words[:2])
    return "destructive", f"unrecognised statement {head or '(empty)'}"


def classify_migration(sql: str) -> Classification:
    """Additive if every statement only adds; otherwise destructive, with the reasons."""
    reasons = []
    for statement in split_statements(sql):
        kind, what = classify_statement(statement)
        if kind == "destructive":
            reasons.append(what)
    return Classification("destructive" if reasons else "additive", tuple(reasons))


def statement_lines(sql: str) -> list[tuple[int, str]]:
    """Each statement of a script with the 1-based line its first keyword is on."""
    found: list[tuple[int, str]] = []
    pos = 0
    for statement in split_statements(sql):
        at = sql.find(statement, pos)  # statements are stripped slices of ``sql``, in order
        if at < 0:
            at = pos
        pos = at + len(statement)
        lead = _LEADING_COMMENTS.match(statement)
        start = at + (lead.end() if lead else 0)
        found.append((sql.count("\n", 0, start) + 1, statement))
    return found


def migration_problems(sql: str) -> list[str]:
    """Reasons a migration cannot run at all (it manages transactions, or is empty)."""
    statements = split_statements(sql)
    problems = []
    if not statements:
        problems.append("the migration holds no SQL statement")
    for statement in statements:
        words = _words(statement, 1)
        head = words[0].upper() if words else ""
        if head in ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            problems.append(f"{head} is not allowed: each migration runs in its own transaction")
    return problems


def plan_migrations(
    applied: Sequence[AppliedMigration], migrations: Sequence[Migration]
) -> list[Migration]:
    """The migrations still to apply; MigrationError if history and sources disagree."""
    by_version = {m.version: m for m in migrations}
    for record in applied:
        source = by_version.get(record.version)
        label = f"{record.version:04d}_{record.name}.sql"
        if source is None:
            raise MigrationError(
                f"applied migration {label} is missing from the sources", migration=label
            )
        if source.checksum != record.checksum or source.name != record.name:
            raise MigrationError(
                f"migration {label} was changed after it was applied; "
                "add a new migration instead of editing an applied one",
                migration=label,
            )
    last = max((r.version for r in applied), default=0)
    done = {r.version for r in applied}
    pending = [m for m in migrations if m.version not in done]
    for migration in pending:
        if migration.version < last:
            raise MigrationError(
                f"migration {migration.filename} comes before already applied "
                f"migration {last:04d}; give it a higher number",
                migration=migration.filename,
            )
    return pending


def snapshot_reason(version: int) -> str:
    """The reason of the snapshot taken before migration ``version`` (and those after it in
    the same run) were applied."""
    return f"before-migration-{version:04d}"


def blocking_migration(
    applied: Sequence[AppliedMigration], kept: Collection[int]
) -> AppliedMigration | None:
    """The first destructive migration among ``applied`` that code knowing only the
    migrations ``kept`` never saw: the one that stops that code running on this database.
    Additive migrations it never saw do not block it."""
    for record in applied:
        if record.version not in kept and record.kind != "additive":
            return record
    return None


def snapshot_before(
    snapshots: Sequence[SnapshotInfo], after: int, upto: int
) -> SnapshotInfo | None:
    """The newest of ``snapshots`` taken before migrating a database from ``after`` (or
    later) up to ``upto``: restored, it has migrations up to ``after`` and none from
    ``upto`` on."""
    for snapshot in sorted(snapshots, key=lambda s: s.created_at, reverse=True):
        match = _SNAPSHOT_REASON.fullmatch(snapshot.reason)
        if match and after < int(match.group(1)) <= upto:
            return snapshot
    return None


# -- doing it ---------------------------------------------------------------------------


def _migration_connection(path: Path, limits: EngineLimits = MIGRATION_LIMITS) -> Connection:
    return Connection(path, readonly=False, limits=limits, extra_pragmas=MIGRATION_PRAGMAS)


def _ensure_table(conn: Connection) -> None:
    conn.run_script(
        f"CREATE TABLE IF NOT EXISTS {MIGRATION_TABLE} ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, "
        "kind TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


def applied_migrations(conn: Connection) -> list[AppliedMigration]:
    """The migrations recorded in a database, in order."""
    _, rows = conn.query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?", (MIGRATION_TABLE,)
    )
    if not rows:
        return []
    _, rows = conn.query(
        f"SELECT version, name, checksum, kind, applied_at FROM {MIGRATION_TABLE} ORDER BY version"
    )
    return [AppliedMigration(*row) for row in rows]


def list_applied_migrations(data_dir: Path, database: DatabaseName | str) -> list[AppliedMigration]:
    """The migrations applied to a database, with their kinds (for the rollback check)."""
    name = database if isinstance(database, DatabaseName) else DatabaseName.parse(database)
    path = name.path(data_dir)
    if not path.exists():
        raise NotFound(f"database {str(name)!r} does not exist", database=str(name))
    conn = _migration_connection(path)
    try:
        return applied_migrations(conn)
    finally:
        conn.close()


def _apply_all(conn: Connection, pending: Sequence[Migration]) -> MigrationReport:
    outcomes: list[MigrationOutcome] = []
    for migration in pending:
        kind = classify_migration(migration.sql).kind
        problems = migration_problems(migration.sql)
        line: int | None = None
        try:
            if problems:
                raise MigrationError("; ".join(problems), migration=migration.filename)
            conn.run_script("BEGIN IMMEDIATE")
            try:
                _ensure_table(conn)
                for start, statement in statement_lines(migration.sql):
                    line = start  # named in the error if this statement fails
                    conn.run_script(statement)
                line = None
                _, violations = conn.query("PRAGMA foreign_key_check")
                if violations:
                    raise MigrationError(
                        f"it leaves {len(violations)} foreign key violation(s), first in "
                        f"table {violations[0][0]!r}",
                        migration=migration.filename,
                    )
                conn.query(
                    f"INSERT INTO {MIGRATION_TABLE} VALUES (?, ?, ?, ?, ?)",
                    (
                        migration.version,
                        migration.name,
                        migration.checksum,
                        kind,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                    ),
                )
                conn.run_script("COMMIT")
            except BaseException:
                conn.rollback()
                raise
        except AtollError as exc:
            outcomes.append(MigrationOutcome(migration.filename, kind, False, exc.message, line))
            where = f" at line {line}" if line is not None else ""
            return MigrationReport(
                outcomes, error=f"migration {migration.filename} failed{where}: {exc.message}"
            )
        outcomes.append(MigrationOutcome(migration.filename, kind, True))
    return MigrationReport(outcomes)


def apply_migrations(
    data_dir: Path,
    database: DatabaseName | str,
    migrations: Sequence[Migration],
    *,
    limits: EngineLimits = MIGRATION_LIMITS,
    keep_snapshots: int = KEEP_SNAPSHOTS,
) -> MigrationReport:
    """Apply the pending migrations, after a snapshot; MigrationError names what failed.

    Migrations are tenant SQL: they run under the database's quota (``limits``), with a
    longer time limit than requests. The newest ``keep_snapshots`` snapshots are kept.
    """
    name = database if isinstance(database, DatabaseName) else DatabaseName.parse(database)
    conn = _migration_connection(name.path(data_dir), limits)
    try:
        pending = plan_migrations(applied_migrations(conn), migrations)
        if not pending:
            return MigrationReport()
        reason = snapshot_reason(pending[0].version)
        snapshot = take_snapshot(data_dir, name, reason, keep=keep_snapshots)
        crash_point("after-snapshot")
        report = _apply_all(conn, pending)
    finally:
        conn.close()
    if report.error is not None:
        failed = report.outcomes[-1]
        raise MigrationError(
            report.error,
            snapshot=snapshot.id,
            applied=[o.filename for o in report.outcomes if o.ok],
            migration=failed.filename,
            **({"line": failed.line} if failed.line is not None else {}),
        )
    return MigrationReport(report.outcomes, snapshot=snapshot)


def dry_run_migrations(
    data_dir: Path | None,
    database: DatabaseName | str | None,
    migrations: Sequence[Migration],
    *,
    limits: EngineLimits = MIGRATION_LIMITS,
) -> MigrationReport:
    """Apply the pending migrations to a copy (or to an empty database); report, never raise."""
    with tempfile.TemporaryDirectory(prefix="atoll-dryrun-") as tmp:
        copy = Path(tmp) / "copy.sqlite"
        if data_dir is not None and database is not None:
            name = database if isinstance(database, DatabaseName) else DatabaseName.parse(database)
            live = name.path(data_dir)
            if live.exists():
                source = apsw.Connection(str(live), flags=apsw.SQLITE_OPEN_READONLY)
                dest = apsw.Connection(str(copy))
                try:
                    with dest.backup("main", source, "main") as backup:
                        backup.step(-1)
                finally:
                    dest.close()
                    source.close()
        conn = _migration_connection(copy, limits)
        try:
            try:
                pending = plan_migrations(applied_migrations(conn), migrations)
            except MigrationError as exc:
                return MigrationReport(error=exc.message)
            return _apply_all(conn, pending)
        finally:
            conn.close()
            shutil.rmtree(tmp, ignore_errors=True)


def migrate_scratch(
    path: Path, migrations: Sequence[Migration], *, limits: EngineLimits = MIGRATION_LIMITS
) -> MigrationReport:
    """Apply ``migrations`` to a new database at ``path`` (to read the schema they make, as
    the app docs do); report, never raise."""
    conn = _migration_connection(path, limits)
    try:
        return _apply_all(conn, migrations)
    finally:
        conn.close()
