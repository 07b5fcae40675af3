"""Functions' database link, in-process and over HTTP: the DB service gives the same answers
to the same sandbox requests either way, and a hostile function gets nothing more from
either (token scope, limits, stream caps, deleted apps, expiry and renewal)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from atoll.config import Settings
from atoll.dbservice import (
    EngineLimits,
    ServiceApp,
    ServiceOptions,
    TokenIssuer,
    bind_socket,
    create_database,
    delete_app_databases,
    exec_sql,
    make_app,
    revoke_database_tokens,
)
from atoll.errors import AtollError
from atoll.gateway.databases import ServiceDatabaseLink
from atoll.runtime import AppRef, InvokeResponse
from atoll.runtime.database import DatabaseProxy, DatabaseTarget, InProcessTarget
from atoll.server import BusyPollSelector, attach
from tests.attacks import DATABASE_ESCAPES
from tests.runtime.conftest import SESSION_UID_BASE, LoopThread, needs_bwrap, started_runtime

DATABASE = "acme--shop--dev"
OTHER = "acme--shop--prod"
KINDS = ["in_process", "http"]
# What differs between two runs of the same request: batons, and row ids of inserts.
_VARYING = re.compile(rb'"(baton|last_insert_rowid)":"[^"]*"')


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@contextlib.asynccontextmanager
async def serving(app: ServiceApp) -> AsyncIterator[int]:
    """Serve ``app`` over HTTP on this loop (as ``atoll serve`` does); its port."""
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the DB service did not start"
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Answer:
    """What the sandbox read back: status, content type and body (batons, row ids masked)."""

    status: int
    content_type: str
    body: bytes


async def ask(proxy: DatabaseProxy, request: bytes) -> Answer:
    """Send one raw request on the sandbox's socket; the answer, read to the end."""
    reader, writer = await asyncio.open_unix_connection(str(proxy.path))
    writer.write(request)
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    return Answer(
        int(lines[0].split(" ")[1]),
        fields.get("content-type", ""),
        _VARYING.sub(rb'"\1":"*"', body),
    )


