"""A small HTTP client of the control-plane API, used by the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from atoll.errors import AtollError


class ApiError(AtollError):
    """The control plane answered with an error."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message, **detail)
        self.http_status = status
        self.error_code = code


class ConnectionFailed(AtollError):
    """The control plane could not be reached."""

    code = "connection_failed"


class ApiClient:
    """Calls ``/api/v1`` of one server with one token."""

    def __init__(self, server: str, token: str | None, timeout: float = 60.0) -> None:
        headers = {"User-Agent": "atoll-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.server = server.rstrip("/")
        self._http = httpx.Client(
            base_url=self.server + "/api/v1", headers=headers, timeout=timeout
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; API errors become ``ApiError``, network errors ``ConnectionFailed``."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"cannot reach the control plane at {self.server}: {exc}", server=self.server
            ) from exc
        if response.status_code >= 400:
            self._raise(response)
        return response

    @staticmethod
    def _raise(response: httpx.Response) -> None:
        try:
            err = response.json()["error"]
            code, message, detail = err["code"], err["message"], err.get("detail") or {}
        except (ValueError, KeyError, TypeError):
            code, message, detail = "http_error", response.text[:200], {}
        raise ApiError(response.status_code, code, message, detail)

    def events(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Server-sent events of a GET, each ``data:`` line decoded as JSON."""
        try:
            with self._http.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise(response)
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        yield json.loads(line[6:])
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"lost the control plane at {self.server}: {exc}", server=self.server
            ) from exc

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON answer."""
        return self.request(method, path, **kwargs).json()
