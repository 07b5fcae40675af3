"""FairShares: tenants held to a share of the gateway's loop while it runs late."""

from __future__ import annotations

import asyncio
import time

import pytest

from atoll.gateway.fairness import FairShares


class Conn:
    """A connection that notes when it may read again."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.closed = False

    def unpark(self) -> None:
        self.log.append(self.name)


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


def test_nobody_waits_while_the_loop_is_on_time_or_one_tenant_has_it_alone() -> None:
    shares = FairShares(share=2)
    for _ in range(5):
        shares.started("acme")
    assert not shares.park("acme", Conn("a", []))  # on time
    shares.fair_until = time.monotonic() + 60  # late, but acme is alone
    assert not shares.park("acme", Conn("a", []))
    shares.started("bravo")
    assert shares.park("acme", Conn("a", []))


def test_a_tenant_at_its_share_waits_and_its_answers_let_the_parked_in_one_by_one() -> None:
    log: list[str] = []
    shares = FairShares(share=2)
    shares.fair_until = time.monotonic() + 60  # the loop ran late
    shares.seen["bravo"] = time.monotonic()  # and a neighbour is sending
    shares.started("acme")
    assert not shares.park("acme", Conn("under", log))  # below its share: reads on
    shares.started("acme")
    first, gone, second = Conn("first", log), Conn("gone", log), Conn("second", log)
    assert shares.park("acme", first) and shares.park("acme", gone)
    assert shares.park("acme", second)
    assert not shares.park("bravo", Conn("b", log))  # a neighbour is not held back
    gone.closed = True
    shares.finished("acme")
    assert log == ["first"]  # one answer, one connection back (the oldest)
    shares.finished("acme")
    assert log == ["first", "second"]  # the closed one was skipped
    assert not shares.parked and not shares.in_flight


def test_no_connection_waits_longer_than_max_park() -> None:
    log: list[str] = []
    shares = FairShares(share=2, max_park=0.0)
    shares.fair_until = time.monotonic() + 60
    shares.seen["bravo"] = time.monotonic()
    shares.started("acme")
    shares.started("acme")
    for name in "abc":
        assert shares.park("acme", Conn(name, log))
    shares._release("acme", time.monotonic(), most=2)
    assert log == ["a", "b"]  # a share's worth at a time
    shares._release("acme", time.monotonic(), most=2)
    assert log == ["a", "b", "c"] and not shares.parked


@pytest.mark.anyio
async def test_a_late_loop_turns_sharing_on_and_stopping_lets_everyone_read() -> None:
    log: list[str] = []
    shares = FairShares(share=1, saturated_lag=0.005, max_park=60.0, tick=0.01)
    shares.start()
    try:
        await asyncio.sleep(0.05)
        assert not shares.sharing()  # on time
        time.sleep(0.05)  # a turn of the loop that takes 50 ms
        await asyncio.sleep(0.02)
        shares.started("bravo")
        assert not shares.sharing()  # late, but one tenant alone
        shares.started("acme")
        assert shares.sharing()
        assert shares.park("acme", Conn("a", log))
        await asyncio.sleep(0.05)
        assert log == []  # still its share in flight, not parked long: waits
        shares.started("acme", least=3)  # an app that may run three at once
        assert shares.share_of("acme") == 3
        assert not shares.park("acme", Conn("b", log))  # two in flight, under its three

    finally:
        shares.stop()
    assert log == ["a"] and not shares.sharing()
