"""The event loop's selector that polls briefly before it sleeps; the server's heap."""

from __future__ import annotations

import asyncio
import gc
import selectors
import socket
import weakref
from unittest import mock

from atoll.server import BusyPollSelector, settle_heap


def test_ready_events_come_back_and_timeouts_hold() -> None:
    a, b = socket.socketpair()
    with a, b, BusyPollSelector(0.001) as selector:
        selector.register(b, selectors.EVENT_READ)
        assert selector.select(0.05) == []  # nothing ready: polls, then waits out the rest
        a.send(b"x")
        ready = selector.select(1.0)
        assert [key.fileobj for key, _ in ready] == [b]
        assert selector.select(0) == [(ready[0][0], selectors.EVENT_READ)]


def test_it_polls_only_when_asked_to() -> None:
    allowed = [False]
    with BusyPollSelector(0.002, should_poll=lambda: allowed[0]) as selector:
        real = selectors.EpollSelector.select
        with mock.patch.object(selectors.EpollSelector, "select", autospec=True) as calls:
            calls.side_effect = real

            def mine() -> int:  # (other threads' event loops may select meanwhile)
                return sum(1 for call in calls.call_args_list if call.args[0] is selector)

            selector.select(0.01)
            assert mine() == 1  # straight to a blocking wait
            allowed[0] = True
            selector.select(0.01)
            assert mine() > 3  # polled with timeout 0, then waited


def test_an_event_loop_runs_on_it() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(4))
        await writer.drain()
        writer.close()

    async def round_trip() -> bytes:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"ping")
            data = await reader.read(4)
            writer.close()
            return data
        finally:
            server.close()

    factory = lambda: asyncio.SelectorEventLoop(BusyPollSelector(1e-4))  # noqa: E731
    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(round_trip()) == b"ping"


def test_settled_heap_is_left_out_of_collections_and_new_garbage_is_not() -> None:
    class Node:
        other: object = None

    try:
        settle_heap()
        assert gc.get_freeze_count() > 0  # startup objects are no longer scanned
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made while serving
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
