"""A database's schema as plain values: tables, their columns, foreign keys and indexes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apsw

MAX_TABLES = 500  # tables (and views) described; the rest are counted


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_schema(path: Path) -> dict[str, Any]:
    """The user tables and views of the SQLite file at ``path`` (read only): ``{"tables":
    [{name, columns: [{name, type, notNull, default, primaryKey}], foreignKeys: [{columns,
    table, to, onUpdate, onDelete}], indexes: [{name, unique, columns}]}], "views": [{name,
    columns}], "more": N}``."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "AND name NOT LIKE '\\_atoll\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        tables: list[dict[str, Any]] = []
        views: list[dict[str, Any]] = []
        for kind, raw_name in rows[:MAX_TABLES]:
            name = str(raw_name)
            columns = [
                {
                    "name": col,
                    "type": ctype or "",
                    "notNull": bool(notnull),
                    "default": default,
                    "primaryKey": int(pk),
                }
                for _cid, col, ctype, notnull, default, pk in conn.execute(
                    f"PRAGMA table_info({_quote(name)})"
                )
            ]
            if kind == "view":
                views.append({"name": name, "columns": columns})
                continue
            tables.append(
                {
                    "name": name,
                    "columns": columns,
                    "foreignKeys": _foreign_keys(conn, name),
                    "indexes": _indexes(conn, name),
                }
            )
        return {"tables": tables, "views": views, "more": max(0, len(rows) - MAX_TABLES)}
    finally:
        conn.close()


def _foreign_keys(conn: apsw.Connection, table: str) -> list[dict[str, Any]]:
    keys: dict[int, dict[str, Any]] = {}
    for fk_id, _seq, target, source, to, on_update, on_delete, _match in conn.execute(
        f"PRAGMA foreign_key_list({_quote(table)})"
    ):
        empty = {"columns": [], "table": target, "to": []}
        key = keys.setdefault(fk_id, {**empty, "onUpdate": on_update, "onDelete": on_delete})
        key["columns"].append(source)
        key["to"].append(to)  # None: the target's primary key
    return [keys[k] for k in sorted(keys)]


def _indexes(conn: apsw.Connection, table: str) -> list[dict[str, Any]]:
    found = []
    for _seq, name, unique, origin, _partial in conn.execute(
        f"PRAGMA index_list({_quote(table)})"
    ).fetchall():
        columns = [
            col if col is not None else "(expression)"
            for _rank, _cid, col in conn.execute(f"PRAGMA index_info({_quote(str(name))})")
        ]
        found.append({"name": name, "unique": bool(unique), "origin": origin, "columns": columns})
    return sorted(found, key=lambda i: str(i["name"]))
