"""What tenant SQL may do: the SQLite authorizer of every connection the service opens.

It refuses whatever would reach past the database's own file or outlive a request on a
shared connection (``ATTACH``, ``VACUUM INTO``, temporary objects), lift the connection's
limits (setting pragmas other than a short allowlist), or load code. ``Connection`` calls
``start`` before preparing each statement, so each is judged by its own first keyword.
"""

from __future__ import annotations

import apsw

# Pragmas that may take an argument: schema introspection, checks and user_version.
_PRAGMAS_WITH_ARGUMENT = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "user_version",
        "application_id",
        "defer_foreign_keys",
        "foreign_keys",  # kept per stream on the shared writer (streams.py)
        "optimize",
    }
)
_TEMP_CREATES = frozenset(
    {
        apsw.SQLITE_CREATE_TEMP_INDEX,
        apsw.SQLITE_CREATE_TEMP_TABLE,
        apsw.SQLITE_CREATE_TEMP_TRIGGER,
        apsw.SQLITE_CREATE_TEMP_VIEW,
    }
)
# Any of these on the temp schema makes a temporary object too: ``CREATE TABLE temp.x``
# reports a plain create, ``CREATE TRIGGER temp.x ON main.t`` only its temp schema insert.
# (Updates are left alone: ALTER TABLE updates the temp schema itself, and with nothing
# ever created there they change nothing.)
_TEMP_WRITES = frozenset(
    {
        apsw.SQLITE_CREATE_INDEX,
        apsw.SQLITE_CREATE_TABLE,
        apsw.SQLITE_CREATE_TRIGGER,
        apsw.SQLITE_CREATE_VIEW,
        apsw.SQLITE_CREATE_VTABLE,
        apsw.SQLITE_INSERT,
    }
)
_REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})


class Authorizer:
    """The authorizer callback, with what it refused last (for the error message)."""

    def __init__(self, extra_pragmas: frozenset[str] = frozenset()) -> None:
        self.settable_pragmas = _PRAGMAS_WITH_ARGUMENT | extra_pragmas
        self.keyword = ""
        self.denied: str | None = None
        self.foreign_keys_touched = False

    def start(self, keyword: str) -> None:
        """A statement starting with ``keyword`` is about to be prepared."""
        self.keyword = keyword
        self.denied = None

    def __call__(
        self, op: int, one: str | None, two: str | None, dbname: str | None, trig: str | None
    ) -> int:
        """``SQLITE_OK`` or ``SQLITE_DENY`` (with the reason kept in ``denied``)."""
        reason = None
        if op == apsw.SQLITE_ATTACH:
            if self.keyword != "VACUUM":
                reason = "ATTACH is not allowed"
            elif one:
                reason = "VACUUM INTO is not allowed"
        elif op == apsw.SQLITE_DETACH and self.keyword != "VACUUM":
            reason = "DETACH is not allowed"
        elif op in _TEMP_CREATES or (op in _TEMP_WRITES and dbname == "temp"):
            # Outside the quota, and they would outlive the request on a shared connection.
            reason = "temporary tables, views, indexes and triggers are not supported"
        elif op == apsw.SQLITE_FUNCTION and (two or "").lower() in _REFUSED_FUNCTIONS:
            reason = f"{two}() is not allowed"
        elif op == apsw.SQLITE_PRAGMA:
            name = (one or "").lower()
            if name == "writable_schema" or (two is not None and name not in self.settable_pragmas):
                reason = f"PRAGMA {name} cannot be changed"
            elif name == "foreign_keys" and two is not None:
                self.foreign_keys_touched = True
        if reason is None:
            return apsw.SQLITE_OK
        self.denied = reason
        return apsw.SQLITE_DENY
