"""The Hrana-over-HTTP ASGI application (Starlette): routes, auth, errors, and the same
app called in-process (``ServiceApp.handle``) by a sandbox proxy in this process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from atoll.config import Settings
from atoll.errors import (
    AtollError,
    LimitExceeded,
    NotFound,
    Unauthorized,
    Unavailable,
    error_headers,
)

from .databases import Database, DatabaseRegistry
from .engine import EngineLimits, hrana_code
from .protocol import ProtocolError, error_object, parse_batch, parse_stmt
from .streams import Stream, StreamRegistry
from .tokens import TokenClaims, TokenVerifier

MiB = 1024 * 1024
logger = logging.getLogger(__name__)

#: An answer as plain values: status, header (name, value) pairs, body.
Reply = tuple[int, list[tuple[str, str]], bytes]
_JSON_TYPE = ("content-type", "application/json")


@dataclass(frozen=True)
class ServiceOptions:
    """Tunables of the DB service."""

    limits: EngineLimits = field(default_factory=EngineLimits)
    stream_idle_timeout: float = 10.0
    max_body_bytes: int = 32 * MiB
    max_readers: int = 4
    max_streams: int = 1000
    max_streams_per_database: int = 100
    max_streams_per_tenant: int = 200
    max_open_databases: int = 256
    inline_read_seconds: float = 0.001

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ServiceOptions:
        """The options an installation's settings give (quota, stream limits)."""
        databases = settings.databases
        values: dict[str, Any] = {
            "limits": EngineLimits.from_settings(settings),
            "max_streams": databases.max_streams,
            "max_streams_per_database": databases.max_streams_per_database,
            "max_streams_per_tenant": databases.max_streams_per_tenant,
            "inline_read_seconds": databases.inline_read_ms / 1000,
        }
        return cls(**(values | overrides))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class JSONBody(Response):
    """A compact JSON response."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` as compact JSON."""
        return _dumps(content)


def error_reply(exc: AtollError) -> Reply:
    """A Hrana ``Error`` body (plus the platform's error object) with the error's status."""
    body = error_object(exc.message, hrana_code(exc)) | exc.to_dict()
    headers = [_JSON_TYPE, *((k.lower(), v) for k, v in error_headers(exc.status).items())]
    return exc.status, headers, _dumps(body)


def error_response(exc: AtollError) -> Response:
    """``error_reply`` as a Starlette response."""
    status, headers, body = error_reply(exc)
    return Response(body, status_code=status, headers=dict(headers))


