"""Function logs per app environment: recent entries in memory, all of them in a capped file.

One entry per invocation (request id, function, status, duration, captured stdout/stderr,
``atoll.log`` lines) plus entries for output the sandbox wrote outside any invocation.
Files are ``<dir>/<tenant>/<app>/<env>.jsonl``, rotated to ``.1`` past ``LogSettings.file_bytes``.

What tenants write reaches this store, so everything it holds is bounded in bytes: the
entries kept per environment, the environments kept at all, the entries waiting to be
written and those waiting for each ``follow`` reader (``LogSettings``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from sys import getsizeof
from typing import IO, Any

from atoll.config import LogSettings

MAX_OUTPUT_CHARS = 64 * 1024
FLUSH_SECONDS = 0.05
_ENCODER = json.JSONEncoder(default=str)
_MAX_DEPTH = 16  # entries are built by the platform and shallow; this only guards ``weigh``


def weigh(value: object, depth: int = 0) -> int:
    """Bytes of memory a JSON-like value holds, everything in it included."""
    size = getsizeof(value)
    if depth >= _MAX_DEPTH:
        return size
    if type(value) is dict:
        for key, item in value.items():
            # Inline for leaves: this runs once per invocation, on the event loop.
            kind = type(item)
            size += getsizeof(key) + (
                weigh(item, depth + 1) if kind is dict or kind is list else getsizeof(item)
            )
    elif type(value) is list:
        for item in value:
            size += weigh(item, depth + 1)
    return size


# An invocation's entry (see ``Runtime.invoke``) with empty strings: what ``invocation_size``
# adds its variable parts to.
_INVOCATION_BYTES = weigh(
    {
        "ts": 0.0,
        "request_id": "0" * 16,
        "function": "",
        "method": "DELETE",
        "status": 200,
        "stdout": "",
        "stderr": "",
        "logs": [],
        "truncated": True,
        "duration_ms": 0.0,
    }
)


def invocation_size(function: str, stdout: str, stderr: str, logs: list[Any]) -> int:
    """What ``weigh`` says of an invocation's entry, without walking it (on every call)."""
    size = _INVOCATION_BYTES + getsizeof(function) + getsizeof(stdout) + getsizeof(stderr)
    return size + weigh(logs) if logs else size


class _Recent:
    """The newest entries of one environment, with their sizes."""

    __slots__ = ("bytes", "complete", "entries")

    def __init__(self, complete: bool) -> None:
        self.entries: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self.bytes = 0
        # True while memory holds every entry the environment's file has: reads need no file.
        self.complete = complete


