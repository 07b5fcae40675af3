"""Admission by expected wait and the round-robin queue over tenants (pure logic, no I/O)."""

from __future__ import annotations

import itertools
import math

import pytest

from atoll.runtime.admission import (
    MAX_RETRY_AFTER,
    FairQueue,
    admit,
    estimate,
    expected_wait,
    keep_waiting,
    live_concurrency,
    moving_average,
    retry_after,
    tenant_limit,
)

MiB = 1 << 20


def decide(ahead: int, average: float, concurrency: int = 2, **over: float) -> object:
    """``admit`` for calls of ``average`` seconds, with roomy caps unless overridden."""
    args = {
        "ahead": ahead,
        "most_ahead": 10_000,
        "waiting_bytes": 0,
        "body_bytes": 0,
        "most_waiting_bytes": 64 * MiB,
        "average": average,
        "concurrency": concurrency,
        "budget": 2.0,
    }
    args.update(over)
    return admit(**args)  # type: ignore[arg-type]


def test_a_call_waits_for_the_calls_beyond_the_running_ones() -> None:
    # 200 ms calls, two at a time: one finishes every 100 ms.
    assert expected_wait(0, 0.2, 2) == 0  # a worker is free
    assert expected_wait(1, 0.2, 2) == 0
    assert expected_wait(2, 0.2, 2) == pytest.approx(0.1)  # one of the two must finish
    assert expected_wait(21, 0.2, 2) == pytest.approx(2.0)
    assert expected_wait(5, 0.01, 0) == pytest.approx(0.05)  # concurrency is at least 1


def test_the_admission_average_shrugs_off_a_stall_among_many_short_calls() -> None:
    average = None
    for _ in range(1000):  # 40 us calls, one every 0.5 ms
        average = moving_average(average, 0.00004, 0.0005)
    assert average == pytest.approx(0.00004)
    stalled = moving_average(average, 0.040, 0.0005)  # one call throttled for 40 ms
    assert stalled < 0.0005  # a thousand callers would still wait ~0.1 s at concurrency 4
    # Few, long calls: a slowdown shows at once.
    slow = moving_average(0.2, 2.0, 1.0)
    assert slow == pytest.approx(2.0)
    assert moving_average(0.2, 2.0, 0.1) == pytest.approx(0.38)


def test_admission_follows_the_wait_budget_not_a_count() -> None:
    # A 200 ms function with concurrency 2 and a 2 s budget: 20 calls may wait behind the
    # two running ones; the next would wait 2.1 s.
    assert decide(21, 0.2) is None
    refusal = decide(22, 0.2)
    assert refusal is not None and refusal.reason == "wait"  # type: ignore[attr-defined]
    assert refusal.wait == pytest.approx(2.1)  # type: ignore[attr-defined]
    assert refusal.retry_after == 3  # type: ignore[attr-defined]
    # A 1 ms function: a thousand callers wait 0.25 s at concurrency 4, so all may wait.
    assert decide(1000, 0.001, concurrency=4) is None
    assert decide(9000, 0.001, concurrency=4) is not None


def test_hard_caps_hold_whatever_the_wait() -> None:
    refusal = decide(100, 0.0, most_ahead=100)
    assert refusal is not None and refusal.reason == "queue"  # type: ignore[attr-defined]
    assert refusal.retry_after == 1  # type: ignore[attr-defined]
    assert decide(99, 0.0, most_ahead=100) is None
    over = decide(3, 0.0, waiting_bytes=60 * MiB, body_bytes=5 * MiB)
    assert over is not None and over.reason == "bytes"  # type: ignore[attr-defined]
    assert decide(3, 0.0, waiting_bytes=60 * MiB, body_bytes=4 * MiB) is None


def test_retry_after_is_whole_seconds_from_one_to_a_minute() -> None:
    assert retry_after(0.0) == 1
    assert retry_after(0.2) == 1
    assert retry_after(2.01) == 3
    assert retry_after(1e9) == MAX_RETRY_AFTER
    assert retry_after(math.inf) == MAX_RETRY_AFTER


