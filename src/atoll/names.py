"""Slug rules for tenants, apps and environments (CONTRACT.md, "Names")."""

from __future__ import annotations

import re

from atoll.errors import InvalidName

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")


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