class DbService:
    """The service's state: open databases, live streams, the token verifier."""

    def __init__(self, data_dir: Path, verifier: TokenVerifier, options: ServiceOptions) -> None:
        self.options = options
        self.verifier = verifier
        self.databases = DatabaseRegistry(
            data_dir,
            options.limits,
            options.max_readers,
            options.max_open_databases,
            options.inline_read_seconds,
        )
        self.streams = StreamRegistry(
            options.stream_idle_timeout,
            options.max_streams,
            options.max_streams_per_database,
            options.max_streams_per_tenant,
        )
        self.stopped = False  # set once the lifespan closed streams and databases

    # -- plumbing ------------------------------------------------------------------------

    def _claims(self, header: str) -> TokenClaims:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "a database token is required (Authorization: Bearer ...)",
                hrana_code="TOKEN_MISSING",
            )
        return self.verifier.verify(token.strip())

    def _too_large(self) -> LimitExceeded:
        cap = self.options.max_body_bytes
        return LimitExceeded(
            f"request body is larger than {cap} bytes", hrana_code="BODY_TOO_LARGE", limit_bytes=cap
        )

    async def read_body(self, request: Request) -> bytes:
        """The body of an HTTP request, refused as soon as it is known to pass the cap."""
        cap = self.options.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    async def _json(self, request: Request) -> dict[str, Any]:
        return self._parse(await self.read_body(request))

    def _parse(self, raw: bytes) -> dict[str, Any]:
        if len(raw) > self.options.max_body_bytes:
            raise self._too_large()
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(
                "request body is not valid JSON", hrana_code="JSON_INVALID"
            ) from exc
        if not isinstance(body, dict):
            raise ProtocolError("request body must be a JSON object")
        return body

    async def _database(self, claims: TokenClaims) -> Database:
        db = await self.databases.get(claims.database)
        if db.generation != claims.generation:
            # The name is the same, the database is not: its app was deleted (and maybe
            # created again). Nothing of the new one may be reached with the old token.
            raise Unauthorized(
                "database token is for a database that was deleted; ask for a new token",
                hrana_code="TOKEN_INVALID",
            )
        return db

    async def _stream(self, claims: TokenClaims, baton: object) -> Stream:
        if baton is None:
            return self.streams.open(await self._database(claims), claims.mode)
        if not isinstance(baton, str):
            raise ProtocolError("'baton' must be a string or null")
        stream = self.streams.take(baton, claims)
        if not self.databases.is_current(stream.db):
            await self.streams.close(stream)
            raise NotFound(f"database {stream.db.name!r} was deleted", database=stream.db.name)
        return stream

    # -- endpoints -----------------------------------------------------------------------

    async def pipeline(self, authorization: str, read: Callable[[], Awaitable[bytes]]) -> Reply:
        """``POST /v2/pipeline`` and ``/v3/pipeline``, over HTTP or in-process alike.

        ``authorization`` is the request's Authorization header, ``read`` gives its body
        (and raises past the body cap): everything from the token check on is this one path.
        """
        try:
            claims = self._claims(authorization)
            body = self._parse(await read())
            requests = body.get("requests")
            if not isinstance(requests, list):
                raise ProtocolError("'requests' must be an array")
            stream = await self._stream(claims, body.get("baton"))
        except AtollError as exc:
            return error_reply(exc)
        results: list[dict[str, Any]] = []
        async with stream.lock:
            try:
                for item in requests:
                    try:
                        response = await stream.handle(item)
                        results.append({"type": "ok", "response": response})
                    except AtollError as exc:
                        results.append(
                            {"type": "error", "error": error_object(exc.message, hrana_code(exc))}
                        )
            except BaseException:
                await self.streams.close(stream)
                raise
            baton = self.streams.give(stream)
        return 200, [_JSON_TYPE], _dumps({"baton": baton, "base_url": None, "results": results})

    async def pipeline_route(self, request: Request) -> Response:
        """``pipeline`` as a Starlette endpoint (ServiceApp normally answers these first)."""
        status, headers, body = await self.pipeline(
            request.headers.get("authorization", ""), lambda: self.read_body(request)
        )
        return Response(body, status_code=status, headers=dict(headers))

    async def cursor(self, request: Request) -> Response:
        """``POST /v3/cursor``: a batch whose results come back as NDJSON entries."""
        try:
            claims = self._claims(request.headers.get("authorization", ""))
            body = await self._json(request)
            steps = parse_batch(body.get("batch"))
            stream = await self._stream(claims, body.get("baton"))
        except AtollError as exc:
            return error_response(exc)
        entries: list[dict[str, Any]] = []
        async with stream.lock:
            try:
                result = await stream.batch(steps)
                for index, step_result in enumerate(result["step_results"]):
                    error = result["step_errors"][index]
                    if error is not None:
                        entries.append({"type": "step_error", "step": index, "error": error})
                    elif step_result is not None:
                        entries.append(
                            {"type": "step_begin", "step": index, "cols": step_result["cols"]}
                        )
                        entries.extend({"type": "row", "row": r} for r in step_result["rows"])
                        entries.append(
                            {
                                "type": "step_end",
                                "affected_row_count": step_result["affected_row_count"],
                                "last_insert_rowid": step_result["last_insert_rowid"],
                            }
                        )
            except AtollError as exc:
                entries.append(
                    {"type": "error", "error": error_object(exc.message, hrana_code(exc))}
                )
            except BaseException:
                await self.streams.close(stream)
                raise
            baton = self.streams.give(stream)
        lines = [_dumps({"baton": baton, "base_url": None})] + [_dumps(e) for e in entries]
        return Response(b"\n".join(lines) + b"\n", media_type="application/x-ndjson")

    async def _one_shot(self, request: Request, key: str) -> Response:
        try:
            claims = self._claims(request.headers.get("authorization", ""))
            body = await self._json(request)
            stream = self.streams.open(await self._database(claims), claims.mode)
        except AtollError as exc:
            return error_response(exc)
        try:
            if key == "stmt":
                result = await stream.execute(parse_stmt(body.get("stmt")))
            else:
                result = await stream.batch(parse_batch(body.get("batch")))
        except AtollError as exc:
            return error_response(exc)
        finally:
            await self.streams.close(stream)
        return JSONBody({"result": result})

    async def v1_execute(self, request: Request) -> Response:
        """``POST /v1/execute``: one statement on a fresh stream."""
        return await self._one_shot(request, "stmt")

    async def v1_batch(self, request: Request) -> Response:
        """``POST /v1/batch``: one batch on a fresh stream."""
        return await self._one_shot(request, "batch")

    async def version(self, request: Request) -> Response:
        """``GET /v2`` and ``GET /v3``: this protocol version is spoken."""
        return PlainTextResponse("ok")

    async def no_protobuf(self, request: Request) -> Response:
        """``/v3-protobuf``: not spoken, so clients fall back to JSON."""
        return error_response(
            _NotSupported(
                "the Protobuf encoding is not supported; use JSON",
                hrana_code="PROTOBUF_UNSUPPORTED",
            )
        )

    async def health(self, request: Request) -> Response:
        """``GET /health``."""
        return PlainTextResponse("ok")

    # -- life ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Expire idle streams in the background; close everything on shutdown."""
        interval = max(0.05, min(1.0, self.options.stream_idle_timeout / 4))

        async def sweep() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.streams.expire_idle()
                except Exception:  # the sweeper must outlive any one stream's failure
                    logger.exception("expiring idle streams failed")

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            self.stopped = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.streams.close_all()
            await self.databases.close()


