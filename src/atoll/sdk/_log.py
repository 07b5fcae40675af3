"""``atoll.log``: structured log lines attached to the current invocation."""

from __future__ import annotations

import sys
import time
from typing import Any

# The platform keeps no more than this of one invocation's lines (it checks again on its side).
MAX_RECORDS = 1000
MAX_MESSAGE_CHARS = 4000  # one message, and one field value
MAX_FIELDS = 32  # fields of one line
MAX_FIELD_NAME_CHARS = 64
MAX_LOG_CHARS = 256 * 1024  # messages and fields of all lines of one invocation together
LEVELS = frozenset({"debug", "info", "warning", "error"})


class FunctionLog:
    """Log lines written by a function; the platform stores them with the request id.

    ``atoll.log.info("saved", todo=todo_id)`` keeps a line with its level, message and fields
    (shown by ``atoll logs`` and the IDE's Logs panel). Messages and field values are turned
    into strings and cut at 4000 characters, at most 32 fields a line; past 1000 lines, or
    256 KiB, of one call the rest are dropped and counted.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] | None = None
        self.dropped = 0
        self.chars = 0

    def begin(self) -> None:
        """Start collecting the lines of one invocation."""
        self.records = []
        self.dropped = 0
        self.chars = 0

    def end(self) -> tuple[list[dict[str, Any]], int]:
        """Stop collecting; the lines and how many were dropped over the cap."""
        records, dropped = self.records or [], self.dropped
        self.records = None
        return records, dropped

    def _write(self, level: str, message: Any, fields: dict[str, Any]) -> None:
        text = str(message)[:MAX_MESSAGE_CHARS]
        if self.records is None:
            print(f"[{level}] {text}", file=sys.stderr)
            return
        if len(self.records) >= MAX_RECORDS:
            self.dropped += 1
            return
        kept = {
            k[:MAX_FIELD_NAME_CHARS]: str(v)[:MAX_MESSAGE_CHARS]
            for k, v in list(fields.items())[:MAX_FIELDS]
        }
        chars = len(text) + sum(len(k) + len(v) for k, v in kept.items())
        if self.chars + chars > MAX_LOG_CHARS:
            self.dropped += 1
            return
        self.chars += chars
        record: dict[str, Any] = {"ts": time.time(), "level": level, "message": text}
        if kept:
            record["fields"] = kept
        self.records.append(record)

    def debug(self, message: Any, **fields: Any) -> None:
        """Log at debug level."""
        self._write("debug", message, fields)

    def info(self, message: Any, **fields: Any) -> None:
        """Log at info level."""
        self._write("info", message, fields)

    def warning(self, message: Any, **fields: Any) -> None:
        """Log at warning level."""
        self._write("warning", message, fields)

    def error(self, message: Any, **fields: Any) -> None:
        """Log at error level."""
        self._write("error", message, fields)


log = FunctionLog()
