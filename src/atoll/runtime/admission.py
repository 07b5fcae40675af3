"""Which call may wait for an app (admission by expected wait) and whose call runs next when
the machine is full (a round-robin queue over tenants). Plain logic, no I/O: see
docs/runtime.md, "Admission and fairness".
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

MAX_RETRY_AFTER = 60  # seconds; a Retry-After beyond a minute tells a client nothing more
AVERAGE_HORIZON_S = 1.0  # the admission average follows about this much time of calls
AVERAGE_MIN_WEIGHT = 0.01  # ... and each call moves it at least this much of the way

F = TypeVar("F", bound=Hashable)


def expected_wait(ahead: int, average: float, concurrency: int) -> float:
    """Seconds before a new call begins when ``ahead`` calls of its app are admitted and not
    finished (running or waiting), calls take ``average`` seconds and ``concurrency`` run at
    once: it begins once ``ahead - concurrency + 1`` of them have finished."""
    concurrency = max(1, concurrency)
    behind = ahead - concurrency + 1
    if behind <= 0:
        return 0.0
    return behind * average / concurrency


def moving_average(average: float | None, sample: float, since_last: float) -> float:
    """The call time to plan admission with, after one more call: a moving average over
    about ``AVERAGE_HORIZON_S`` of calls (at least ``AVERAGE_MIN_WEIGHT`` a call), so a call
    that stalled (CPU quota throttling, preemption) moves it little when calls are many, and
    a slowdown shows within a call or two when they are few and long."""
    if average is None:
        return sample
    weight = min(1.0, max(AVERAGE_MIN_WEIGHT, since_last / AVERAGE_HORIZON_S))
    return average + weight * (sample - average)


def estimate(average: float | None, oldest_running: float) -> float:
    """The call time to plan with: the app's moving average, or while it has none (a cold
    app) how long its oldest running call has run so far: a lower bound, 0 before any call
    began, so a cold app admits up to its hard caps until its calls show they are slow."""
    return average if average is not None else max(0.0, oldest_running)


def retry_after(wait: float) -> int:
    """Whole seconds (1 to ``MAX_RETRY_AFTER``) for the app's queue to drain ``wait``."""
    if not math.isfinite(wait):
        return MAX_RETRY_AFTER
    return max(1, min(MAX_RETRY_AFTER, math.ceil(wait)))


def tenant_limit(machine_limit: int) -> int:
    """Slots one tenant may hold: all but an eighth of the machine's (at least one kept
    back), so another tenant's call finds a free slot at once however one tenant floods."""
    return max(1, machine_limit - max(1, machine_limit // 8))


def live_concurrency(concurrency: int, most: int, contenders: int, machine_limit: int) -> int:
    """How many of an app's calls can run at once: its own cap within the ``most`` its tenant
    may hold, or while the machine is full and ``contenders`` other tenants wait for it,
    about its round-robin share."""
    share = most if contenders <= 0 else machine_limit // (contenders + 1)
    return max(1, min(concurrency, most, share))


@dataclasses.dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not wait, and when to come back."""

    reason: str  # "wait" (over the budget), "queue" (count cap) or "bytes" (body cap)
    wait: float  # seconds the app's queue needs, as estimated
    retry_after: int  # whole seconds, for the Retry-After header


def admit(
    *,
    ahead: int,
    most_ahead: int,
    waiting_bytes: int,
    body_bytes: int,
    most_waiting_bytes: int,
    average: float,
    concurrency: int,
    budget: float,
) -> Refusal | None:
    """None when a call that cannot begin at once may wait; else why not.

    ``ahead``: the app's calls admitted and not finished; ``most_ahead``: its hard cap on
    those; ``waiting_bytes``: request bodies waiting, with ``most_waiting_bytes`` the cap;
    ``average``: the call time to plan with (``estimate``); ``concurrency``: the app's
    calls that can run at once (``live_concurrency``); ``budget``: the longest expected wait
    the app accepts.
    """
    wait = expected_wait(ahead, average, concurrency)
    if ahead >= most_ahead:
        return Refusal("queue", wait, retry_after(wait))
    if waiting_bytes + body_bytes > most_waiting_bytes:
        return Refusal("bytes", wait, retry_after(wait))
    if wait > budget:
        return Refusal("wait", wait, retry_after(wait))
    return None


def keep_waiting(
    running: int, waiting: int, average: float, concurrency: int, budget: float
) -> int:
    """How many of ``waiting`` calls (oldest first) stay within ``budget`` behind
    ``running`` ones: the waiting call with ``i`` calls before it waits
    ``expected_wait(running + i, ...)``. Used once a cold app learns its call time."""
    if average <= 0:
        return waiting
    concurrency = max(1, concurrency)
    # expected_wait(running + i) <= budget  <=>  running + i - c + 1 <= budget * c / average
    room = math.floor(budget * concurrency / average + 1e-9)
    return max(0, min(waiting, room + concurrency - running))


class FairQueue(Generic[F]):
    """Flows (an app environment's waiting calls) waiting for a shared resource, served
    round-robin: tenants in turn, and within a tenant its flows in turn.

    ``pop`` takes the next flow off the queue; a flow that still has work is ``push``ed
    again and goes to the back of its tenant's turn, its tenant to the back of the tenants'.
    So a tenant with one busy flow gets every other turn against another, however many
    calls it has waiting, and the order is fixed by arrivals alone.
    """

    def __init__(self) -> None:
        self._tenants: collections.deque[str] = collections.deque()
        self._flows: dict[str, collections.deque[F]] = {}
        self._tenant_of: dict[F, str] = {}

    def __len__(self) -> int:
        return len(self._tenant_of)

    def __bool__(self) -> bool:
        return bool(self._tenant_of)

    def __contains__(self, flow: object) -> bool:
        return flow in self._tenant_of

    @property
    def tenants(self) -> int:
        """Tenants with a flow waiting."""
        return len(self._tenants)

    def has_tenant(self, tenant: str) -> bool:
        """Whether ``tenant`` has a flow waiting."""
        return tenant in self._flows

    def push(self, tenant: str, flow: F) -> None:
        """Queue ``flow`` for its tenant's next turn (no-op when it is queued already)."""
        if flow in self._tenant_of:
            return
        self._tenant_of[flow] = tenant
        flows = self._flows.get(tenant)
        if flows is None:
            flows = self._flows[tenant] = collections.deque()
            self._tenants.append(tenant)
        flows.append(flow)

    def pop(self) -> F | None:
        """The next flow in turn, taken off the queue; None when nothing waits."""
        if not self._tenants:
            return None
        tenant = self._tenants.popleft()
        flows = self._flows[tenant]
        flow = flows.popleft()
        del self._tenant_of[flow]
        if flows:
            self._tenants.append(tenant)
        else:
            del self._flows[tenant]
        return flow

    def discard(self, flow: F) -> None:
        """Take ``flow`` off the queue wherever it is."""
        tenant = self._tenant_of.pop(flow, None)
        if tenant is None:
            return
        flows = self._flows[tenant]
        flows.remove(flow)
        if not flows:
            del self._flows[tenant]
            self._tenants.remove(tenant)
