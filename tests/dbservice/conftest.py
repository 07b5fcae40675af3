"""A real DB service (uvicorn in a thread, free port) over a temporary data dir."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from atoll.dbservice import (
    EngineLimits,
    ServiceOptions,
    TokenIssuer,
    bind_socket,
    create_database,
    make_app,
)

DATABASE = "acme--todo--dev"
OTHER_DATABASE = "acme--todo--prod"


@dataclass
class Service:
    """A running service, its data dir and a way to mint tokens."""

    url: str
    data_dir: Path
    issuer: TokenIssuer
    client: httpx.Client

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
        import base64

        return {"type": "blob", "base64": base64.b64encode(value).decode()}
    return {"type": "text", "value": str(value)}


def stmt(sql: str, *args: Any) -> dict[str, Any]:
    """A Hrana execute request."""
    return {"type": "execute", "stmt": {"sql": sql, "args": [hrana_value(a) for a in args]}}


TEST_OPTIONS = ServiceOptions(
    limits=EngineLimits(statement_timeout=1.0, max_result_bytes=1024 * 1024, busy_timeout_ms=1000),
    stream_idle_timeout=5.0,
    max_body_bytes=16 * 1024 * 1024,
)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start services with given options; all are stopped at teardown."""
    stops: list[Callable[[], None]] = []

    def start(options: ServiceOptions = TEST_OPTIONS) -> Service:
        data_dir = tmp_path / f"data{len(stops)}"
        data_dir.mkdir()
        for name in (DATABASE, OTHER_DATABASE):
            create_database(data_dir, name)
        issuer = TokenIssuer.from_data_dir(data_dir)
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
            time.sleep(0.01)
        client = httpx.Client(timeout=30)

        def stop() -> None:
            client.close()
            server.should_exit = True
            thread.join(timeout=20)
            sock.close()

        stops.append(stop)
        return Service(f"http://127.0.0.1:{port}", data_dir, issuer, client)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def service(start_service: Callable[..., Service]) -> Service:
    """One running service with databases DATABASE and OTHER_DATABASE."""
    return start_service()
