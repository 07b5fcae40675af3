"""ASGI middleware refusing request bodies over the configured size before they are read."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atoll.config import Limits
from atoll.errors import LimitExceeded, error_headers


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body that passes the limit (chunked uploads)."""

    def __init__(self, limit: int, name: str) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")
        self.extra = {"limit": name, "max": limit}


class BodySizeLimit:
    """Refuse bodies over ``max_body_bytes`` (JSON bodies over ``max_json_body_bytes``)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        is_json = ctype == b"application/json"
        limit = self.limits.max_json_body_bytes if is_json else self.limits.max_body_bytes
        name = "max_json_body_bytes" if is_json else "max_body_bytes"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(send, limit, name)
            return
        seen = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit, name)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(send, limit, name)

    @staticmethod
    async def _refuse(send: Send, limit: int, name: str) -> None:
        refused = LimitExceeded(f"request body is larger than {limit} bytes", limit=name, max=limit)
        body = json.dumps(refused.to_dict()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    *((k.lower().encode(), v.encode()) for k, v in error_headers(413).items()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
