"""Network inside the sandbox: a clear error for direct connects, a local proxy for egress.

The sandbox has its own network namespace with only loopback, so the kernel already refuses
every outside connection. The audit hook below only turns that into a message that says
what to do. When the app lists hosts under ``[egress] allow``, a forwarder process listens
on ``127.0.0.1:PROXY_PORT`` inside the sandbox and relays each connection to the platform's
allowlist proxy on a unix socket; ``HTTP_PROXY``/``HTTPS_PROXY`` point clients at it.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
from typing import Any

PROXY_PORT = 3128
PROXY_SOCKET = "/run/atoll/egress.sock"


def blocked_message(address: Any, egress: bool) -> str:
    """The error text for a direct network connection."""
    where = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
    hint = (
        "Only hosts listed under [egress] allow in atoll.toml are reachable, through the "
        f"HTTP proxy at http://127.0.0.1:{PROXY_PORT} (HTTP_PROXY/HTTPS_PROXY are set)."
        if egress
        else 'To reach a host, list it as "host:port" under [egress] allow in atoll.toml.'
    )
    return f"Atoll sandbox: direct network connection to {where} is blocked. {hint}"


def install_guard(egress: bool) -> None:
    """Refuse direct TCP/UDP connects from Python with a clear PermissionError."""
    proxy = ("127.0.0.1", PROXY_PORT)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in ("socket.connect", "socket.sendto"):
            return
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return
        if egress and isinstance(address, tuple) and tuple(address[:2]) == proxy:
            return
        raise PermissionError(blocked_message(address, egress))

    sys.addaudithook(hook)


def proxy_environment() -> dict[str, str]:
    """Environment variables that send HTTP clients through the in-sandbox proxy."""
    url = f"http://127.0.0.1:{PROXY_PORT}"
    return {"HTTP_PROXY": url, "HTTPS_PROXY": url, "http_proxy": url, "https_proxy": url}


def run_forwarder(listener: socket.socket, target: str) -> None:
    """Relay every connection on ``listener`` to the unix socket ``target``; never returns."""
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    peers: dict[socket.socket, socket.socket] = {}

    def close(sock: socket.socket) -> None:
        other = peers.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            peers.pop(s, None)
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock is listener:
                try:
                    client, _addr = listener.accept()
                except OSError:
                    continue
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    upstream.connect(target)
                except OSError:
                    client.close()
                    upstream.close()
                    continue
                peers[client], peers[upstream] = upstream, client
                sel.register(client, selectors.EVENT_READ, None)
                sel.register(upstream, selectors.EVENT_READ, None)
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(sock)
                continue
            try:
                peers[sock].sendall(data)
            except (OSError, KeyError):
                close(sock)


def start_forwarder() -> int:
    """Fork the forwarder process; its pid."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PROXY_PORT))
    listener.listen(64)
    pid = os.fork()
    if pid == 0:
        try:
            run_forwarder(listener, PROXY_SOCKET)
        finally:
            os._exit(0)
    listener.close()
    return pid