class _NotSupported(AtollError):
    """This server does not speak that protocol variant."""

    status = 404
    code = "not_supported"


def make_app(
    data_dir: Path,
    *,
    verifier: TokenVerifier | None = None,
    options: ServiceOptions | None = None,
) -> ServiceApp:
    """The DB service as an ASGI app serving databases under ``data_dir``."""
    service = DbService(
        data_dir, verifier or TokenVerifier.from_data_dir(data_dir), options or ServiceOptions()
    )
    routes = [
        Route("/v2", service.version, methods=["GET"]),
        Route("/v3", service.version, methods=["GET"]),
        Route("/v2/pipeline", service.pipeline_route, methods=["POST"]),
        Route("/v3/pipeline", service.pipeline_route, methods=["POST"]),
        Route("/v3/cursor", service.cursor, methods=["POST"]),
        Route("/v1/execute", service.v1_execute, methods=["POST"]),
        Route("/v1/batch", service.v1_batch, methods=["POST"]),
        Route("/v3-protobuf", service.no_protobuf, methods=["GET"]),
        Route("/v3-protobuf/{rest:path}", service.no_protobuf, methods=["GET", "POST"]),
        Route("/health", service.health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan)
    app.state.service = service
    return ServiceApp(app, service)


class ServiceApp:
    """The service's ASGI app: pipeline requests go straight to their handler.

    They are nearly all the traffic, and Starlette's routing and middleware stack cost about
    a tenth of the service's CPU on them. Everything else (and lifespan) goes through the
    Starlette app. The pipeline handler renders its own errors.

    ``handle`` is the same app for a caller in this process (the runtime's database proxy
    in ``atoll serve``): a request as plain values, without a socket or HTTP parsing.
    ``active`` counts the requests being answered, either way.
    """

    _PATHS = frozenset({"/v2/pipeline", "/v3/pipeline"})

    def __init__(self, app: Starlette, service: DbService) -> None:
        self.app = app
        self.service = service
        self.state = app.state
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        self.active += 1
        try:
            await self._http(scope, receive, send)
        finally:
            self.active -= 1

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST" and scope["path"] in self._PATHS:
            request = Request(scope, receive)
            status, headers, body = await self.service.pipeline(
                request.headers.get("authorization", ""), lambda: self.service.read_body(request)
            )
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            raw.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    async def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> Reply:
        """Answer one request made in this process: its method, request target (path and
        query), headers and whole body, as an HTTP server would have passed them on.

        Pipelines take the same ``DbService.pipeline`` path as over HTTP; anything else
        goes through the same ASGI app. A failure is a 500, as uvicorn would answer.
        """
        if self.service.stopped:
            return error_reply(Unavailable("the DB service has stopped"))
        raw_path, _, query = target.partition("#")[0].partition("?")
        path = unquote(raw_path) if "%" in raw_path else raw_path  # as uvicorn decodes it
        self.active += 1
        try:
            if method == "POST" and path in self._PATHS:
                authorization = next((v for k, v in headers if k.lower() == "authorization"), "")
                return await self.service.pipeline(authorization, lambda: _given(body))
            return await self._asgi(method, path, raw_path, query, headers, body)
        except Exception:
            logger.exception("the DB service failed on an in-process request")
            return 500, [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error"
        finally:
            self.active -= 1

    async def _asgi(
        self,
        method: str,
        path: str,
        raw_path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Reply:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "client": None,
            "server": None,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:  # the caller has the answer it waited for, or went away
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, out, parts = 500, list[tuple[str, str]](), list[bytes]()

        async def send(message: Message) -> None:
            nonlocal status, out
            if message["type"] == "http.response.start":
                status = message["status"]
                out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, out, b"".join(parts)


async def _given(body: bytes) -> bytes:
    return body
