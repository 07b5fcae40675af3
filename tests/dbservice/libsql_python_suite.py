"""Drives the DB service with the official ``libsql`` Python package; prints JSON findings.

Run as a subprocess (``python libsql_python_suite.py URL TOKEN``): the client blocks in Rust.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import libsql


def error_of(fn: Any) -> str | None:
    try:
        fn()
    except Exception as exc:  # the client raises ValueError for server errors
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    url, token = sys.argv[1:3]
    conn = libsql.connect(url, auth_token=token)
    cur = conn.cursor()
    out: dict[str, Any] = {}
    cur.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, n INTEGER, data BLOB)")
    conn.commit()
    cur.execute("INSERT INTO notes (body, n, data) VALUES (?, ?, ?)", ("hello", 42, b"\x00\xff"))
    cur.execute("INSERT INTO notes (body, n, data) VALUES (:body, :n, NULL)", ("named", 7))
    conn.commit()
    out["rows"] = [
        [v.hex() if isinstance(v, bytes) else v for v in row]
        for row in cur.execute("SELECT body, n, data FROM notes ORDER BY id").fetchall()
    ]
    out["big"] = cur.execute("SELECT 9223372036854775807, -9223372036854775808, NULL").fetchall()[0]
    cur.execute("INSERT INTO notes (body) VALUES ('rolled back')")
    conn.rollback()
    out["after_rollback"] = cur.execute("SELECT count(*) FROM notes").fetchall()[0][0]
    cur.executemany("INSERT INTO notes (body, n) VALUES (?, ?)", [("a", 1), ("b", 2)])
    conn.commit()
    out["after_commit"] = cur.execute("SELECT count(*) FROM notes").fetchall()[0][0]
    out["sql_error"] = error_of(lambda: cur.execute("SELECT * FROM missing_table"))
    out["constraint"] = error_of(
        lambda: cur.execute("INSERT INTO notes (id, body) VALUES (1, 'dup')")
    )
    conn.rollback()
    out["still_serving"] = cur.execute("SELECT 1").fetchall()[0][0]
    conn.executescript("CREATE TABLE s (x); INSERT INTO s VALUES (1); INSERT INTO s VALUES (2);")
    out["script"] = conn.execute("SELECT sum(x) FROM s").fetchall()[0][0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
