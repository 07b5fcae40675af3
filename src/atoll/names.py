"""Slug rules for tenants, apps and environments (CONTRACT.md, "Names"), and ``AppEnv``,
the one identity of an app environment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from atoll.errors import InvalidName

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
# The longest ``{env}--{app}--{tenant}`` an origin host may start with: one DNS label
# (RFC 1035), which browsers refuse to resolve when longer.
MAX_ORIGIN_LABEL = 63


def is_valid_slug(value: str) -> bool:
    """Whether ``value`` is a valid tenant, app or environment slug."""
    return bool(SLUG_RE.fullmatch(value)) and "--" not in value


def check_slug(value: str, kind: str) -> str:
    """Return ``value`` if it is a valid slug, else raise ``InvalidName`` naming the rule."""
    if not is_valid_slug(value):
        raise InvalidName(
            f"invalid {kind} name {value!r}: use 2-40 lowercase letters, digits and single "
            "hyphens, starting with a letter and not ending with a hyphen",
            kind=kind,
            name=value,
            pattern=SLUG_RE.pattern,
        )
    return value


@dataclass(frozen=True, slots=True)
class AppEnv:
    """One app environment (tenant, app, environment): what its origin host, its database
    name and its log key are all made from."""

    tenant: str
    app: str
    env: str

    @property
    def key(self) -> str:
        """``tenant/app/env``: the unit of pooling, limits and logs."""
        return f"{self.tenant}/{self.app}/{self.env}"

    @property
    def label(self) -> str:
        """``env--app--tenant``: the first label of its origin host."""
        return f"{self.env}--{self.app}--{self.tenant}"

    @property
    def database(self) -> str:
        """The name of its database on the DB service: ``tenant--app--env``."""
        return f"{self.tenant}--{self.app}--{self.env}"

    def origin_host(self, public_host: str, port: int) -> str:
        """The ``Host`` of its origin: ``{env}--{app}--{tenant}.{public host}:{port}``."""
        return f"{self.label}.{public_host}:{port}"

    @classmethod
    def from_host(cls, host: str, public_host: str) -> AppEnv | None:
        """The app environment a ``Host`` header names, or None if it names none."""
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
        return cls(tenant=tenant, app=app, env=env)