class _Follower:
    """Entries waiting for one ``follow`` reader, at most ``max_bytes`` of them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self.bytes = 0
        self.skipped = 0  # entries a slow reader missed
        self._wake: asyncio.Future[None] | None = None

    def put(self, entry: dict[str, Any], size: int) -> None:
        if self.entries and self.bytes + size > self.max_bytes:
            self.skipped += 1
            return
        self.entries.append((entry, size))
        self.bytes += size
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def get(self) -> dict[str, Any]:
        while not self.entries:
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake
        entry, size = self.entries.popleft()
        self.bytes -= size
        return entry


class LogStore:
    """Read, append and follow the logs of every app environment."""

    def __init__(self, directory: Path, settings: LogSettings | None = None) -> None:
        self.directory = directory
        self.settings = settings or LogSettings.model_construct()  # field defaults only
        # Least recently written first: the environment let go when there are too many.
        self._recent: collections.OrderedDict[str, _Recent] = collections.OrderedDict()
        self._followers: dict[str, set[_Follower]] = {}
        self._files: collections.OrderedDict[str, tuple[IO[str], list[int]]] = (
            collections.OrderedDict()
        )
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._pending_bytes = 0
        # The control plane reads from worker threads while the event loop appends.
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._flush_handle: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        """Write pending entries to their files."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._write_pending()

    def _write_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._pending_bytes = 0
        with self._io_lock:
            for key, entries in pending.items():
                with contextlib.suppress(OSError):
                    f, size = self._file(key)
                    text = "".join([_ENCODER.encode(e) + "\n" for e in entries])
                    f.write(text)
                    f.flush()
                    size[0] += len(text)

    def _file(self, key: str) -> tuple[IO[str], list[int]]:
        """The open log file of ``key`` and its size (rotated when it grows too big)."""
        handle = self._files.get(key)
        if handle is not None and handle[1][0] <= self.settings.file_bytes:
            self._files.move_to_end(key)
            return handle
        path = self._path(key)
        if handle is not None:
            del self._files[key]
            handle[0].close()
            path.replace(path.with_suffix(".jsonl.1"))
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a")
        handle = (f, [f.tell()])
        self._files[key] = handle
        while len(self._files) > self.settings.open_files:
            _, (old, _size) = self._files.popitem(last=False)
            old.close()
        return handle

    def close(self) -> None:
        """Write what is pending and close the open log files."""
        self.flush()
        with self._io_lock:
            for f, _size in self._files.values():
                f.close()
            self._files.clear()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.jsonl"

    def append(self, key: str, entry: dict[str, Any], size: int | None = None) -> None:
        """Record one entry for the environment ``key`` (``tenant/app/env``); it is kept as
        given (not copied) when it already has its ``ts``. ``size`` is its ``weigh``, when
        the caller knows it more cheaply.

        Call it on the event loop's thread (followers are woken there) or with no loop.
        ``read`` is safe from any thread.
        """
        if "ts" not in entry:
            entry = {"ts": time.time(), **entry}
        for field in ("stdout", "stderr", "text"):
            value = entry.get(field)
            if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
                entry[field] = value[:MAX_OUTPUT_CHARS]
                entry["truncated"] = True
        if size is None:
            size = weigh(entry)
        settings = self.settings
        with self._lock:
            recent = self._recent.get(key)
            if recent is None:
                complete = key not in self._pending and not self._path(key).exists()
                recent = self._recent[key] = _Recent(complete)
                while len(self._recent) > settings.environments:
                    self._recent.popitem(last=False)
            else:
                self._recent.move_to_end(key)
            recent.entries.append((entry, size))
            recent.bytes += size
            # Even the newest goes when it alone is over the budget: reads take it from the file.
            while recent.entries and (
                len(recent.entries) > settings.entries_per_environment
                or recent.bytes > settings.bytes_per_environment
            ):
                recent.bytes -= recent.entries.popleft()[1]
                recent.complete = False
            self._pending.setdefault(key, []).append(entry)
            self._pending_bytes += size
            write_now = self._pending_bytes > settings.bytes_per_environment
        if write_now:
            self.flush()  # a burst: do not let entries pile up between batched writes
        elif self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
            else:
                # Batch file writes: one write per environment every few milliseconds.
                self._flush_handle = loop.call_later(FLUSH_SECONDS, self.flush)
        for follower in self._followers.get(key, ()):
            follower.put(entry, size)

    def in_memory(self, key: str) -> list[dict[str, Any]]:
        """The entries of ``key`` held in memory, oldest first."""
        with self._lock:
            recent = self._recent.get(key)
            return [entry for entry, _size in recent.entries] if recent is not None else []

    def memory_bytes(self, key: str | None = None) -> int:
        """Bytes the entries held in memory take, for ``key`` or for every environment."""
        with self._lock:
            if key is not None:
                recent = self._recent.get(key)
                return recent.bytes if recent is not None else 0
            return sum(recent.bytes for recent in self._recent.values())

    def read(
        self, key: str, limit: int = 100, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (0: all that are kept), oldest first; from the file
        when memory does not hold enough of them."""
        with self._lock:
            recent = self._recent.get(key)
            entries = [entry for entry, _size in recent.entries] if recent is not None else []
            complete = recent is not None and recent.complete
        if request_id is not None:
            entries = [e for e in entries if e.get("request_id") == request_id]
            if not entries and not complete:
                entries = [e for e in self._read_file(key, 0) if e.get("request_id") == request_id]
        elif not complete and (not limit or len(entries) < limit):
            entries = self._read_file(key, limit)
        return entries[-limit:] if limit else entries

    def _read_file(self, key: str, limit: int) -> list[dict[str, Any]]:
        self._write_pending()
        path = self._path(key)
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return []
        entries = []
        for line in lines[-max(limit, self.settings.entries_per_environment) :]:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    async def follow(self, key: str, backlog: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Entries as they are appended (after the last ``backlog`` ones); ends when cancelled.

        A reader that falls behind by more than ``LogSettings.follower_bytes`` misses entries.
        """
        follower = _Follower(self.settings.follower_bytes)
        self._followers.setdefault(key, set()).add(follower)
        try:
            if backlog:
                for entry in self.read(key, backlog):
                    yield entry
            while True:
                yield await follower.get()
        finally:
            followers = self._followers.get(key)
            if followers is not None:
                followers.discard(follower)
                if not followers:
                    del self._followers[key]
