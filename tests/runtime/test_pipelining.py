"""Calls queued on busy workers (pipelining): exactly-once, per-call timeouts, slow apps."""

from __future__ import annotations

import asyncio
import textwrap

from atoll.errors import FunctionTimeout, TenantCodeError
from atoll.runtime import AppRef, InvokeRequest, InvokeResponse

from .conftest import Harness

FUNCTIONS = {
    "atoll.toml": "[limits]\nconcurrency = 1\ntimeout_seconds = 1\n",
    "functions/mark.py": textwrap.dedent(
        """
        import os, time

        def get(tag: str = "", sleep: float = 0.0, crash: bool = False):
            if sleep:
                time.sleep(sleep)
            if crash:
                os._exit(3)
            if tag:
                with open("/tmp/marks", "a") as f:
                    f.write(tag + "\\n")
            return {"pid": os.getpid(), "tag": tag}

        def delete():
            open("/tmp/marks", "w").close()
            return "cleared"
        """
    ),
    "functions/marks.py": textwrap.dedent(
        """
        def get():
            try:
                return open("/tmp/marks").read().split()
            except FileNotFoundError:
                return []
        """
    ),
}


def request(**query: str) -> InvokeRequest:
    return InvokeRequest("GET", "/api/mark", tuple(query.items()))


def warm_up(rt: Harness, name: str) -> AppRef:
    """An app whose calls are short, so the runtime pipelines them."""
    ref = rt.app(name, FUNCTIONS)
    for _ in range(5):
        assert isinstance(rt.call(ref, "/api/mark"), InvokeResponse)
    instance = rt.runtime.apps[ref.key]
    assert instance.pipelining
    # How many calls a worker takes follows the measured average, which follows this
    # machine's speed: pin it (100 us: up to 16 calls per worker).
    instance.duration_avg = 0.0001
    return ref


def marks(rt: Harness, ref: AppRef) -> list[str]:
    reply = rt.call(ref, "/api/marks")
    assert isinstance(reply, InvokeResponse)
    result: list[str] = reply.json()  # type: ignore[assignment]
    return result


def burst(
    rt: Harness, ref: AppRef, first: InvokeRequest, tags: list[str]
) -> tuple[list[object], int]:
    """``first``, then calls tagged ``tags`` sent while it runs; the results and the most
    calls one worker held at a time."""

    async def scenario() -> tuple[list[object], int]:
        head = asyncio.ensure_future(rt._call(ref, first))
        instance = rt.runtime.apps[ref.key]
        for _ in range(200):
            if instance.active:
                break
            await asyncio.sleep(0.005)
        rest = [asyncio.ensure_future(rt._call(ref, request(tag=t))) for t in tags]
        held = 0
        while not all(c.done() for c in (head, *rest)):
            held = max([held, *(w.busy for w in instance.workers)])
            await asyncio.sleep(0.002)
        return [head.result(), *(r.result() for r in rest)], held

    return rt.loop.run(scenario())


def test_calls_queued_behind_a_crash_run_exactly_once_elsewhere(rt: Harness) -> None:
    ref = warm_up(rt, "crash")
    results, held = burst(rt, ref, request(sleep="0.3", crash="true"), ["a", "b", "c"])
    assert held == 4  # all three were queued on the worker running the crash
    crashed, *rest = results
    assert isinstance(crashed, TenantCodeError), crashed
    assert all(isinstance(r, InvokeResponse) and r.status == 200 for r in rest), rest
    # Queued on the crashed worker, they never began there: each ran once, on a new worker.
    assert sorted(marks(rt, ref)) == ["a", "b", "c"]
    assert crashed.detail.get("exit_code") == 3 or "exit" in crashed.message


def test_timeout_of_the_running_call_moves_the_queued_ones(rt: Harness) -> None:
    ref = warm_up(rt, "slowhead")
    results, held = burst(rt, ref, request(sleep="5"), ["x", "y"])
    assert held == 3
    timed_out, *rest = results
    assert isinstance(timed_out, FunctionTimeout), timed_out
    assert all(isinstance(r, InvokeResponse) and r.status == 200 for r in rest), rest
    assert sorted(marks(rt, ref)) == ["x", "y"]


def test_a_queued_call_timeout_starts_when_it_begins(rt: Harness) -> None:
    ref = warm_up(rt, "chain")

    # Two 0.6 s calls on one worker: the second ends 1.2 s after it was sent, but it ran
    # for only 0.6 s of its 1 s limit.
    async def scenario() -> list[object]:
        calls = [
            asyncio.ensure_future(rt._call(ref, request(sleep="0.6", tag=t)))
            for t in ("first", "second")
        ]
        return [await c for c in calls]

    first, second = rt.loop.run(scenario())
    assert isinstance(first, InvokeResponse) and first.status == 200, first
    assert isinstance(second, InvokeResponse) and second.status == 200, second
    assert first.json()["pid"] == second.json()["pid"]  # type: ignore[index]


def test_slow_apps_are_not_pipelined(rt: Harness) -> None:
    ref = rt.app("slowapp", FUNCTIONS)
    for _ in range(3):
        assert isinstance(rt.call(ref, "/api/mark", query={"sleep": "0.05"}), InvokeResponse)
    instance = rt.runtime.apps[ref.key]
    assert not instance.pipelining
    results, held = burst(rt, ref, request(sleep="0.3"), ["p", "q"])
    assert all(isinstance(r, InvokeResponse) for r in results), results
    assert held == 1  # they waited in the app's queue, not on the busy worker


def test_bursts_of_short_calls_never_fork_more_workers_than_concurrency(rt: Harness) -> None:
    files = dict(FUNCTIONS)
    files["atoll.toml"] = "[limits]\nconcurrency = 2\nqueue = 64\n"
    ref = rt.app("burst", files)
    for _ in range(5):
        assert isinstance(rt.call(ref, "/api/mark"), InvokeResponse)
    instance = rt.runtime.apps[ref.key]
    # The burst must start while pipelining. On a loaded machine the warm calls' average can
    # stay above the threshold, so it is set as a quick app's would be (the depth rule's
    # own timing is test_a_worker_holds_about_two_milliseconds_of_calls's).
    instance.duration_avg = 0.0005
    assert instance.pipelining and instance.sandbox is not None

    async def scenario() -> tuple[list[object], int]:
        calls = [asyncio.ensure_future(rt._call(ref, request())) for _ in range(40)]
        most = 0
        while not all(c.done() for c in calls):
            most = max(most, len(instance.workers) + instance.spawning)
            await asyncio.sleep(0.001)
        return [c.result() for c in calls], most

    results, most = rt.loop.run(scenario())
    assert all(isinstance(r, InvokeResponse) and r.status == 200 for r in results), results
    assert most <= 2
    assert len({r.json()["pid"] for r in results}) <= 2  # type: ignore[union-attr, index]


def test_a_worker_holds_about_two_milliseconds_of_calls(rt: Harness) -> None:
    ref = warm_up(rt, "depth")
    instance = rt.runtime.apps[ref.key]
    expected = {None: 1, 0.05: 1, 0.002: 1, 0.0015: 2, 0.0005: 4, 0.0002: 10, 0.00005: 16}
    for average, depth in expected.items():
        instance.duration_avg = average
        assert instance.depth == depth, average
        # concurrency 1: what is admitted follows the depth (within concurrency + queue)
        assert instance._cap() == min(depth, 1 + instance.limits.queue)