def post(path: str, body: Any, extra: bytes = b"") -> bytes:
    """A request as the sandbox would send it (closing the connection after the answer)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (
        b"POST %s HTTP/1.1\r\nhost: db\r\ncontent-type: application/json\r\n%s"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (path.encode(), extra, len(raw), raw)
    )


def get(path: str) -> bytes:
    """A GET request as the sandbox would send it."""
    return b"GET %s HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n" % path.encode()


def run(sql: str) -> dict[str, Any]:
    """A pipeline running one statement on a fresh stream."""
    return {
        "baton": None,
        "requests": [{"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}],
    }


REQUESTS = {
    "select": post("/v2/pipeline", run("SELECT 1 AS one")),
    "v3": post("/v3/pipeline", run("SELECT 2")),
    "query_string": post("/v2/pipeline?x=1", run("SELECT 3")),
    "percent_encoded_path": post("/v2/%70ipeline", run("SELECT 4")),
    "write": post("/v2/pipeline", run("INSERT INTO t VALUES (1)")),
    "attach": post("/v2/pipeline", run("ATTACH DATABASE '/etc/passwd' AS x")),
    "load_extension": post("/v2/pipeline", run("SELECT load_extension('/tmp/x.so')")),
    "lift_quota": post("/v2/pipeline", run("PRAGMA max_page_count = 4294967294")),
    "two_statements": post("/v2/pipeline", run("SELECT 1; SELECT 2")),
    "unknown_baton": post("/v2/pipeline", {"baton": "nope", "requests": []}),
    "not_json": post("/v2/pipeline", b"{not json"),
    "not_an_object": post("/v2/pipeline", b"[1, 2]"),
    "requests_not_a_list": post("/v2/pipeline", {"baton": None, "requests": 3}),
    "too_large": post("/v2/pipeline", b" " * 70_000),
    "cursor": post(
        "/v3/cursor", {"baton": None, "batch": {"steps": [{"stmt": {"sql": "SELECT 5"}}]}}
    ),
    "v1_execute": post("/v1/execute", {"stmt": {"sql": "SELECT 6"}}),
    "v1_write": post("/v1/execute", {"stmt": {"sql": "INSERT INTO t VALUES (2)"}}),
    "wrong_path": post("/v2/../admin", run("SELECT 1")),
    "unknown_path": post("/v9/pipeline", run("SELECT 1")),
    "wrong_method": get("/v2/pipeline"),
    "version": get("/v3"),
    "health": get("/health"),
    "head_version": b"HEAD /v3 HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n",
    "head_pipeline": b"HEAD /v2/pipeline HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n",
    "protobuf": get("/v3-protobuf"),
}


@pytest.mark.anyio
async def test_in_process_answers_are_the_http_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for name in (DATABASE, OTHER):
        create_database(data_dir, name)
        exec_sql(data_dir, name, "CREATE TABLE t (x INTEGER)")
    app = make_app(data_dir, options=ServiceOptions(max_body_bytes=64 * 1024))
    issuer = TokenIssuer.from_data_dir(data_dir)
    tokens = {
        "rw": issuer.issue(DATABASE, "rw", 600),
        "ro": issuer.issue(DATABASE, "ro", 600),
        "forged": "not-a-token",
        "expired": issuer.issue(DATABASE, "rw", 1),
        "revoked": issuer.issue(DATABASE, "rw", 600, minted_by="17"),
        "deleted": issuer.issue(OTHER, "rw", 600),
    }
    revoke_database_tokens(data_dir, "17")
    delete_app_databases(data_dir, "acme", "shop")  # ... and a new app of the same name:
    for name in (DATABASE, OTHER):
        create_database(data_dir, name)
        exec_sql(data_dir, name, "CREATE TABLE t (x INTEGER)")
    tokens["rw"], tokens["ro"] = issuer.issue(DATABASE, "rw", 600), issuer.issue(DATABASE, "ro", 60)
    await asyncio.sleep(1.1)  # the one-second token has expired
    async with serving(app) as port:
        answers: dict[str, dict[str, Answer]] = {}
        seen_codes = set()
        for token_kind, token in tokens.items():
            proxies = {
                "http": DatabaseProxy(
                    tmp_path / "h.sock", DatabaseTarget("127.0.0.1", port, token)
                ),
                "in_process": DatabaseProxy(
                    tmp_path / "l.sock", InProcessTarget(app.handle, token)
                ),
            }
            for proxy in proxies.values():
                await proxy.start()
            try:
                for name, request in REQUESTS.items():
                    case = f"{token_kind}/{name}"
                    answers[case] = {kind: await ask(p, request) for kind, p in proxies.items()}
                    http, local = answers[case]["http"], answers[case]["in_process"]
                    assert (local.status, local.content_type, local.body) == (
                        http.status,
                        http.content_type,
                        http.body,
                    ), case
                    seen_codes.update(re.findall(rb'"code":"([A-Z_]+)"', http.body))
            finally:
                for proxy in proxies.values():
                    await proxy.close()
    # The cases did reach what they were meant to test.
    status = {case: a["http"].status for case, a in answers.items()}
    assert status["rw/select"] == status["rw/percent_encoded_path"] == 200
    assert status["rw/too_large"] == 413 and status["rw/wrong_method"] == 405
    assert status["rw/wrong_path"] == status["rw/unknown_path"] == 404
    assert b'"one"' in answers["rw/select"]["http"].body
    # A HEAD answer is a head alone on both links (over HTTP the proxy once waited for a
    # body that never came).
    assert status["rw/head_version"] == 200 and answers["rw/head_version"]["http"].body == b""
    assert status["rw/head_pipeline"] == 405
    for kind in ("forged", "expired", "revoked", "deleted"):
        assert status[f"{kind}/select"] == 401
    assert status["ro/v1_write"] == 403
    assert {
        b"TOKEN_INVALID",
        b"TOKEN_EXPIRED",
        b"TOKEN_REVOKED",
        b"READONLY_TOKEN",
        b"SQLITE_AUTH",
        b"SQL_MANY_STATEMENTS",
        b"JSON_INVALID",
        b"BODY_TOO_LARGE",
        b"PROTOBUF_UNSUPPORTED",
    } <= seen_codes


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_tokens_are_renewed_before_they_expire_and_refused_after(
    tmp_path: Path, kind: str
) -> None:
    data_dir = tmp_path / "data"
    app = make_app(data_dir)
    async with serving(app) as port:
        settings = Settings(data_dir=data_dir, db_port=port)
        link = ServiceDatabaseLink(settings, app.handle if kind == "in_process" else None)
        ref = AppRef("acme", "shop", "dev", "r1", tmp_path / "code")
        fresh = await link.target(ref)
        assert isinstance(fresh, InProcessTarget if kind == "in_process" else DatabaseTarget)
        expired = TokenIssuer.from_data_dir(data_dir).issue(DATABASE, "rw", 1)
        await asyncio.sleep(1.1)
        stale = dataclasses.replace(fresh, token=expired, expires_at=time.time() - 1)
        proxy = DatabaseProxy(tmp_path / "db.sock", stale)  # no way to renew it
        await proxy.start()
        try:
            refused = await ask(proxy, post("/v2/pipeline", run("SELECT 1")))
            assert refused.status == 401 and b"TOKEN_EXPIRED" in refused.body
            renewals = 0

            async def refresh() -> DatabaseTarget | InProcessTarget | None:
                nonlocal renewals
                renewals += 1
                return await link.target(ref)

            proxy.refresh = refresh
            for _ in range(3):  # renewed once, then the fresh token is kept
                served = await ask(proxy, post("/v2/pipeline", run("SELECT 1")))
                assert served.status == 200 and b'"type":"ok"' in served.body
            assert renewals == 1 and proxy.target.token != expired
        finally:
            await proxy.close()


# -- a sandboxed function on either link ------------------------------------------------

PROBE = r"""
import json
import socket

