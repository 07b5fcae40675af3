"""Running the DB service: a uvicorn server around ``make_app``."""

from __future__ import annotations

import socket
from pathlib import Path

import uvicorn

from atoll.config import Settings

from .app import ServiceOptions, make_app


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def make_server(data_dir: Path, options: ServiceOptions | None = None) -> uvicorn.Server:
    """A uvicorn server for the service; run it with ``server.run(sockets=[sock])``."""
    app = make_app(data_dir, options=options)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        proxy_headers=False,
        ws="none",
    )
    return uvicorn.Server(config)


def serve(settings: Settings, options: ServiceOptions | None = None) -> None:
    """Serve the DB service on ``settings.host:settings.db_port`` until interrupted."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = bind_socket(settings.host, settings.db_port)
    make_server(settings.data_dir, options).run(sockets=[sock])
