"""The request a function receives and the response it may return."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class Request:
    """One HTTP request to a function, as plain values.

    A function that declares a ``request: atoll.Request`` parameter is given it.

    Attributes:
        method: The HTTP method, upper case (``GET``, ``POST``...).
        path: The request path, e.g. ``/api/todos``.
        query_items: Query parameters in order, repeated names included.
        headers: Request headers by lower-case name.
        body: The raw request body.
        request_id: The id the platform gave this request (its log lines carry it too).
    """

    def __init__(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: list[tuple[str, str]],
        body: bytes,
        request_id: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.query_items = list(query)
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body
        self.request_id = request_id

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; the last value wins when one is repeated."""
        return dict(self.query_items)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} id={self.request_id}>"


class Response:
    """Full control over the HTTP response: status, headers and body.

    Return one from a function when a plain value is not enough.

    Example:
        ```python
        return atoll.Response({"error": "not found"}, status=404)
        return atoll.Response("<h1>Hello</h1>", media_type="text/html")
        ```

    Args:
        body: ``bytes`` are sent as they are (``application/octet-stream``), ``str`` as
            UTF-8 text (``text/plain``), anything else JSON-encoded (``application/json``)
            like a function's return value.
        status: The HTTP status code.
        headers: Response headers (names are lower-cased).
        media_type: The ``Content-Type``, instead of the one ``body`` implies.
    """

    def __init__(
        self,
        body: Any = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status = int(status)
        self.headers = {name.lower(): str(value) for name, value in (headers or {}).items()}
        if isinstance(body, bytes):
            self.body = body
            default_type = "application/octet-stream"
        elif isinstance(body, str):
            self.body = body.encode()
            default_type = "text/plain; charset=utf-8"
        else:
            from ._encode import to_json_bytes

            self.body = to_json_bytes(body)
            default_type = "application/json"
        if media_type is not None:
            self.headers["content-type"] = media_type
        elif body != b"" and "content-type" not in self.headers:
            self.headers["content-type"] = default_type

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} B>"
