"""``python -m atoll.dbservice --data-dir D --port P``: run the DB service alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from atoll.config import Settings

from .app import ServiceOptions
from .engine import EngineLimits
from .server import bind_socket, bind_unix_socket, make_server


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    settings = Settings()  # ATOLL_DATA_DIR, ATOLL_HOST, ATOLL_DB_PORT give the defaults
    parser = argparse.ArgumentParser(prog="python -m atoll.dbservice", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.db_port, help="0 picks a free port")
    parser.add_argument("--uds", type=Path, default=None, help="also listen on this Unix socket")
    parser.add_argument("--statement-timeout", type=float, default=5.0, help="seconds")
    parser.add_argument("--stream-idle-timeout", type=float, default=10.0, help="seconds")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    options = ServiceOptions.from_settings(
        settings,
        limits=EngineLimits.from_settings(
            settings, statement_timeout=args.statement_timeout, synchronous=args.synchronous
        ),
        stream_idle_timeout=args.stream_idle_timeout,
    )
    sockets = [bind_socket(args.host, args.port)]
    host, port = sockets[0].getsockname()[:2]
    if args.uds is not None:
        sockets.append(bind_unix_socket(args.uds))
    server = make_server(args.data_dir, options)
    # One line a parent process (or a test) can wait for to learn the port.
    print(f"atoll-dbservice listening on http://{host}:{port}", flush=True)
    try:
        server.run(sockets=sockets)
    finally:
        if args.uds is not None:
            args.uds.unlink(missing_ok=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
