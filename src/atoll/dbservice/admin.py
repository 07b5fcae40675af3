"""What the control plane calls directly: create, delete, run SQL, browse tables.

These open their own short-lived connection (under the same authorizer and limits as the
service); SQLite's locking and the busy timeout order them with the service's writer.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atoll.config import Settings
from atoll.errors import BadInput, NotFound

from .engine import (
    Connection,
    EngineLimits,
    SqlError,
    WritePolicy,
    WriteRefused,
    split_statements,
)
from .generations import create_with_generation, delete_app_files, delete_database_files
from .names import DatabaseName
from .protocol import Stmt, Value
from .revocations import RevocationList
from .tokens import TokenIssuer

_INTERNAL_TABLES = ("sqlite_%", "_atoll_%")


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of one statement (``atoll db exec``, the IDE's table view)."""

    columns: list[str]
    rows: list[list[Value]]
    rows_affected: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; blobs become ``{"base64": ...}``."""
        return {
            "columns": self.columns,
            "rows": [[_jsonable(v) for v in row] for row in self.rows],
            "rows_affected": self.rows_affected,
        }


@dataclass(frozen=True)
class TableInfo:
    """A user table: its name, columns (name, declared type) and row count."""

    name: str
    columns: list[tuple[str, str]]
    row_count: int


def _jsonable(value: Value) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def _name(database: DatabaseName | str) -> DatabaseName:
    return database if isinstance(database, DatabaseName) else DatabaseName.parse(database)


def database_path(data_dir: Path, database: DatabaseName | str) -> Path:
    """The file of a database (whether or not it exists)."""
    return _name(database).path(data_dir)


def create_database(
    data_dir: Path, database: DatabaseName | str, limits: EngineLimits | None = None
) -> Path:
    """Create a database file in WAL mode, with a new generation id, if it does not exist."""
    name = _name(database)

    def create(path: Path) -> None:
        Connection(path, readonly=False, limits=limits or EngineLimits()).close()

    create_with_generation(data_dir, name, create)
    return name.path(data_dir)


@contextmanager
def connect(
    data_dir: Path,
    database: DatabaseName | str,
    limits: EngineLimits | None = None,
    *,
    read_only: bool = False,
) -> Iterator[Connection]:
    """A connection to an existing database (writable unless ``read_only``); NotFound if
    there is none."""
    path = database_path(data_dir, database)
    if not path.exists():
        raise NotFound(f"database {str(database)!r} does not exist", database=str(database))
    conn = Connection(path, readonly=read_only, limits=limits or EngineLimits(), create=False)
    try:
        yield conn
    finally:
        conn.close()


def service_url(settings: Settings) -> str:
    """The URL libSQL clients use to reach the DB service over TCP."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.db_port}"


def connection_info(
    settings: Settings,
    database: DatabaseName | str,
    *,
    read_only: bool = False,
    ttl_seconds: int | None = None,
    minted_by: str | None = None,
) -> dict[str, str]:
    """``{"url", "token"}`` for ``atoll db url``: works in @libsql/client and libsql.

    The token lives ``settings.databases.token_ttl_seconds`` unless ``ttl_seconds`` asks
    for longer (up to ``max_token_ttl_seconds``); ``minted_by`` names the API token that
    asks, so that revoking it revokes this token too.
    """
    limits = settings.databases
    ttl = limits.token_ttl_seconds if ttl_seconds is None else ttl_seconds
    if not 60 <= ttl <= limits.max_token_ttl_seconds:
        raise BadInput(
            f"token lifetime must be 60 to {limits.max_token_ttl_seconds} seconds",
            ttl_seconds=ttl,
        )
    name = _name(database)
    token = TokenIssuer.from_data_dir(settings.data_dir).issue(
        str(name), "ro" if read_only else "rw", ttl, minted_by=minted_by
    )
    return {"url": service_url(settings), "token": token}


def revoke_database_tokens(data_dir: Path, minted_by: str) -> None:
    """Refuse every database token minted for the API token ``minted_by``, from now on."""
    RevocationList(data_dir).revoke(minted_by)


