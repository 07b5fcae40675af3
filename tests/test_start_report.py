"""The lines ``atoll serve`` prints at start: URLs and commands a user can paste as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from atoll.config import Settings
from atoll.server import control_plane_url, demo_report, start_report, url_host


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("::", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::1", "[::1]"),
        ("fd00::5", "[fd00::5]"),
        ("10.1.2.3", "10.1.2.3"),
        ("atoll.internal", "atoll.internal"),
    ],
)
def test_url_host_is_an_address_a_browser_can_reach(host: str, expected: str) -> None:
    assert url_host(host) == expected


def test_the_control_plane_is_printed_as_the_base_url_the_cli_takes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="0.0.0.0", port=9100, gateway_port=9101)
    lines = start_report(settings, "atl_admin")
    base = "http://127.0.0.1:9100"
    assert control_plane_url(settings) == base
    docs = f"{base}/api/docs"
    assert lines[0] == f"atoll: control plane {base}  (open it in a browser; API docs {docs})"
    assert not [line for line in lines if "/api/v1" in line or "0.0.0.0" in line]
    assert "atoll: app gateway   http://127.0.0.1:9101" in lines
    assert f"atoll: admin token   atl_admin  (kept in {tmp_path / 'admin.token'})" in lines
    assert lines[-2:] == [
        "atoll: use the CLI as admin:",
        f"    atoll login --profile admin --server {base} --token atl_admin",
    ]


def test_the_demo_lines_export_what_the_cli_reads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=9200, gateway_port=9201)
    lines = demo_report(settings, "atl_demo")
    assert "atoll: demo app      http://dev--todo--demo.localhost:9201/ (dev)" in lines
    assert "                     http://prod--todo--demo.localhost:9201/ (prod, v1)" in lines
    assert "                     http://dev--crm--demo.localhost:9201/ (dev)" in lines
    assert lines[-3:] == [
        "atoll: use the CLI as the demo tenant:",
        "    export ATOLL_SERVER=http://127.0.0.1:9200",
        "    export ATOLL_TOKEN=atl_demo",
    ]
