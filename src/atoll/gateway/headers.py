"""Which of a function's response headers leave the gateway, and in what form.

Every app environment is its own origin, but all of them share the public host as parent
domain, and so does the IDE. A function may say anything about its own origin; the
gateway removes what acts beyond it or on the connection:

- ``Set-Cookie``: every ``Domain`` attribute is removed, so each cookie is host-only (a
  ``Domain`` naming the public host would plant cookies for sibling apps and the IDE).
- ``Clear-Site-Data``: ``"cookies"`` and ``"*"`` clear the cookies of the whole site
  (registrable domain), not just the origin; only the origin-scoped directives stay.
- Framing and connection headers, ``Date`` and ``Alt-Svc``: how the origin is reached and
  how a response is delimited are the gateway's business.
- ``X-Atoll-*``: the platform's own; the runtime's request id is the only one sent.
- Names that are not tokens and values with control characters (CR, LF, NUL, ...).

Cross-origin headers (``Access-Control-*``, ``Timing-Allow-Origin``) pass: they only let
other origins read this app's own responses, which is the app's to decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from atoll.config import HttpLimits
from atoll.errors import TenantCodeError

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every C0 control but HTAB, and DEL
_DROPPED = frozenset(
    {
        "alt-svc",
        "connection",
        "content-length",
        "date",
        "keep-alive",
        "proxy-connection",
        "set-cookie2",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
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
    if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
        return None
    lower = name.lower()
    if lower in _DROPPED or lower.startswith("x-atoll-"):
        return None
    if lower == "set-cookie":
        return lower, host_only_cookie(value)
    if lower == "clear-site-data":
        scoped = origin_scoped_site_data(value)
        return None if scoped is None else (lower, scoped)
    return lower, value


def edge_headers(
    headers: Iterable[tuple[str, str]], request_id: str, limits: HttpLimits
) -> list[tuple[str, str]]:
    """A function's response headers as the gateway sends them, plus its request id.

    Raises ``TenantCodeError`` when they are over ``limits`` in count or bytes.
    """
    out = []
    size = 0
    for name, value in headers:
        header = _edge_header(name, value)
        if header is None:
            continue
        out.append(header)
        size += len(header[0]) + len(header[1]) + 4
        if len(out) > limits.max_response_headers:
            raise TenantCodeError(
                f"the function's response has more than {limits.max_response_headers} headers",
                limit="max_response_headers",
                max=limits.max_response_headers,
                request_id=request_id,
            )
        if size > limits.max_response_header_bytes:
            raise TenantCodeError(
                f"the function's response headers are larger than "
                f"{limits.max_response_header_bytes} bytes",
                limit="max_response_header_bytes",
                max=limits.max_response_header_bytes,
                request_id=request_id,
            )
    if request_id:
        out.append((_REQUEST_ID, request_id))
    return out
