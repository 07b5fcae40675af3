"""Sharing the gateway's event loop between tenants when it is saturated.

The runtime shares workers between tenants (round-robin admission), but every request first
costs the gateway's one event loop a read, a parse and a write. A tenant whose thousand
clients each send their next request the moment an answer arrives keeps that loop full,
and a neighbour's request then waits behind hundreds of others in every turn of it.

So while the loop runs late (a timer fires ``saturated_lag`` or more behind) and more than
one tenant is sending requests, each tenant may have at most ``share`` requests in flight
through the gateway (or its app's concurrency, if higher: slow calls cost the loop little
per second). A connection of a tenant at its share that has been answered is *parked*:
reading pauses, so its next request waits in the kernel and costs the loop nothing. When
one of the tenant's requests is answered, its longest-parked connection reads again. A
connection parked longer than ``max_park`` is let go soon after (a share's worth per key
and tick), its request going on to admission, which may refuse it with 503 and
Retry-After; everything parked reads again when sharing ends (the loop on time for a
second with nothing parked meanwhile, or one tenant left sending). A request that arrives
is never dropped or refused here; it only waits its turn to be read.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Protocol


class Parkable(Protocol):
    """A connection that can stop and start reading."""

    closed: bool

    def unpark(self) -> None:
        """Start reading again."""


class FairShares:
    """Per-tenant requests in flight, and the connections parked until their turn."""

    def __init__(
        self,
        share: int = 4,
        saturated_lag: float = 0.005,
        max_park: float = 1.0,
        tick: float = 0.01,
    ) -> None:
        self.share = share
        self.saturated_lag = saturated_lag
        self.max_park = max_park
        self.tick = tick
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.least: dict[str, int] = {}  # keys whose share is above ``share``
        self.seen: dict[str, float] = {}  # when each key last sent a request (the last second)
        self.parked: dict[str, collections.deque[tuple[float, Parkable]]] = {}
        self.fair_until = 0.0  # sharing is on until then (renewed while the loop runs late)
        self.parks = 0  # in all, for stats and tests
        self._timer: asyncio.TimerHandle | None = None
        self._expected = 0.0

    # -- the loop's lateness --------------------------------------------------------------

    def start(self) -> None:
        """Begin timing the running loop."""
        loop = asyncio.get_running_loop()
        self._expected = loop.time() + self.tick
        self._timer = loop.call_at(self._expected, self._on_tick)

    def stop(self) -> None:
        """Stop timing; let every parked connection read again."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.fair_until = 0.0
        for key in list(self.parked):
            self._release(key, older_than=float("inf"))

    def _on_tick(self) -> None:
        loop = asyncio.get_running_loop()
        now, mono = loop.time(), time.monotonic()
        if now - self._expected >= self.saturated_lag or self.parked:
            self.fair_until = mono + 1.0  # late, or holding someone back: share a while more
        # Everyone reads again when sharing ends; else whoever waited ``max_park``, a
        # share's worth per key and tick (so that they do not all come back in one turn).
        sharing = self.sharing()
        for key in list(self.parked):
            if sharing:
                self._release(key, mono - self.max_park, most=self.share_of(key))
            else:
                self._release(key, float("inf"))
        if self.seen and mono - min(self.seen.values()) > 1.0:
            self.seen = {k: t for k, t in self.seen.items() if mono - t <= 1.0}
        self._expected = now + self.tick
        self._timer = loop.call_at(self._expected, self._on_tick)

    def sharing(self) -> bool:
        """Whether tenants are held to their share now: the loop ran late lately, and more
        than one tenant sent requests in the last second (alone, a tenant has it all)."""
        return time.monotonic() < self.fair_until and len(self.seen) > 1

    # -- requests and connections ---------------------------------------------------------

    def started(self, key: str, least: int = 0) -> str:
        """A request of ``key``'s went in; ``least`` raises the key's share (an app's
        concurrency: its slow calls use little of the loop). Returns ``key``."""
        self.in_flight[key] += 1
        self.seen[key] = time.monotonic()
        if least > self.share:
            self.least[key] = least
        return key

    def share_of(self, key: str) -> int:
        """How many requests ``key`` may have in flight while sharing."""
        return self.least.get(key, self.share)

    def finished(self, key: str) -> None:
        """A request of ``key``'s was answered: its longest-parked connection may read."""
        left = self.in_flight[key] - 1
        if left > 0:
            self.in_flight[key] = left
        else:
            del self.in_flight[key]
            self.least.pop(key, None)
        queue = self.parked.get(key)
        while queue and left < self.share_of(key):
            connection = queue.popleft()[1]
            if not connection.closed:
                connection.unpark()
                break
        if queue is not None and not queue:
            del self.parked[key]

    def park(self, key: str, connection: Parkable) -> bool:
        """Whether ``connection`` (answered, of ``key``) must wait before reading again;
        if so it is parked and ``unpark``ed in its turn."""
        if self.in_flight[key] < self.share_of(key) or not self.sharing():
            return False
        self.parked.setdefault(key, collections.deque()).append((time.monotonic(), connection))
        self.parks += 1
        return True

    def _release(self, key: str, older_than: float, most: float = float("inf")) -> None:
        """Let connections of ``key`` parked before ``older_than`` read again (``most``)."""
        queue = self.parked[key]
        while queue and queue[0][0] < older_than and most > 0:
            connection = queue.popleft()[1]
            if not connection.closed:
                connection.unpark()
                most -= 1
        if not queue:
            del self.parked[key]
