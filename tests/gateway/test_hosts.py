"""Host names of app origins."""

from __future__ import annotations

import pytest

from atoll.gateway.hosts import AppHost, parse_host


def test_app_hosts() -> None:
    assert parse_host("dev--todo--demo.localhost:8080", "localhost") == AppHost(
        "dev", "todo", "demo"
    )
    assert parse_host("PROD--shop--acme.localhost", "localhost") == AppHost("prod", "shop", "acme")
    assert parse_host("staging--a1--b2.apps.example.org.", "apps.example.org") == AppHost(
        "staging", "a1", "b2"
    )


@pytest.mark.parametrize(
    "host",
    [
        "localhost:8080",
        "todo--demo.localhost",
        "dev--todo--demo--x.localhost",
        "dev--to_do--demo.localhost",
        "dev----demo.localhost",
        "dev--todo--demo.evil.com",
        "dev--todo--demo.localhost.evil.com",
        "xdev--todo--demo.localhostx",
        "[::1]:8080",
        "",
    ],
)
def test_not_app_hosts(host: str) -> None:
    assert parse_host(host, "localhost") is None
