"""Framing shared by the host and the sandbox: a JSON header plus raw body bytes.

One message on a stream socket is ``!II`` (header length, body length), the UTF-8 JSON
header, then the body. Both sides cap what they accept, so a misbehaving peer can only
produce a clear error, never unbounded memory use. Standard library only: this module runs
inside the sandbox as ``atoll._protocol``.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

PREFIX = struct.Struct("!II")
MAX_HEADER_BYTES = 1 << 20


class ProtocolError(Exception):
    """The peer sent a malformed or oversized message."""


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One framed message."""
    head = json.dumps(header, separators=(",", ":"), default=str).encode()
    return PREFIX.pack(len(head), len(body)) + head + body


def decode_prefix(raw: bytes, max_body: int) -> tuple[int, int]:
    """Header and body lengths from a prefix, checked against the caps."""
    head_len, body_len = PREFIX.unpack(raw)
    if head_len > MAX_HEADER_BYTES or body_len > max_body:
        raise ProtocolError(f"message too large: header {head_len} B, body {body_len} B")
    return head_len, body_len


def decode_header(raw: bytes) -> dict[str, Any]:
    """The JSON header of a message."""
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"bad header: {exc}") from exc
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    return header


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(sock: socket.socket, max_body: int) -> tuple[dict[str, Any], bytes] | None:
    """Read one message from a blocking stream socket; None at end of stream."""
    prefix = _recv_exact(sock, PREFIX.size)
    if prefix is None:
        return None
    head_len, body_len = decode_prefix(prefix, max_body)
    head = _recv_exact(sock, head_len)
    body = _recv_exact(sock, body_len) if body_len else b""
    if head is None or body is None:
        return None
    return decode_header(head), body
