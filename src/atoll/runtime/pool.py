"""Slots (a folder and a host uid per sandbox), the uid range they come from, and the pool
of generic warm sandboxes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import fcntl
import os
import re
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path

from atoll.errors import Unavailable

from .layout import secure_directory
from .zygote import Sandbox

_RANGE_FILE = re.compile(r"^(\d+)-(\d+)\.lock$")
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class UidRange:
    """Host uids ``start .. start + count - 1``, held for as long as this object lives.

    ``reserve`` takes the first range no other running instance on this host holds. A
    reservation is an ``flock`` on ``<folder>/<start>-<count>.lock``: the kernel drops it
    when the holder's process ends, however it ends, so a crashed instance frees its range.
    """

    def __init__(self, start: int, count: int, fd: int | None = None) -> None:
        self.start = start
        self.count = count
        self._release = weakref.finalize(self, os.close, fd) if fd is not None else None

    @property
    def stop(self) -> int:
        """One past the last uid."""
        return self.start + self.count

    @classmethod
    def reserve(cls, folder: Path, base: int, count: int, ranges: int) -> UidRange:
        """The first of ``ranges`` ranges of ``count`` uids from ``base`` on that is free."""
        folder = secure_directory(folder, 0o700)
        guard = os.open(folder / ".guard", _OPEN_FLAGS, 0o600)
        try:
            # One reserver at a time: the scan and the new lock are one step.
            fcntl.flock(guard, fcntl.LOCK_EX)
            held = _held_ranges(folder)
            for index in range(ranges):
                start = base + index * count
                if any(start < stop and other < start + count for other, stop in held):
                    continue
                fd = os.open(folder / f"{start}-{count}.lock", _OPEN_FLAGS, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    raise
                return cls(start, count, fd)
        finally:
            os.close(guard)
        raise Unavailable(
            f"every sandbox uid range ({ranges} x {count} from {base}) is in use by other atoll "
            f"instances on this host (see {folder}); set ATOLL_RUNTIME_SANDBOX_UID_BASE or "
            "ATOLL_RUNTIME_SANDBOX_UID_RANGES",
            folder=str(folder),
        )

    def release(self) -> None:
        """Let other instances have the range (idempotent)."""
        if self._release is not None:
            self._release()


def _held_ranges(folder: Path) -> list[tuple[int, int]]:
    """(start, stop) of every range a live process holds; stale files are removed."""
    held = []
    for name in os.listdir(folder):
        match = _RANGE_FILE.match(name)
        if match is None:
            continue
        start, count = int(match[1]), int(match[2])
        try:
            fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            held.append((start, start + count))
        else:
            os.unlink(folder / name)  # its holder is gone
        finally:
            os.close(fd)
    return held


class SlotAllocator:
    """Hands out slot numbers; slot ``n`` runs as host uid ``uids.start + n``."""

    def __init__(self, uids: UidRange) -> None:
        self.uids = uids
        self.base_uid = uids.start
        self.size = uids.count
        self._free = collections.deque(range(uids.count))

    def take(self) -> int:
        """A free slot number."""
        if not self._free:
            raise Unavailable("no free sandbox slots", slots=self.size)
        return self._free.popleft()

    def give_back(self, slot: int) -> None:
        """Return a slot once its sandbox is gone."""
        self._free.append(slot)

    def uid(self, slot: int) -> int:
        """The host uid of a slot."""
        return self.base_uid + slot

    def release(self) -> None:
        """Give the uid range up, once no sandbox runs as one of its uids any more."""
        self.uids.release()


class WarmPool:
    """Generic sandboxes, already started with the SDK imported, waiting for an app."""

    def __init__(self, start: Callable[[], Awaitable[Sandbox]], size: int) -> None:
        self._start = start
        self.size = size
        self.ready: collections.deque[Sandbox] = collections.deque()
        self._starting = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.failures = 0

    def take(self) -> Sandbox | None:
        """A ready sandbox, or None when the pool is empty; refills in the background."""
        sandbox = None
        while self.ready:
            candidate = self.ready.popleft()
            if not candidate.dead:
                sandbox = candidate
                break
        self.refill()
        return sandbox

    def refill(self) -> None:
        """Start sandboxes until the pool is full again."""
        while not self.closed and len(self.ready) + self._starting < self.size:
            self._starting += 1
            task = asyncio.get_running_loop().create_task(self._start_one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _start_one(self) -> None:
        try:
            sandbox = await self._start()
        except Exception:
            self.failures += 1
            return
        finally:
            self._starting -= 1
        if self.closed:
            sandbox.close()
        else:
            self.ready.append(sandbox)

    async def wait_full(self, timeout: float = 30.0) -> None:
        """Wait until every pool sandbox has started (tests and benchmarks use this)."""
        async with asyncio.timeout(timeout):
            while self._starting or len(self.ready) < self.size:
                if self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
                else:
                    self.refill()
                    await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop refilling and kill the waiting sandboxes."""
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        while self.ready:
            self.ready.popleft().close()
