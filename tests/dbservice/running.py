"""A real DB service (uvicorn in a thread, free port) over a data dir, and Hrana helpers."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from atoll.dbservice import ServiceOptions, TokenIssuer, bind_socket, make_app

DATABASE = "acme--todo--dev"
OTHER_DATABASE = "acme--todo--prod"


@dataclass
class Service:
    """A running service, its data dir and a way to mint tokens."""

    url: str
    data_dir: Path
    issuer: TokenIssuer
    client: httpx.Client

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def token(self, mode: str = "rw", database: str = DATABASE, ttl: int = 600) -> str:
        return self.issuer.issue(database, mode, ttl)  # type: ignore[arg-type]

    def post(self, path: str, body: Any, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return self.client.post(self.url + path, json=body, headers=headers, **kwargs)

    def pipeline(
        self, requests: list[Any], baton: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = self.post("/v2/pipeline", {"baton": baton, "requests": requests}, token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def execute(self, sql: str, *args: Any, token: str | None = None) -> dict[str, Any]:
        """Run one statement on a fresh stream; the single result entry."""
        stmt = {"sql": sql, "args": [hrana_value(a) for a in args]}
        body = self.pipeline([{"type": "execute", "stmt": stmt}, {"type": "close"}], token=token)
        return body["results"][0]  # type: ignore[no-any-return]


def hrana_value(value: Any) -> dict[str, Any]:
    """Encode a Python value the way a client would."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        return {"type": "integer", "value": str(int(value))}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, bytes):
        return {"type": "blob", "base64": base64.b64encode(value).decode()}
    return {"type": "text", "value": str(value)}


def stmt(sql: str, *args: Any) -> dict[str, Any]:
    """A Hrana execute request."""
    return {"type": "execute", "stmt": {"sql": sql, "args": [hrana_value(a) for a in args]}}


@contextmanager
def running_service(data_dir: Path, options: ServiceOptions | None = None) -> Iterator[Service]:
    """Serve ``data_dir`` on a free loopback port until the block ends."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        make_app(data_dir, options=options),
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "service did not start"
        assert thread.is_alive(), "service thread ended before it started"
        time.sleep(0.01)
    client = httpx.Client(timeout=30)
    try:
        yield Service(
            f"http://127.0.0.1:{port}", data_dir, TokenIssuer.from_data_dir(data_dir), client
        )
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
