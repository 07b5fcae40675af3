"""Which app environment a request's Host names: ``{env}--{app}--{tenant}.{public host}``."""

from __future__ import annotations

from dataclasses import dataclass

from atoll.names import is_valid_slug


@dataclass(frozen=True)
class AppHost:
    """The app environment an origin belongs to."""

    env: str
    app: str
    tenant: str


def parse_host(host: str, public_host: str) -> AppHost | None:
    """The app environment named by a ``Host`` header, or None if it names none."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal is never an app origin
        return None
    name = name.rsplit(":", 1)[0] if ":" in name else name
    name = name.rstrip(".")
    suffix = "." + public_host.lower()
    if not name.endswith(suffix):
        return None
    parts = name[: -len(suffix)].split("--")
    if len(parts) != 3 or not all(is_valid_slug(p) for p in parts):
        return None
    env, app, tenant = parts
    return AppHost(env=env, app=app, tenant=tenant)
