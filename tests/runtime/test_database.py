"""``atoll.db`` in the sandbox reaches the DB service through the runtime's socket proxy."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atoll.runtime import AppRef, DatabaseLink, DatabaseTarget, InvokeResponse

from .conftest import SESSION_UID_BASE, Harness, LoopThread, started_runtime

pytestmark = pytest.mark.sandbox

USES_DB = {
    "functions/rows.py": """
        import atoll

        def get():
            return atoll.db.execute("select ? as x", [41])

        def post():
            with atoll.db.transaction():
                atoll.db.execute("insert into t values (1)")
            return "committed"
        """
}


class FakeHrana(http.server.BaseHTTPRequestHandler):
    """Answers /v2/pipeline with one row describing what it received."""

    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append({"auth": self.headers.get("authorization"), "body": body})
        results: list[dict[str, Any]] = []
        for request in body["requests"]:
            if request["type"] == "execute":
                args = request["stmt"].get("args", [])
                value = int(args[0]["value"]) + 1 if args else 0
                result = {
                    "cols": [{"name": "x"}],
                    "rows": [[{"type": "integer", "value": str(value)}]],
                }
                results.append({"type": "ok", "response": {"type": "execute", "result": result}})
            else:
                results.append({"type": "ok", "response": {"type": "close"}})
        payload = json.dumps({"baton": "b1", "results": results}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Link(DatabaseLink):
    def __init__(self, port: int) -> None:
        self.port = port

    async def target(self, ref: AppRef) -> DatabaseTarget | None:
        if ref.app == "nodb":
            return None
        return DatabaseTarget("127.0.0.1", self.port, f"token-for-{ref.key}")


@pytest.fixture
def hrana() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHrana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeHrana.seen = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_db_calls_go_through_the_proxy_with_a_scoped_token(
    loop_thread: LoopThread, tmp_path: Path, hrana: int
) -> None:
    with started_runtime(
        loop_thread, tmp_path, SESSION_UID_BASE + 7000, database=Link(hrana), pool_size=1
    ) as h:
        ref = h.app("withdb", USES_DB)
        resp = h.call(ref, "/api/rows")
        assert isinstance(resp, InvokeResponse), resp
        assert resp.json() == [{"x": 42}]
        assert FakeHrana.seen[0]["auth"] == "Bearer token-for-t1/withdb/dev"
        resp = h.call(ref, "/api/rows", "POST")
        assert isinstance(resp, InvokeResponse) and resp.json() == "committed"
        sql = [
            r["stmt"]["sql"]
            for s in FakeHrana.seen[1:]
            for r in s["body"]["requests"]
            if "stmt" in r
        ]
        assert sql == ["BEGIN", "insert into t values (1)", "COMMIT"]
        assert FakeHrana.seen[2]["body"]["baton"] == "b1"  # one stream for the transaction
        err = h.call(h.app("nodb", USES_DB), "/api/rows")
        assert not isinstance(err, InvokeResponse)
        assert "DatabaseUnavailable: no database is attached" in err.message


def test_a_worker_polls_for_database_answers_only_while_cpus_are_spare(rt: Harness) -> None:
    ref = rt.app(
        "dbpoll", {"functions/poll.py": "import atoll\n\ndef get():\n    return atoll.db.poll_s\n"}
    )
    runtime = rt.runtime
    resp = rt.call(ref, "/api/poll")
    assert isinstance(resp, InvokeResponse), resp
    # One call running: polling is allowed when the machine has another CPU for it.
    assert resp.json() == (runtime.worker_poll_us / 1e6 if runtime.cpus > 1 else 0.0)
    before, runtime.worker_poll_us = runtime.worker_poll_us, 0
    try:
        resp = rt.call(ref, "/api/poll")
        assert isinstance(resp, InvokeResponse) and resp.json() == 0.0
    finally:
        runtime.worker_poll_us = before
