"""A real ``atoll serve``: every port cuts off a client that trickles its request head."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server

HEAD = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100


def trickle_until_answered(port: int) -> bytes:
    """Send ``HEAD`` a byte every 0.2 s (20 s in all); what the server answered, once it
    closed the connection. Fails if the whole head went through."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        for byte in HEAD:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                answer = sock.recv(65536)
            except BlockingIOError:
                continue
            finally:
                sock.setblocking(True)
            while chunk := sock.recv(65536):
                answer += chunk
            return answer
        raise AssertionError("the server let the whole slow head through")


def test_every_port_cuts_off_a_slow_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOLL_HTTP_HEAD_TIMEOUT_SECONDS", "1")
    served = start_server(tmp_path / "data", tmp_path / "serve.log")
    try:
        port = int(served.url.rsplit(":", 1)[1])
        for name, target in (
            ("control plane", port),
            ("gateway", served.gateway_port),
            ("DB service", served.db_port),
        ):
            answer = trickle_until_answered(target)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), (name, answer)
            assert json.loads(body)["error"]["code"] == "request_timeout", name
        # A well-behaved client is served as before.
        assert httpx.get(served.url + "/healthz", timeout=10).status_code == 200
    finally:
        stop_server(served.process)
