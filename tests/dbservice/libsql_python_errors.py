"""Constraint violations through the ``libsql`` Python package: what each error carries.

Run as a subprocess (``python libsql_python_errors.py URL TOKEN SETUP_JSON CASES_JSON``);
prints one JSON object mapping each case to the exception's type, text and attributes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import libsql


def main() -> None:
    url, token, setup, cases = sys.argv[1:5]
    conn = libsql.connect(url, auth_token=token)
    for sql in json.loads(setup):
        conn.execute(sql)
    conn.commit()
    out: dict[str, Any] = {"foreign_keys": conn.execute("PRAGMA foreign_keys").fetchall()[0][0]}
    for name, sql in json.loads(cases).items():
        try:
            conn.execute(sql)
        except Exception as exc:  # the client raises ValueError for server errors
            out[name] = {
                "type": type(exc).__name__,
                "text": str(exc),
                "attributes": sorted(a for a in vars(exc) if not a.startswith("_")),
            }
        else:
            out[name] = None
        conn.rollback()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
