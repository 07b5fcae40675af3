"""The one exception tree of the platform; each error knows its HTTP status and code.

    AtollError (500 internal)
    ├── BadRequest (400 bad_request)
    │   ├── InvalidName (400 invalid_name)
    │   ├── InvalidPath (400 invalid_path)
    │   └── BadInput (422 validation_failed)
    ├── LimitExceeded (413 limit_exceeded)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    │   ├── AlreadyExists (409 already_exists)
    │   └── StaleRevision (409 stale_revision)
    ├── Unavailable (503 unavailable)
    │   └── Overloaded (503 overloaded)
    ├── BuildFailed (422 build_failed)
    └── TenantCodeError (500 tenant_code_error)
        ├── FunctionTimeout (504 function_timeout)
        └── ResourceLimitHit (507 resource_limit)

Errors from libraries (sqlite3, httpx, subprocess) are translated into these where they
enter the platform; the API renders every one of them in a single JSON shape:
``{"error": {"code": ..., "message": ..., "detail": {...}}}``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the CLI imports this module and starts for every command
if TYPE_CHECKING:
    from typing import Any, ClassVar


class AtollError(Exception):
    """Root of every error the platform raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        """The JSON body for this error."""
        return error_body(self.code, self.message, self.detail)


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The platform's one JSON error shape, for the API, the gateway and the DB service."""
    return {"error": {"code": code, "message": message, "detail": detail or {}}}


def error_headers(status: int) -> dict[str, str]:
    """What every JSON error response carries besides its body."""
    # Messages echo what the caller sent: never let a browser take the JSON for a page.
    headers = {"X-Content-Type-Options": "nosniff"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers


class BadRequest(AtollError):
    """The request is malformed."""

    status = 400
    code = "bad_request"


class InvalidName(BadRequest):
    """A tenant, app or environment slug does not match the naming rule."""

    code = "invalid_name"


class InvalidPath(BadRequest):
    """A workspace path is unsafe or malformed (traversal, absolute, NUL, ...)."""

    code = "invalid_path"


class BadInput(BadRequest):
    """The request is well-formed but its values are invalid."""

    status = 422
    code = "validation_failed"


class LimitExceeded(AtollError):
    """A size or count limit was hit; ``detail`` names the limit."""

    status = 413
    code = "limit_exceeded"


class Unauthorized(AtollError):
    """No valid credentials were given."""

    status = 401
    code = "unauthorized"


class Forbidden(AtollError):
    """The credentials are valid but do not allow this action."""

    status = 403
    code = "forbidden"


class NotFound(AtollError):
    """The thing does not exist, or belongs to another tenant."""

    status = 404
    code = "not_found"


class Conflict(AtollError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    """A thing with that name already exists."""

    code = "already_exists"


class StaleRevision(Conflict):
    """A write was based on a revision that is no longer the workspace head."""

    code = "stale_revision"


class Unavailable(AtollError):
    """A dependency of the request is temporarily unavailable; retry later."""

    status = 503
    code = "unavailable"


class Overloaded(Unavailable):
    """Too many requests are queued for one app; ``detail["retry_after"]`` is in seconds."""

    code = "overloaded"


class BuildFailed(AtollError):
    """Turning an app's sources into something runnable failed (e.g. a dependency install)."""

    status = 422
    code = "build_failed"


class TenantCodeError(AtollError):
    """Tenant code failed; the platform itself is fine."""

    status = 500
    code = "tenant_code_error"


class FunctionTimeout(TenantCodeError):
    """A tenant function ran past its wall-clock limit and was killed."""

    status = 504
    code = "function_timeout"


class ResourceLimitHit(TenantCodeError):
    """A tenant function hit a memory, process, disk or CPU limit and was stopped."""

    status = 507
    code = "resource_limit"
