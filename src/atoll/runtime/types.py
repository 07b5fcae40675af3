"""The plain values the gateway passes to the runtime and gets back."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path

from atoll.errors import AtollError, Overloaded
from atoll.names import AppEnv

from .masking import SecretMask


@dataclasses.dataclass(frozen=True)
class AppRef:
    """Which code to run: one app environment at one release."""

    tenant: str
    app: str
    env: str
    release: str
    code_dir: Path
    # The environment's config vars (part of its identity: new vars mean new workers).
    vars: Mapping[str, str] = dataclasses.field(default_factory=dict)
    secrets: frozenset[str] = frozenset()  # the keys of ``vars`` that are secrets
    # The build's resolved ``[python] dependencies`` (``name==version`` lines; "" for none);
    # None for code built without one, whose dependencies are resolved when it starts.
    python_lock: str | None = None
    # The tenant's isolation tier: "default" (the platform's backend), "bwrap"
    # or "gvisor" (runsc; never run in bwrap instead).
    isolation: str = "default"

    @functools.cached_property
    def mask(self) -> SecretMask:
        """What hides the secrets' values in what is kept of a call (output, logs, errors)."""
        return SecretMask(self.vars[key] for key in self.secrets if key in self.vars)

    @functools.cached_property
    def app_env(self) -> AppEnv:
        """The app environment it runs for."""
        return AppEnv(tenant=self.tenant, app=self.app, env=self.env)

    @functools.cached_property
    def key(self) -> str:
        """``tenant/app/env``: the unit of pooling, limits and logs."""
        return self.app_env.key

    @property
    def show_tracebacks(self) -> bool:
        """Tracebacks reach callers only in ``dev``."""
        return self.env == "dev"


@dataclasses.dataclass(frozen=True)
class InvokeRequest:
    """An HTTP request for ``/api/<function>`` as plain values."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def function(self) -> str:
        """The function name: the path segment after ``/api/``."""
        rest = self.path.split("?", 1)[0].removeprefix("/").removeprefix("api/")
        return rest.split("/", 1)[0]


@dataclasses.dataclass(frozen=True)
class InvokeResponse:
    """What the function answered."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    request_id: str

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)


def error_response(exc: AtollError, request_id: str = "") -> InvokeResponse:
    """The HTTP response for a runtime error (``Retry-After`` on overload)."""
    headers = [("content-type", "application/json")]
    rid = request_id or str(exc.detail.get("request_id", ""))
    if rid:
        headers.append(("x-atoll-request-id", rid))
    if isinstance(exc, Overloaded):
        headers.append(("retry-after", str(exc.detail.get("retry_after", 1))))
    return InvokeResponse(exc.status, tuple(headers), json.dumps(exc.to_dict()).encode(), rid)
