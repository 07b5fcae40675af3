"""Which of a function's response headers leave the gateway, and in what form.

Every app environment is its own origin, but all of them share the public host as parent
domain, and so does the IDE. A function may say anything about its own origin; the
gateway removes what acts beyond it or belongs to the platform:

- ``Set-Cookie``: every ``Domain`` attribute is removed, so each cookie is host-only (a
  ``Domain`` naming the public host would plant cookies for sibling apps and the IDE).
- ``Clear-Site-Data``: ``"cookies"`` and ``"*"`` clear the cookies of the whole site
  (registrable domain), not just the origin; only the origin-scoped directives stay.
- ``Date``, ``Alt-Svc`` and ``Set-Cookie2``: how the origin is reached is the gateway's.
- ``X-Atoll-*``: the platform's own; the runtime's request id is the only one sent.

The runtime already dropped framing headers and malformed names and values, and bounded
their count and size (``atoll.runtime.replies.response_headers``). Cross-origin headers
(``Access-Control-*``, ``Timing-Allow-Origin``) pass: they only let other origins read this
app's own responses, which is the app's to decide.
"""

from __future__ import annotations

from collections.abc import Iterable

_DROPPED = frozenset({"alt-svc", "date", "set-cookie2"})
_SITE_DATA = {
    "cache": '"cache"',
    "storage": '"storage"',
    "executioncontexts": '"executionContexts"',
}
_REQUEST_ID = "x-atoll-request-id"


def host_only_cookie(value: str) -> str:
    """A ``Set-Cookie`` value without its ``Domain`` attributes, so the cookie is host-only."""
    pair, *attributes = value.split(";")
    # Browsers split attributes on ";" and compare the trimmed name before "=" without
    # regard to case (RFC 6265 5.2); str.strip trims more than they do, which only widens
    # what is dropped.
    kept = [a for a in attributes if a.split("=", 1)[0].strip().lower() != "domain"]
    return ";".join([pair, *kept])


def origin_scoped_site_data(value: str) -> str | None:
    """The ``Clear-Site-Data`` directives that act on the sender's origin only, or None."""
    kept = []
    for directive in value.split(","):
        known = _SITE_DATA.get(directive.strip().strip('"').lower())
        if known is not None and known not in kept:
            kept.append(known)
    return ", ".join(kept) if kept else None


def _edge_header(name: str, value: str) -> tuple[str, str] | None:
    """The header as it leaves the gateway, or None when it must not."""
    if name in _DROPPED or name.startswith("x-atoll-"):
        return None
    if name == "set-cookie":
        return name, host_only_cookie(value)
    if name == "clear-site-data":
        scoped = origin_scoped_site_data(value)
        return None if scoped is None else (name, scoped)
    return name, value


def edge_headers(headers: Iterable[tuple[str, str]], request_id: str) -> list[tuple[str, str]]:
    """A function's response headers (lower-cased names, as the runtime gives them) as the
    gateway sends them, plus its request id."""
    out = []
    for name, value in headers:
        header = _edge_header(name, value)
        if header is not None:
            out.append(header)
    if request_id:
        out.append((_REQUEST_ID, request_id))
    return out
