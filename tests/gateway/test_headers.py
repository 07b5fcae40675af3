"""What a function's response headers become at the gateway, tried with hostile values."""

from __future__ import annotations

import pytest

from atoll.gateway.headers import edge_headers, host_only_cookie, origin_scoped_site_data


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
        "date",
        "alt-svc",
        "set-cookie2",
        "x-atoll-request-id",
        "x-atoll-revision",
        "X-Atoll-Anything",
    ],
)
def test_headers_that_belong_to_the_platform_are_dropped(name: str) -> None:
    assert edge_headers([(name.lower(), "1"), ("x-ok", "1")], "rid") == [
        ("x-ok", "1"),
        ("x-atoll-request-id", "rid"),
    ]


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
    assert edge_headers(own, "") == own
