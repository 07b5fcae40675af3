"""Framing shared by the host and the sandbox: a JSON header plus raw body bytes.

One message on a stream socket is ``!II`` (header length, body length), the UTF-8 JSON
header, then the body. Both sides cap what they accept, so a misbehaving peer can only
produce a clear error, never unbounded memory use. Standard library only: this module runs
inside the sandbox as ``atoll._protocol``.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import Any

PREFIX = struct.Struct("!II")
MAX_HEADER_BYTES = 1 << 20
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_DECODER = json.JSONDecoder()


class ProtocolError(Exception):
    """The peer sent a malformed or oversized message."""


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One framed message."""
    head = _ENCODER.encode(header).encode()
    return PREFIX.pack(len(head), len(body)) + head + body


def decode_prefix(raw: bytes | bytearray, max_body: int) -> tuple[int, int]:
    """Header and body lengths from the prefix at the start of ``raw``, checked against the
    caps."""
    head_len, body_len = PREFIX.unpack_from(raw)
    if head_len > MAX_HEADER_BYTES or body_len > max_body:
        raise ProtocolError(f"message too large: header {head_len} B, body {body_len} B")
    return head_len, body_len


def decode_header(raw: bytes | bytearray) -> dict[str, Any]:
    """The JSON header of a message."""
    try:
        header = _DECODER.decode(raw.decode())
    except ValueError as exc:  # UnicodeDecodeError is one too
        raise ProtocolError(f"bad header: {exc}") from exc
    except RecursionError:  # nested deeper than the interpreter's stack allows
        raise ProtocolError("bad header: nested too deeply") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    return header


class MessageReader:
    """Reads framed messages from a blocking socket with as few ``recv`` calls as possible."""

    def __init__(self, sock: socket.socket, max_body: int) -> None:
        self.sock = sock
        self.max_body = max_body
        self.buffer = bytearray()
        self.poll_s = 0.0  # before blocking for the next message, poll this long (once)

    def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            want = max(65536, size - len(self.buffer))
            chunk = self._poll(want) if self.poll_s else None
            if chunk is None:
                chunk = self.sock.recv(want)
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def _poll(self, want: int) -> bytes | None:
        """What arrives within ``poll_s`` without sleeping, else None."""
        deadline = time.perf_counter() + self.poll_s
        self.poll_s = 0.0
        while True:
            try:
                return self.sock.recv(want, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if time.perf_counter() >= deadline:
                    return None
                os.sched_yield()  # polling is for spare CPU: anything runnable goes first

    def read(self) -> tuple[dict[str, Any], bytes] | None:
        """The next message; None at end of stream."""
        if not self._fill(PREFIX.size):
            return None
        head_len, body_len = decode_prefix(self.buffer, self.max_body)
        end = PREFIX.size + head_len + body_len
        if not self._fill(end):
            return None
        header = decode_header(self.buffer[PREFIX.size : PREFIX.size + head_len])
        body = bytes(self.buffer[PREFIX.size + head_len : end])
        del self.buffer[:end]
        return header, body