def test_a_cold_app_admits_until_its_running_calls_show_they_are_slow() -> None:
    assert estimate(0.05, 9.0) == 0.05  # a known average wins
    assert estimate(None, 0.0) == 0.0  # nothing ran yet: only the hard caps apply
    assert decide(5000, estimate(None, 0.0)) is None
    # The first call has run for 1 s without an answer: calls take at least that long.
    refusal = decide(10, estimate(None, 1.0))
    assert refusal is not None and refusal.reason == "wait"  # type: ignore[attr-defined]


def test_a_cold_app_keeps_the_waiting_calls_within_the_budget_once_it_knows() -> None:
    for running, waiting, average, concurrency, budget in itertools.product(
        (0, 1, 2, 4, 16), (0, 1, 5, 40, 500), (0.0001, 0.05, 0.2, 1.5, 30.0), (1, 2, 4), (0.5, 2.0)
    ):
        kept = keep_waiting(running, waiting, average, concurrency, budget)
        # The same as asking, for each waiting call in turn, whether it is within budget.
        within = [
            expected_wait(running + i, average, concurrency) <= budget + 1e-9
            for i in range(waiting)
        ]
        assert kept == sum(within), (running, waiting, average, concurrency, budget)
        assert within == [True] * kept + [False] * (waiting - kept)


def test_one_tenant_never_holds_the_whole_machine() -> None:
    assert tenant_limit(256) == 224
    assert tenant_limit(8) == 7
    assert tenant_limit(2) == 1
    assert tenant_limit(1) == 1  # nothing to keep back


def test_live_concurrency_is_a_share_of_a_full_machine() -> None:
    assert live_concurrency(4, 224, 0, 256) == 4
    assert live_concurrency(16, 7, 0, 8) == 7  # the tenant's most
    assert live_concurrency(16, 7, 3, 8) == 2  # four tenants share eight slots
    assert live_concurrency(4, 1, 9, 2) == 1


def drain(queue: FairQueue[str], pending: dict[str, int], tenant_of: dict[str, str]) -> list[str]:
    """Serve one call per turn, pushing a flow back while it has calls left."""
    order = []
    while (flow := queue.pop()) is not None:
        order.append(flow)
        pending[flow] -= 1
        if pending[flow]:
            queue.push(tenant_of[flow], flow)
    return order


def test_fair_queue_serves_tenants_in_turn_whatever_their_backlog() -> None:
    queue: FairQueue[str] = FairQueue()
    tenant_of = {"a1": "A", "a2": "A", "b1": "B", "c1": "C"}
    pending = {"a1": 1000, "a2": 1000, "b1": 3, "c1": 1}
    for flow in ("a1", "a2", "b1", "c1"):  # A's flood arrived first
        queue.push(tenant_of[flow], flow)
    order = drain(queue, pending, tenant_of)
    # A, B and C take turns; within A its two apps take turns.
    assert order[:8] == ["a1", "b1", "c1", "a2", "b1", "a1", "b1", "a2"]
    assert order[8:] == ["a1", "a2"] * 998
    # B's three calls were served within its first three turns: by position 7, not 2000.
    assert max(i for i, flow in enumerate(order) if flow == "b1") == 6


def test_fair_queue_push_is_idempotent_and_discard_removes() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("A", "a1")
    queue.push("A", "a1")
    queue.push("B", "b1")
    assert len(queue) == 2 and queue.tenants == 2 and "a1" in queue
    queue.discard("a1")
    queue.discard("a1")
    assert len(queue) == 1 and queue.tenants == 1 and "a1" not in queue
    assert queue.pop() == "b1"
    assert queue.pop() is None and not queue


def test_a_tenant_that_comes_back_joins_the_end_of_the_turn() -> None:
    queue: FairQueue[str] = FairQueue()
    for tenant in ("A", "B", "C"):
        queue.push(tenant, tenant.lower())
    assert queue.pop() == "a"  # A has nothing more: it leaves the turn
    queue.push("A", "a")  # ... and comes back behind B and C
    assert [queue.pop(), queue.pop(), queue.pop()] == ["b", "c", "a"]
