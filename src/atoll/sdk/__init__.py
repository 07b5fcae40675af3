"""What tenant functions import as ``atoll`` inside the sandbox.

``atoll.Request`` / ``atoll.Response`` (HTTP as plain values), ``atoll.env`` (the
environment's name), ``atoll.vars`` (its config and secrets), ``atoll.log`` (log lines kept
with the request id) and ``atoll.db`` (the environment's database). Standard library only
and relative imports only: the runtime mounts this folder read-only into every sandbox as
the top-level package ``atoll``, apart from the platform package.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import db
from ._http import Request, Response
from ._log import log

env: str = ""
"""The name of the environment the function runs in (``dev``, ``staging``, ``prod``...)."""

vars: Mapping[str, str] = {}
"""The environment's config values and secrets (read-only)."""

__all__ = ["Request", "Response", "db", "env", "log", "vars"]