import atoll


def _raw(data):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect("/run/atoll/db.sock")
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode(errors="replace")


def _post(path, body, extra=b""):
    return (b"POST %s HTTP/1.1\r\nhost: db\r\n%scontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (path, extra, len(body), body))


def _run(sql):
    return json.dumps({"baton": None, "requests": [
        {"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}]}).encode()


def _try(sql):
    try:
        return atoll.db.execute(sql)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def get():
    forged = atoll.vars["OTHER_TOKEN"].encode()
    return {
        "own": _try("SELECT body FROM notes"),
        "secrets": _try("SELECT * FROM secrets"),
        "attach_other": _try("ATTACH DATABASE '" + atoll.vars["OTHER_PATH"] + "' AS o"),
        "forged_token": _raw(_post(b"/v2/pipeline", _run("SELECT * FROM secrets"),
                                   b"authorization: Bearer " + forged + b"\r\n")),
        "oversized": _raw(b"POST /v2/pipeline HTTP/1.1\r\ncontent-length: %d\r\n\r\n" % (9 << 20)),
        "smuggled_header": _raw(b"POST /v2/pipeline HTTP/1.1\r\nx-a: 1\nauthorization: Bearer "
                                + forged + b"\r\ncontent-length: 0\r\n\r\n"),
        "chunked": _raw(b"POST /v2/pipeline HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
                        b"0\r\n\r\n"),
        "garbage": _raw(b"\x16\x03\x01 hello\r\n\r\n"),
        "wrong_path": _raw(_post(b"/v2/../../admin", _run("SELECT 1"))),
        "wrong_method": _raw(b"GET /v2/pipeline HTTP/1.1\r\nconnection: close\r\n\r\n"),
    }
"""


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@contextlib.contextmanager
def linked(
    loop: LoopThread, data_dir: Path, kind: str, options: ServiceOptions
) -> Iterator[ServiceDatabaseLink]:
    """The DB service on ``loop`` (as in ``atoll serve``) and a link of the given kind to it."""
    app = make_app(data_dir, options=options)
    port: list[int] = []
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        async with serving(app) as p:
            stop.append(asyncio.Event())
            port.append(p)
            await stop[0].wait()

    task = asyncio.run_coroutine_threadsafe(serve(), loop.loop)
    deadline = time.monotonic() + 20
    while not port:
        assert time.monotonic() < deadline and not task.done(), "the DB service did not start"
        time.sleep(0.01)
    try:
        settings = Settings(data_dir=data_dir, db_port=port[0])
        yield ServiceDatabaseLink(settings, app.handle if kind == "in_process" else None)
    finally:
        loop.loop.call_soon_threadsafe(stop[0].set)
        task.result(20)


def _json(result: InvokeResponse | AtollError) -> Any:
    assert isinstance(result, InvokeResponse), result
    return result.json()


@needs_bwrap
@pytest.mark.sandbox
@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_function_gets_the_same_refusals_on_either_link(
    loop: LoopThread, tmp_path: Path, kind: str
) -> None:
    data_dir = tmp_path / "data"
    options = ServiceOptions(
        limits=EngineLimits(max_database_bytes=8 << 20), max_streams_per_tenant=3
    )
    offset = 9000 if kind == "in_process" else 9500
    with (
        linked(loop, data_dir, kind, options) as link,
        started_runtime(loop, tmp_path, SESSION_UID_BASE + offset, database=link, pool_size=2) as h,
    ):
        # Another app of the same tenant, with a secret, and a token for it.
        create_database(data_dir, "evil--bank--dev")
        exec_sql(data_dir, "evil--bank--dev", "CREATE TABLE secrets (s TEXT)")
        exec_sql(data_dir, "evil--bank--dev", "INSERT INTO secrets VALUES ('s3cret')")
        other_token = TokenIssuer.from_data_dir(data_dir).issue("evil--bank--dev", "rw", 600)
        other_path = str(data_dir / "databases" / "evil" / "bank" / "dev.sqlite")
        probe_files = {"functions/probe.py": PROBE}
        probe = h.app("probe", probe_files, tenant="evil")
        probe = dataclasses.replace(
            probe, vars={"OTHER_TOKEN": other_token, "OTHER_PATH": other_path}
        )
        create_database(data_dir, "evil--probe--dev")
        exec_sql(data_dir, "evil--probe--dev", "CREATE TABLE IF NOT EXISTS notes (body TEXT)")
        exec_sql(data_dir, "evil--probe--dev", "INSERT INTO notes VALUES ('mine')")
        seen = _json(h.call(probe, "/api/probe"))
        assert seen["own"] == [{"body": "mine"}]
        assert "no such table: secrets" in seen["secrets"]
        assert seen["attach_other"] == "DatabaseError: statement refused: ATTACH is not allowed"
        # The sandbox's Authorization header is dropped: the request runs on its own database.
        status, body = seen["forged_token"]
        assert status == 200 and "no such table: secrets" in body and "s3cret" not in body
        assert seen["oversized"][0] == 413
        assert seen["smuggled_header"][0] == 400
        assert seen["chunked"][0] == 411
        assert seen["garbage"][0] == 400
        assert seen["wrong_path"][0] == 404
        assert seen["wrong_method"][0] == 405

        # The quota, the authorizer and the tenant's stream cap, with a neighbour served.
        evil = h.app("hoarder", {"functions/hostile.py": DATABASE_ESCAPES}, tenant="evil")
        good = h.app(
            "hello",
            {
                "functions/hello.py": """
                import atoll

                def get():
                    return atoll.db.execute("SELECT 'still here' AS answer")[0]["answer"]
                """
            },
            tenant="good",
        )
        seen = _json(h.call(evil, "/api/hostile", "POST"))
        refused = "DatabaseError: statement refused: "
        assert seen["attach_file"] == refused + "ATTACH is not allowed"
        assert seen["load_extension"] == refused + "load_extension() is not allowed"
        assert seen["vacuum_into"] == refused + "VACUUM INTO is not allowed"
        assert seen["lift_quota"].startswith(refused) and "cannot be changed" in seen["lift_quota"]
        assert seen["quota_error"].startswith("DatabaseError: database is full")
        # The probe app holds no stream: the hoarder gets the tenant's three.
        assert len(seen["held"]) == 3
        assert seen["stream_refusal"]["status"] == 503
        assert seen["stream_refusal"]["code"] == "TOO_MANY_STREAMS"
        assert "tenant 'evil'" in seen["stream_refusal"]["message"]
        assert _json(h.call(good, "/api/hello")) == "still here"
        own = _json(h.call(evil, "/api/hostile"))
        assert "DatabaseUnavailable" in own and "TOO_MANY_STREAMS" in own
        released = json.dumps({"held": seen["held"]}).encode()
        assert _json(h.call(evil, "/api/hostile", "DELETE", body=released)) == "released"
        assert _json(h.call(evil, "/api/hostile")) == "ran"


NOTES = {
    "functions/notes.py": """
        import atoll

        def get():
            try:
                return {"notes": atoll.db.execute("SELECT body FROM notes ORDER BY rowid")}
            except Exception as exc:
                return {"error": f"{type(exc).__name__}: {exc}"}

        def post():
            with atoll.db.transaction():
                atoll.db.execute("INSERT INTO notes VALUES ('added')")
            return atoll.db.batch(["SELECT count(*) AS n FROM notes"])[0][0]["n"]
        """
}


@needs_bwrap
@pytest.mark.sandbox
@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_apps_code_reaches_nothing_of_a_new_app_on_either_link(
    loop: LoopThread, tmp_path: Path, kind: str
) -> None:
    data_dir = tmp_path / "data"
    offset = 10000 if kind == "in_process" else 10500
    with (
        linked(loop, data_dir, kind, ServiceOptions()) as link,
        started_runtime(loop, tmp_path, SESSION_UID_BASE + offset, database=link, pool_size=1) as h,
    ):
        old = h.app("shop", NOTES, tenant="acme", release="r1")
        create_database(data_dir, DATABASE)
        exec_sql(data_dir, DATABASE, "CREATE TABLE notes (body TEXT)")
        exec_sql(data_dir, DATABASE, "INSERT INTO notes VALUES ('old')")
        assert _json(h.call(old, "/api/notes", "POST")) == 2  # a transaction and a batch
        assert _json(h.call(old, "/api/notes")) == {"notes": [{"body": "old"}, {"body": "added"}]}

        delete_app_databases(data_dir, "acme", "shop")
        create_database(data_dir, DATABASE)
        exec_sql(data_dir, DATABASE, "CREATE TABLE notes (body TEXT)")
        exec_sql(data_dir, DATABASE, "INSERT INTO notes VALUES ('new')")
        new = h.app("shop", NOTES, tenant="acme", release="r2")
        assert _json(h.call(new, "/api/notes")) == {"notes": [{"body": "new"}]}
        seen = _json(h.call(old, "/api/notes"))
        assert "error" in seen and "deleted" in seen["error"], seen


class Running:
    """What ``attach`` reads of a runtime: calls on workers and CPUs."""

    def __init__(self, running: int, cpus: int) -> None:
        self.running = running
        self.cpus = cpus


@pytest.mark.anyio
async def test_the_loop_does_not_poll_while_the_service_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_database(data_dir, DATABASE)
    app = make_app(data_dir)
    token = TokenIssuer.from_data_dir(data_dir).issue(DATABASE, "ro", 600)
    slow = run(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000000) "
        "SELECT count(*) FROM s"
    )
    selector = BusyPollSelector(1e-4)
    try:
        attach(selector, Running(1, 2), app)  # type: ignore[arg-type]
        assert selector.should_poll is not None and selector.should_poll()
        async with serving(app) as port:
            proxies = [
                DatabaseProxy(tmp_path / "h.sock", DatabaseTarget("127.0.0.1", port, token)),
                DatabaseProxy(tmp_path / "l.sock", InProcessTarget(app.handle, token)),
            ]
            for proxy in proxies:
                await proxy.start()
                # While its statement runs on a thread, that thread needs the second CPU.
                call = asyncio.ensure_future(ask(proxy, post("/v2/pipeline", slow)))
                while not app.active and not call.done():
                    await asyncio.sleep(0.001)
                assert app.active and not selector.should_poll()
                assert (await call).status == 200
                assert app.active == 0 and selector.should_poll()
                await proxy.close()
        attach(selector, Running(2, 2))  # without a DB service: calls alone count
        assert not selector.should_poll()
    finally:
        selector.close()
