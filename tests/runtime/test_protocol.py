"""The framing between the platform and workers, and the worker's poll before it sleeps."""

from __future__ import annotations

import socket
import threading

import pytest

from atoll.sdk._protocol import MessageReader, ProtocolError, encode


def test_messages_round_trip_across_partial_reads() -> None:
    a, b = socket.socketpair()
    with a, b:
        data = encode({"op": "x", "n": 1}, b"body") + encode({"op": "y"}, b"")
        for i in range(len(data)):  # one byte at a time
            a.send(data[i : i + 1])
        reader = MessageReader(b, max_body=100)
        assert reader.read() == ({"op": "x", "n": 1}, b"body")
        assert reader.read() == ({"op": "y"}, b"")
        a.close()
        assert reader.read() is None


def test_oversized_and_malformed_messages_are_refused() -> None:
    for raw in (encode({"op": "x"}, b"x" * 101), b"\0\0\0\3\0\0\0\0[1]", b"\0\0\0\2\0\0\0\0{x"):
        a, b = socket.socketpair()
        with a, b:
            a.sendall(raw)
            with pytest.raises(ProtocolError):
                MessageReader(b, max_body=100).read()


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_a_poll_gets_messages_that_arrive_during_it_or_after_it(delay: float) -> None:
    a, b = socket.socketpair()
    with a, b:
        reader = MessageReader(b, max_body=100)
        reader.poll_s = 0.01  # messages after the poll are still read, by a blocking recv
        sender = threading.Timer(delay, a.sendall, (encode({"op": "late"}),))
        sender.start()
        assert reader.read() == ({"op": "late"}, b"")
        assert reader.poll_s == 0  # the poll is used once, then the reader blocks again
        sender.join()
