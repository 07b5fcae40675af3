"""Function logs per app environment: recent entries in memory, all of them in a capped file.

One entry per invocation (request id, function, status, duration, captured stdout/stderr,
``atoll.log`` lines) plus entries for output the sandbox wrote outside any invocation.
Files are ``<dir>/<tenant>/<app>/<env>.jsonl``, rotated to ``.1`` past ``max_file_bytes``.
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
from typing import IO, Any

MAX_OUTPUT_CHARS = 64 * 1024
FLUSH_SECONDS = 0.05
_ENCODER = json.JSONEncoder(default=str)


class LogStore:
    """Read, append and follow the logs of every app environment."""

    def __init__(
        self, directory: Path, keep_in_memory: int = 1000, max_file_bytes: int = 5 << 20
    ) -> None:
        self.directory = directory
        self.keep = keep_in_memory
        self.max_file_bytes = max_file_bytes
        self._recent: dict[str, collections.deque[dict[str, Any]]] = {}
        self._followers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = collections.defaultdict(
            set
        )
        self._files: dict[str, tuple[IO[str], list[int]]] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        # The control plane reads from worker threads while the event loop appends.
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._flush_handle: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        """Write pending entries to their files."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        with self._lock:
            pending, self._pending = self._pending, {}
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
        if handle is not None and handle[1][0] <= self.max_file_bytes:
            return handle
        path = self._path(key)
        if handle is not None:
            handle[0].close()
            path.replace(path.with_suffix(".jsonl.1"))
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a")
        handle = (f, [f.tell()])
        self._files[key] = handle
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

    def append(self, key: str, entry: dict[str, Any]) -> None:
        """Record one entry for the environment ``key`` (``tenant/app/env``); it is kept as
        given (not copied) when it already has its ``ts``.

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
        with self._lock:
            recent = self._recent.setdefault(key, collections.deque(maxlen=self.keep))
            recent.append(entry)
            self._pending.setdefault(key, []).append(entry)
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
            else:
                # Batch file writes: one write per environment every few milliseconds.
                self._flush_handle = loop.call_later(FLUSH_SECONDS, self.flush)
        for queue in self._followers.get(key, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(entry)

    def read(
        self, key: str, limit: int = 100, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, oldest first (from the file when not in memory)."""
        with self._lock:
            entries = list(self._recent.get(key, ()))
        if not entries:
            path = self._path(key)
            if path.exists():
                lines = path.read_text().splitlines()[-self.keep :]
                entries = [json.loads(line) for line in lines if line.strip()]
        if request_id is not None:
            entries = [e for e in entries if e.get("request_id") == request_id]
        return entries[-limit:] if limit else entries

    async def follow(self, key: str, backlog: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Entries as they are appended (after the last ``backlog`` ones); ends when cancelled."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._followers[key].add(queue)
        try:
            if backlog:
                for entry in self.read(key, backlog):
                    yield entry
            while True:
                yield await queue.get()
        finally:
            self._followers[key].discard(queue)
