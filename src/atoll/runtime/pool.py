"""Slots (a folder and a host uid per sandbox) and the pool of generic warm sandboxes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable

from .zygote import Sandbox


class SlotAllocator:
    """Hands out slot numbers; slot ``n`` runs as host uid ``base_uid + n``."""

    def __init__(self, base_uid: int, size: int = 4096) -> None:
        self.base_uid = base_uid
        self._free = collections.deque(range(size))

    def take(self) -> int:
        """A free slot number."""
        if not self._free:
            raise RuntimeError("no free sandbox slots")
        return self._free.popleft()

    def give_back(self, slot: int) -> None:
        """Return a slot once its sandbox is gone."""
        self._free.append(slot)

    def uid(self, slot: int) -> int:
        """The host uid of a slot."""
        return self.base_uid + slot


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
