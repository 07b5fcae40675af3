"""Rendering every error in the one JSON shape: ``{"error": {code, message, detail}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atoll.errors import AtollError, error_body, error_headers

log = logging.getLogger("atoll.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "limit_exceeded",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str, **detail: Any) -> JSONResponse:
    """A JSON error response in the platform's shape."""
    body = error_body(code, message, detail)
    return JSONResponse(body, status_code=status, headers=error_headers(status))


async def _atoll_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AtollError)
    return error_response(exc.status, exc.code, exc.message, **exc.detail)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "location": ".".join(str(p) for p in err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"location": "", "message": "invalid request"}
    return error_response(
        422,
        "validation_failed",
        f"{first['location']}: {first['message']}",
        errors=problems[:20],
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), **getattr(exc, "extra", {}))


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of error through the one JSON shape."""
    app.add_exception_handler(AtollError, _atoll_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
