"""The DB service: libSQL's Hrana protocol over HTTP, one SQLite database per app environment.

Errors it adds to the platform tree (all in ``engine.py`` unless noted)::

    BadRequest
    ├── SqlError (400 sql_error)              SQLite rejected a statement
    ├── ProtocolError (400 hrana_protocol_error, protocol.py)
    └── StreamGone (400 stream_expired, streams.py)
    LimitExceeded
    ├── StatementTimeout (413 statement_timeout)
    ├── ResultTooLarge (413 result_too_large)
    └── DatabaseFull (507 database_full)       the database reached its size quota
    Forbidden
    └── WriteRefused (403 write_refused)       read-only token or transaction
    Conflict
    └── MigrationError (409 migration_error, migrations.py)
"""

from __future__ import annotations

from .admin import (
    QueryResult,
    TableInfo,
    connect,
    connection_info,
    create_database,
    database_path,
    delete_app_databases,
    delete_database,
    exec_sql,
    list_tables,
    revoke_database_tokens,
    service_url,
    table_rows,
)
from .app import Reply, ServiceApp, ServiceOptions, make_app
from .engine import (
    DatabaseFull,
    EngineLimits,
    ResultTooLarge,
    SqlError,
    StatementTimeout,
    WriteRefused,
)
from .generations import database_generation
from .migrations import (
    AppliedMigration,
    Migration,
    MigrationError,
    MigrationReport,
    apply_migrations,
    blocking_migration,
    classify_migration,
    dry_run_migrations,
    list_applied_migrations,
    load_migrations,
    snapshot_before,
)
from .names import DatabaseName
from .server import bind_socket, bind_unix_socket, default_socket_path, make_server, serve
from .snapshots import (
    SnapshotInfo,
    delete_snapshot,
    list_snapshots,
    prune_snapshots,
    restore_snapshot,
    rows_since,
    take_snapshot,
)
from .tokens import TokenClaims, TokenIssuer, TokenVerifier

__all__ = [
    "AppliedMigration",
    "DatabaseFull",
    "DatabaseName",
    "EngineLimits",
    "Migration",
    "MigrationError",
    "MigrationReport",
    "QueryResult",
    "Reply",
    "ResultTooLarge",
    "ServiceApp",
    "ServiceOptions",
    "SnapshotInfo",
    "SqlError",
    "StatementTimeout",
    "TableInfo",
    "TokenClaims",
    "TokenIssuer",
    "TokenVerifier",
    "WriteRefused",
    "apply_migrations",
    "bind_socket",
    "bind_unix_socket",
    "blocking_migration",
    "classify_migration",
    "connect",
    "connection_info",
    "create_database",
    "database_generation",
    "database_path",
    "default_socket_path",
    "delete_app_databases",
    "delete_database",
    "delete_snapshot",
    "dry_run_migrations",
    "exec_sql",
    "list_applied_migrations",
    "list_snapshots",
    "list_tables",
    "load_migrations",
    "make_app",
    "make_server",
    "prune_snapshots",
    "restore_snapshot",
    "rows_since",
    "revoke_database_tokens",
    "serve",
    "snapshot_before",
    "service_url",
    "table_rows",
    "take_snapshot",
]
