"""The framing between the platform and workers, and the worker's poll before it sleeps."""

from __future__ import annotations

import socket
import threading

import pytest

from atoll.sdk._protocol import (
    MAX_HEADER_BYTES,
    PREFIX,
    MessageReader,
    ProtocolError,
    decode_header,
    encode,
)
from atoll.sdk._worker import _frame


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


def test_headers_nested_past_the_stack_are_a_protocol_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for raw in (deep, b'{"logs": ' + deep + b"}"):
        with pytest.raises(ProtocolError, match="nested too deeply"):
            decode_header(raw)


def test_a_worker_answer_always_fits_the_platforms_header_cap() -> None:
    # Control characters take six bytes each once escaped: captured output alone can be
    # over the cap, and an answer over it would be refused as a protocol error.
    reply = {
        "op": "result",
        "status": 200,
        "stdout": "\0" * 65536,
        "stderr": "\1" * 65536,
        "logs": [{"message": "\2" * 4000}] * 60,
    }
    frame = _frame(reply, b"body")
    head_len, body_len = PREFIX.unpack_from(frame)
    assert head_len <= MAX_HEADER_BYTES and frame.endswith(b"body")
    header = decode_header(frame[PREFIX.size : PREFIX.size + head_len])
    assert header["status"] == 200 and header["dropped_logs"] == 60
    assert len(header["stdout"]) == 8192 and header["dropped_chars"] == 2 * (65536 - 8192)
    huge = _frame({"op": "result", "status": 200, "headers": {"x": "\0" * 300_000}}, b"")
    assert decode_header(huge[PREFIX.size :])["error"]["message"] == (
        "the response headers are too large"
    )


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
