"""What a function's response headers become at the gateway, tried with hostile values."""

from __future__ import annotations

import pytest

from atoll.config import HttpLimits
from atoll.errors import TenantCodeError
from atoll.gateway.headers import edge_headers, host_only_cookie, origin_scoped_site_data

LIMITS = HttpLimits()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("sid=1; Domain=localhost; Path=/", "sid=1; Path=/"),
        ("sid=1; domain=.localhost", "sid=1"),
        ("sid=1;DOMAIN=LOCALHOST;HttpOnly", "sid=1;HttpOnly"),
        ('sid=1; Domain="localhost"', "sid=1"),
        ('sid=1; Domain=".LocalHost"; Secure', "sid=1; Secure"),
        ("sid=1; Domain = .localhost ; Secure", "sid=1; Secure"),
        ("sid=1; \tDomain\t=localhost", "sid=1"),
        ("sid=1; Domain=a.localhost; Domain=localhost; Max-Age=60", "sid=1; Max-Age=60"),
        ("sid=1; Domain", "sid=1"),
        ("sid=1; Domain=", "sid=1"),
        ("sid=1; Domain=dev--shop--acme.localhost", "sid=1"),
        (
            "sid=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=localhost; SameSite=Lax",
            "sid=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; SameSite=Lax",
        ),
        # The first pair is the cookie itself: a cookie named "Domain" is host-only already.
        ("Domain=localhost; Path=/", "Domain=localhost; Path=/"),
        ("__Host-sid=1; Secure; Path=/", "__Host-sid=1; Secure; Path=/"),
        ("__Secure-sid=1; Secure; Domain=localhost", "__Secure-sid=1; Secure"),
        ("sid=Domain=localhost", "sid=Domain=localhost"),
        ("sid=1; Path=/Domain=localhost", "sid=1; Path=/Domain=localhost"),
    ],
)
def test_cookies_lose_their_domain(sent: str, kept: str) -> None:
    assert host_only_cookie(sent) == kept


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ('"cookies"', None),
        ('"*"', None),
        ('"COOKIES"', None),
        ("cookies", None),
        ('"cache", "cookies"', '"cache"'),
        ('"storage" ,\t"cookies", "executionContexts"', '"storage", "executionContexts"'),
        ('"cache", "storage", "executionContexts"', '"cache", "storage", "executionContexts"'),
        ('"whatever"', None),
        ("", None),
    ],
)
def test_clear_site_data_keeps_only_origin_scoped_directives(sent: str, kept: str | None) -> None:
    assert origin_scoped_site_data(sent) == kept


def test_every_set_cookie_header_is_rewritten() -> None:
    got = edge_headers(
        [
            ("content-type", "text/plain"),
            ("set-cookie", "a=1; Domain=localhost; Path=/"),
            ("set-cookie", 'b=2; domain=".LOCALHOST"; HttpOnly'),
            ("set-cookie", "c=3"),
        ],
        "rid",
        LIMITS,
    )
    assert got == [
        ("content-type", "text/plain"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2; HttpOnly"),
        ("set-cookie", "c=3"),
        ("x-atoll-request-id", "rid"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
        "date",
        "alt-svc",
        "set-cookie2",
        "x-atoll-request-id",
        "x-atoll-revision",
        "X-Atoll-Anything",
    ],
)
def test_headers_that_belong_to_the_platform_are_dropped(name: str) -> None:
    assert edge_headers([(name, "1"), ("x-ok", "1")], "rid", LIMITS) == [
        ("x-ok", "1"),
        ("x-atoll-request-id", "rid"),
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-bad", "a\r\nset-cookie: sid=1; Domain=localhost"),
        ("x-bad", "a\nb"),
        ("x-bad", "a\rb"),
        ("x-bad", "a\0b"),
        ("x-bad", "a\x0bb"),
        ("x-bad", "a\x1bb"),
        ("x-bad", "a\x7fb"),
        ("x bad", "1"),
        ("x-bad:", "1"),
        ("", "1"),
        ("x-bad\r\n", "1"),
        ("x-b\u00e4d", "1"),
    ],
)
def test_malformed_headers_are_dropped(name: str, value: str) -> None:
    assert edge_headers([(name, value)], "", LIMITS) == []


def test_what_acts_only_on_the_apps_own_origin_passes() -> None:
    own = [
        ("access-control-allow-origin", "http://dev--web--acme.localhost:8080"),
        ("access-control-allow-credentials", "true"),
        ("server-timing", "db;dur=53"),
        ("content-security-policy", "default-src 'self'"),
        ("strict-transport-security", "max-age=60"),
        ("x-tabbed", "a\tb"),
        ("x-latin", "caf\u00e9"),
    ]
    assert edge_headers(own, "", LIMITS) == own


def test_too_many_or_too_large_headers_are_the_functions_error() -> None:
    limits = HttpLimits(max_response_headers=10, max_response_header_bytes=2048)
    assert len(edge_headers([(f"x-{i}", "v") for i in range(10)], "", limits)) == 10
    with pytest.raises(TenantCodeError) as many:
        edge_headers([(f"x-{i}", "v") for i in range(11)], "rid", limits)
    assert many.value.detail["limit"] == "max_response_headers"
    assert many.value.detail["request_id"] == "rid"
    with pytest.raises(TenantCodeError) as large:
        edge_headers([("x-a", "v" * 1500), ("x-b", "v" * 1500)], "rid", limits)
    assert large.value.detail["limit"] == "max_response_header_bytes"