def delete_app_databases(data_dir: Path, tenant: str, app: str) -> None:
    """Delete every environment's database (tokens of it die) and snapshots of an app."""
    delete_app_files(data_dir, tenant, app)


def delete_database(data_dir: Path, database: DatabaseName | str) -> None:
    """Delete one environment's database (tokens of it die) and its snapshots."""
    delete_database_files(data_dir, _name(database))


def exec_sql(
    data_dir: Path,
    database: DatabaseName | str,
    sql: str,
    args: Sequence[Value] = (),
    limits: EngineLimits | None = None,
    *,
    read_only: bool = False,
) -> QueryResult:
    """Run SQL as the app's owner (``atoll db exec``); the last statement's columns and rows.

    Several statements run one after another, each in autocommit, like the sqlite3 shell;
    ``args`` are only allowed with a single statement. ``read_only`` runs them on a
    read-only connection and refuses any statement that would write (``WriteRefused``),
    so a look at production data cannot change it by a slip.
    """
    statements = split_statements(sql)
    if not statements:
        raise SqlError("no SQL statement given", hrana_code="SQL_NO_STATEMENT")
    if args and len(statements) > 1:
        raise SqlError("arguments need a single statement", hrana_code="ARGS_INVALID")
    # The "token" policy refuses writes before they run, as for a read-only libSQL token;
    # the read-only connection would refuse them anyway, with a less helpful message.
    policy: WritePolicy = "token" if read_only else "allow"
    try:
        with connect(data_dir, database, limits, read_only=read_only) as conn:
            for statement in statements[:-1]:
                conn.sequence(statement, policy)
            last = statements[-1]
            result = conn.execute(last, Stmt(sql=last, args=tuple(args)), policy)
    except WriteRefused as exc:
        raise WriteRefused(
            "write refused: the SQL ran read-only (send read_only: false to change data)",
            hrana_code="READONLY",
        ) from exc
    return QueryResult(
        columns=[c["name"] or "" for c in result["cols"]],
        rows=[[_decode(v) for v in row] for row in result["rows"]],
        rows_affected=result["affected_row_count"],
    )


def _decode(value: dict[str, Any]) -> Value:
    kind = value["type"]
    if kind == "integer":
        return int(value["value"])
    if kind == "blob":
        return base64.b64decode(value["base64"])
    if kind == "null":
        return None
    return value["value"]  # type: ignore[no-any-return]


def list_tables(data_dir: Path, database: DatabaseName | str) -> list[TableInfo]:
    """The user tables of a database with their columns and row counts (for the IDE)."""
    with connect(data_dir, database) as conn:
        _, names = conn.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE ? AND name NOT LIKE ? ORDER BY name",
            _INTERNAL_TABLES,
        )
        tables = []
        for (name,) in names:
            _, cols = conn.query("SELECT name, type FROM pragma_table_info(?)", (name,))
            _, count = conn.query(f"SELECT count(*) FROM {_quote(name)}")
            tables.append(
                TableInfo(name=name, columns=[(c, t) for c, t in cols], row_count=count[0][0])
            )
    return tables


def table_rows(
    data_dir: Path, database: DatabaseName | str, table: str, *, limit: int = 100, offset: int = 0
) -> QueryResult:
    """A page of a table's rows in rowid order where there is one (for the IDE)."""
    if not 0 < limit <= 10_000 or offset < 0:
        raise SqlError("limit must be 1..10000 and offset >= 0", hrana_code="ARGS_INVALID")
    with connect(data_dir, database) as conn:
        _, found = conn.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
        )
        if not found:
            raise NotFound(f"table {table!r} does not exist", table=table)
        columns, rows = conn.query(
            f"SELECT * FROM {_quote(table)} LIMIT ? OFFSET ?", (limit, offset)
        )
        if not columns:
            _, info = conn.query("SELECT name FROM pragma_table_info(?)", (table,))
            columns = [c for (c,) in info]
    return QueryResult(columns=columns, rows=[list(r) for r in rows])


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
