"""Scale to zero, queueing and overload, crash recovery, releases, dependency layers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from atoll.errors import BuildFailed, FunctionTimeout, Overloaded, TenantCodeError
from atoll.runtime import InvokeRequest, InvokeResponse, error_response

from .conftest import SESSION_UID_BASE, Harness, LoopThread, sandbox_processes, started_runtime

pytestmark = pytest.mark.sandbox

SLOW = """
    import os, signal, time

    def get(seconds: float = 0.0):
        time.sleep(seconds)
        return {"pid": os.getpid()}

    def delete():
        os._exit(3)

    def post():
        os.kill(os.getppid(), signal.SIGKILL)  # the zygote
        return "zygote killed"
    """


def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_idle_app_scales_to_zero_and_comes_back(loop_thread: LoopThread, tmp_path: Path) -> None:
    with started_runtime(
        loop_thread, tmp_path, SESSION_UID_BASE + 5000, pool_size=1, idle_seconds=0.3
    ) as h:
        ref = h.app("idle", {"functions/slow.py": SLOW})
        first = h.call(ref, "/api/slow")
        assert isinstance(first, InvokeResponse) and first.status == 200
        instance = h.runtime.apps[ref.key]
        sandbox = instance.sandbox
        assert sandbox is not None
        wait_until(lambda: ref.key not in h.runtime.apps)
        wait_until(lambda: sandbox.dead and sandbox.process.popen.returncode is not None)
        again = h.call(ref, "/api/slow")
        assert isinstance(again, InvokeResponse) and again.status == 200
        assert h.runtime.apps[ref.key] is not instance


def test_concurrency_cap_queue_and_overload(rt: Harness) -> None:
    ref = rt.app(
        "busy", {"atoll.toml": "[limits]\nconcurrency = 1\nqueue = 1\n", "functions/slow.py": SLOW}
    )
    assert isinstance(rt.call(ref, "/api/slow"), InvokeResponse)
    instance = rt.runtime.apps[ref.key]

    async def scenario() -> list[object]:
        def call(seconds: str) -> asyncio.Task[object]:
            request = InvokeRequest("GET", "/api/slow", (("seconds", seconds),))
            return asyncio.ensure_future(rt._call(ref, request))

        running = call("0.5")
        for _ in range(500):
            if instance.active == 1:
                break
            await asyncio.sleep(0.005)
        queued = call("0")
        for _ in range(500):  # queued: in the app's list, or on the busy worker (pipelined)
            if instance.active + len(instance.waiters) == 2:
                break
            await asyncio.sleep(0.005)
        rejected = await call("0")
        return [await running, await queued, rejected]

    running, queued, rejected = rt.loop.run(scenario())
    assert isinstance(running, InvokeResponse) and running.status == 200
    assert isinstance(queued, InvokeResponse) and queued.status == 200
    assert isinstance(rejected, Overloaded) and rejected.status == 503
    rendered = error_response(rejected)
    assert ("retry-after", "1") in rendered.headers and rendered.status == 503


def test_crashed_worker_is_replaced_without_failing_other_requests(rt: Harness) -> None:
    ref = rt.app("crashy", {"functions/slow.py": SLOW})

    async def scenario() -> tuple[object, object]:
        slow = asyncio.ensure_future(
            rt._call(ref, InvokeRequest("GET", "/api/slow", (("seconds", "0.3"),)))
        )
        await asyncio.sleep(0.05)
        crash = await rt._call(ref, InvokeRequest("DELETE", "/api/slow"))
        return await slow, crash

    slow, crash = rt.loop.run(scenario())
    assert isinstance(slow, InvokeResponse) and slow.status == 200
    assert isinstance(crash, TenantCodeError)
    assert "exited with code 3" in crash.message
    assert isinstance(rt.call(ref, "/api/slow"), InvokeResponse)


def test_crashed_zygote_is_replaced(rt: Harness) -> None:
    ref = rt.app("zygote-crash", {"functions/slow.py": SLOW})
    other = rt.app("bystander", {"functions/slow.py": SLOW}, tenant="t2")
    assert isinstance(rt.call(other, "/api/slow"), InvokeResponse)
    assert isinstance(rt.call(ref, "/api/slow"), InvokeResponse)
    starts = rt.runtime.apps[ref.key].cold_starts
    sandbox = rt.runtime.apps[ref.key].sandbox
    assert sandbox is not None
    rt.call(ref, "/api/slow", "POST")  # worker may or may not answer before the sandbox ends
    wait_until(lambda: sandbox.dead)
    assert isinstance(rt.call(ref, "/api/slow"), InvokeResponse)
    assert rt.runtime.apps[ref.key].cold_starts > starts
    assert isinstance(rt.call(other, "/api/slow"), InvokeResponse)


def test_new_release_replaces_the_zygote(rt: Harness) -> None:
    v1 = rt.app("versions", {"functions/v.py": "def get():\n    return 1\n"}, release="r1")
    v2 = rt.app("versions", {"functions/v.py": "def get():\n    return 2\n"}, release="r2")
    first = rt.call(v1, "/api/v")
    assert isinstance(first, InvokeResponse) and first.json() == 1
    old = rt.runtime.apps[v1.key]
    second = rt.call(v2, "/api/v")
    assert isinstance(second, InvokeResponse) and second.json() == 2
    # The old zygote drains, then stays warm like an idle app: going back starts nothing.
    wait_until(lambda: rt.runtime.previous.get(v1.key) is old)
    assert not old.closed and old.sandbox is not None and not old.sandbox.dead
    newer = rt.runtime.apps[v2.key]
    back = rt.call(v1, "/api/v")
    assert isinstance(back, InvokeResponse) and back.json() == 1
    assert rt.runtime.apps[v1.key] is old and old.cold_starts == 1
    wait_until(lambda: rt.runtime.previous.get(v2.key) is newer)


def test_a_prepared_release_takes_over_at_its_first_call(rt: Harness) -> None:
    files = {"functions/v.py": "import os\n\ndef get():\n    return os.getpid()\n"}
    v1 = rt.app("prepared", files, release="v1")
    v2 = rt.app("prepared", {**files, "atoll.toml": "[limits]\nconcurrency = 2\n"}, release="v2")
    v3 = rt.app("prepared", {**files, "atoll.toml": "# v3\n"}, release="v3")
    assert isinstance(rt.call(v1, "/api/v"), InvokeResponse)
    current = rt.runtime.apps[v1.key]

    rt.loop.run(rt.runtime.prepare(v2, workers=5))  # at most its concurrency
    staged = rt.runtime.staged[v2.key]
    assert len(staged.idle) == 2 and rt.runtime.apps[v1.key] is current  # v1 still serves
    warm_pids = {w.pid for w in staged.idle}

    second = rt.call(v2, "/api/v")
    assert isinstance(second, InvokeResponse) and second.json() in warm_pids
    assert len(staged.workers) == 2  # no worker was started for the call
    assert rt.runtime.apps[v2.key] is staged and v2.key not in rt.runtime.staged
    wait_until(lambda: rt.runtime.previous.get(v1.key) is current)  # drained, kept warm

    # Prepared for v3, then v1 deployed instead (a rollback): the v3 instance is closed,
    # and v1's, kept warm since v2 replaced it, serves again.
    rt.loop.run(rt.runtime.prepare(v3))
    unused = rt.runtime.staged[v3.key]
    again = rt.call(v1, "/api/v")
    assert isinstance(again, InvokeResponse) and rt.runtime.apps[v1.key] is current
    wait_until(lambda: unused.closed)
    # Preparing what already serves does nothing.
    rt.loop.run(rt.runtime.prepare(v1))
    assert v1.key not in rt.runtime.staged


def test_bad_limits_are_a_build_error(rt: Harness) -> None:
    ref = rt.app("badlimits", {"atoll.toml": "[limits]\ncpus = 3\n"})
    err = rt.call(ref, "/api/x")
    assert isinstance(err, BuildFailed) and err.status == 422
    assert "cpus" in err.message


def test_no_sandbox_outlives_its_app(loop_thread: LoopThread, tmp_path: Path) -> None:
    with started_runtime(loop_thread, tmp_path, SESSION_UID_BASE + 6000, pool_size=1) as h:
        ref = h.app("short", {"functions/slow.py": SLOW})
        assert isinstance(h.call(ref, "/api/slow"), InvokeResponse)
        assert sandbox_processes(SESSION_UID_BASE + 6000, h.runtime.layout.root)
    # started_runtime asserts on exit that no sandbox process is left.


def test_hanging_or_exiting_imports_fail_clearly(rt: Harness) -> None:
    hang = rt.app(
        "hangs",
        {
            "atoll.toml": "[limits]\ntimeout_seconds = 1\n",
            "functions/f.py": "import time\ntime.sleep(1000)\n",
        },
    )
    err = rt.call(hang, "/api/f")
    assert isinstance(err, FunctionTimeout) and "importing the app's functions" in err.message
    exits = rt.app("exits", {"functions/f.py": "import os\nos._exit(1)\n"})
    err = rt.call(exits, "/api/f")
    assert isinstance(err, TenantCodeError) and "while its functions were being imported" in (
        err.message
    )
