"""The Hrana-over-HTTP ASGI application (Starlette): routes, auth, errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from atoll.config import Settings
from atoll.errors import AtollError, LimitExceeded, NotFound, Unauthorized

from .databases import Database, DatabaseRegistry
from .engine import EngineLimits, hrana_code
from .protocol import ProtocolError, error_object, parse_batch, parse_stmt
from .streams import Stream, StreamRegistry
from .tokens import TokenClaims, TokenVerifier

MiB = 1024 * 1024
logger = logging.getLogger(__name__)


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

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ServiceOptions:
        """The options an installation's settings give (quota, stream limits)."""
        databases = settings.databases
        values: dict[str, Any] = {
            "limits": EngineLimits.from_settings(settings),
            "max_streams": databases.max_streams,
            "max_streams_per_database": databases.max_streams_per_database,
            "max_streams_per_tenant": databases.max_streams_per_tenant,
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


def error_response(exc: AtollError) -> JSONBody:
    """A Hrana ``Error`` body (plus the platform's error object) with the error's status."""
    body = error_object(exc.message, hrana_code(exc)) | exc.to_dict()
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONBody(body, status_code=exc.status, headers=headers)


class DbService:
    """The service's state: open databases, live streams, the token verifier."""

    def __init__(self, data_dir: Path, verifier: TokenVerifier, options: ServiceOptions) -> None:
        self.options = options
        self.verifier = verifier
        self.databases = DatabaseRegistry(
            data_dir, options.limits, options.max_readers, options.max_open_databases
        )
        self.streams = StreamRegistry(
            options.stream_idle_timeout,
            options.max_streams,
            options.max_streams_per_database,
            options.max_streams_per_tenant,
        )

    # -- plumbing ------------------------------------------------------------------------

    def _claims(self, request: Request) -> TokenClaims:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "a database token is required (Authorization: Bearer ...)",
                hrana_code="TOKEN_MISSING",
            )
        return self.verifier.verify(token.strip())

    async def _json(self, request: Request) -> dict[str, Any]:
        cap = self.options.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            raise LimitExceeded(
                f"request body is larger than {cap} bytes",
                hrana_code="BODY_TOO_LARGE",
                limit_bytes=cap,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise LimitExceeded(
                    f"request body is larger than {cap} bytes",
                    hrana_code="BODY_TOO_LARGE",
                    limit_bytes=cap,
                )
            chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks))
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

    async def pipeline(self, request: Request) -> Response:
        """``POST /v2/pipeline`` and ``/v3/pipeline``."""
        try:
            claims = self._claims(request)
            body = await self._json(request)
            requests = body.get("requests")
            if not isinstance(requests, list):
                raise ProtocolError("'requests' must be an array")
            stream = await self._stream(claims, body.get("baton"))
        except AtollError as exc:
            return error_response(exc)
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
        return JSONBody({"baton": baton, "base_url": None, "results": results})

    async def cursor(self, request: Request) -> Response:
        """``POST /v3/cursor``: a batch whose results come back as NDJSON entries."""
        try:
            claims = self._claims(request)
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
            claims = self._claims(request)
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
        Route("/v2/pipeline", service.pipeline, methods=["POST"]),
        Route("/v3/pipeline", service.pipeline, methods=["POST"]),
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
    """

    _PATHS = frozenset({"/v2/pipeline", "/v3/pipeline"})

    def __init__(self, app: Starlette, service: DbService) -> None:
        self.app = app
        self.service = service
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self._PATHS:
            response = await self.service.pipeline(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
