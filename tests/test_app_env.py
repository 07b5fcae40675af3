"""AppEnv: an app environment's origin host, database name and log key."""

from __future__ import annotations

import pytest

from atoll.names import AppEnv


def test_app_hosts() -> None:
    assert AppEnv.from_host("dev--todo--demo.localhost:8080", "localhost") == AppEnv(
        tenant="demo", app="todo", env="dev"
    )
    assert AppEnv.from_host("PROD--shop--acme.localhost", "localhost") == AppEnv(
        tenant="acme", app="shop", env="prod"
    )
    assert AppEnv.from_host("staging--a1--b2.apps.example.org.", "apps.example.org") == AppEnv(
        tenant="b2", app="a1", env="staging"
    )


def test_one_identity_names_the_origin_the_database_and_the_logs() -> None:
    shop = AppEnv(tenant="acme", app="shop", env="prod")
    assert shop.origin_host("localhost", 8080) == "prod--shop--acme.localhost:8080"
    assert AppEnv.from_host(shop.origin_host("localhost", 8080), "localhost") == shop
    assert shop.database == "acme--shop--prod" and shop.key == "acme/shop/prod"
    assert shop.label == "prod--shop--acme"  # the origin host's first label


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
    assert AppEnv.from_host(host, "localhost") is None
