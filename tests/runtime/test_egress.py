"""Egress: listed host:port pairs through the allowlist proxy; everything else refused."""

from __future__ import annotations

import pytest

from atoll.errors import TenantCodeError
from atoll.runtime import AppRef, InvokeResponse

from .conftest import Harness

pytestmark = pytest.mark.sandbox

FETCH = """
    import http.client
    import os
    import urllib.error
    import urllib.request


    def get(url: str):
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return {"status": resp.status, "body": resp.read().decode()}
        except urllib.error.HTTPError as exc:
            return {"status": exc.code, "body": exc.read().decode()}


    def post(host: str, port: int):
        # HTTP CONNECT tunnel through the proxy, then plain HTTP inside it.
        proxy = os.environ["HTTPS_PROXY"].removeprefix("http://")
        proxy_host, proxy_port = proxy.split(":")
        conn = http.client.HTTPConnection(proxy_host, int(proxy_port), timeout=5)
        conn.set_tunnel(host, port)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            return {"status": resp.status, "body": resp.read().decode()}
        except OSError as exc:
            return {"error": str(exc)}
    """


@pytest.fixture(scope="module")
def fetcher(rt: Harness, http_servers: list[int]) -> AppRef:
    allowed = http_servers[0]
    toml = f'[egress]\nallow = ["127.0.0.1:{allowed}", "127.0.0.1:8000"]\n'
    return rt.app("fetcher", {"atoll.toml": toml, "functions/fetch.py": FETCH})


def result(resp: object) -> dict[str, object]:
    assert isinstance(resp, InvokeResponse), resp
    data = resp.json()
    assert isinstance(data, dict)
    return data


def test_allowed_host_is_reachable_through_the_proxy(
    rt: Harness, fetcher: AppRef, http_servers: list[int]
) -> None:
    port = http_servers[0]
    got = result(rt.call(fetcher, "/api/fetch", query={"url": f"http://127.0.0.1:{port}/x"}))
    assert got == {"status": 200, "body": f"hello from port {port}"}


def test_connect_tunnel_to_allowed_host(
    rt: Harness, fetcher: AppRef, http_servers: list[int]
) -> None:
    port = http_servers[0]
    got = result(rt.call(fetcher, "/api/fetch", "POST", {"host": "127.0.0.1", "port": str(port)}))
    assert got == {"status": 200, "body": f"hello from port {port}"}


def test_same_server_on_an_unlisted_port_is_refused(
    rt: Harness, fetcher: AppRef, http_servers: list[int]
) -> None:
    port = http_servers[1]
    got = result(rt.call(fetcher, "/api/fetch", query={"url": f"http://127.0.0.1:{port}/"}))
    assert got["status"] == 403
    assert f"127.0.0.1:{port} is not listed under [egress] allow" in str(got["body"])
    tunnel = result(
        rt.call(fetcher, "/api/fetch", "POST", {"host": "127.0.0.1", "port": str(port)})
    )
    assert "403" in str(tunnel["error"])


def test_listed_private_address_not_allowed_by_the_operator_is_refused(
    rt: Harness, fetcher: AppRef
) -> None:
    # The app lists the control plane's port; the platform still refuses loopback targets.
    got = result(rt.call(fetcher, "/api/fetch", query={"url": "http://127.0.0.1:8000/"}))
    assert got["status"] == 403
    assert "non-public address" in str(got["body"])


def test_direct_connect_still_fails_clearly_with_egress_on(
    rt: Harness, http_servers: list[int]
) -> None:
    toml = f'[egress]\nallow = ["127.0.0.1:{http_servers[0]}"]\n'
    direct = """
        import socket

        def get(port: int):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        """
    ref = rt.app("direct", {"atoll.toml": toml, "functions/direct.py": direct})
    err = rt.call(ref, "/api/direct", query={"port": str(http_servers[0])})
    assert isinstance(err, TenantCodeError)
    assert "direct network connection" in err.message and "HTTP proxy" in err.message
