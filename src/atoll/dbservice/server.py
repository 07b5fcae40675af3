"""Running the DB service: a uvicorn server around ``make_app``, on TCP and a Unix socket.

The Unix socket is what the runtime mounts into sandboxes (functions have no network);
the token in each request, not the socket's permissions, decides what a caller may do.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import uvicorn

from atoll.config import HttpLimits, Settings
from atoll.http_heads import GuardedConfig

from .app import ServiceOptions, make_app


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def bind_unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket at ``path`` (a stale one is replaced), connectable by anyone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    # Sandboxed functions run under another uid; each request still needs a valid token.
    os.chmod(path, 0o666)
    sock.listen(512)
    return sock


def default_socket_path(data_dir: Path) -> Path:
    """Where the service's Unix socket lives unless told otherwise."""
    return data_dir / "run" / "db.sock"


def make_server(
    data_dir: Path, options: ServiceOptions | None = None, limits: HttpLimits | None = None
) -> uvicorn.Server:
    """A uvicorn server for the service; run it with ``server.run(sockets=[...])``.

    Request heads are bounded by ``limits`` (slow or oversized heads are refused).
    """
    app = make_app(data_dir, options=options)
    config = GuardedConfig(
        app,
        HttpLimits() if limits is None else limits,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        proxy_headers=False,
        ws="none",
    )
    return uvicorn.Server(config)


def serve(
    settings: Settings, options: ServiceOptions | None = None, uds: Path | None = None
) -> None:
    """Serve on ``settings.host:settings.db_port`` and on ``uds`` until interrupted."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sockets = [bind_socket(settings.host, settings.db_port)]
    if uds is not None:
        sockets.append(bind_unix_socket(uds))
    try:
        options = options or ServiceOptions.from_settings(settings)
        make_server(settings.data_dir, options, settings.http).run(sockets=sockets)
    finally:
        if uds is not None:
            uds.unlink(missing_ok=True)
