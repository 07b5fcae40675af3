"""Releases through the installed CLI against a real ``atoll serve``: build, list, show, a
failed build kept with its errors, and usage mistakes (issue 11, the build part)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Served, start_server, stop_server

HELLO = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'
BROKEN = "def get(:\n    return 1\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module."""
    root = tmp_path_factory.mktemp("releases")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def test_releases_through_the_cli(server: Served, tmp_path: Path) -> None:
    token = json.loads(
        server.cli("--json", "tenant", "create", "shipper", token=server.admin_token).stdout
    )["token"]
    src = tmp_path / "shop"
    (src / "functions").mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "shop"\n')
    (src / "functions" / "hello.py").write_text(HELLO)
    server.cli("app", "create", "shop", "--from", str(src), token=token)

    empty = server.cli("release", "list", "--app", "shop", token=token)
    assert "no releases of shop yet" in empty.stdout

    made = server.cli(
        "--json", "release", "create", "--app", "shop", "--notes", "first", token=token
    )
    got = json.loads(made.stdout)
    assert (got["version"], got["status"], got["errors"]) == ("v1", "ready", [])

    human = server.cli("release", "create", "--app", "shop", token=token)
    assert human.stdout.startswith("v2 built in "), human.stdout

    (src / "functions" / "hello.py").write_text(BROKEN)
    server.cli("push", str(src), "--app", "shop", "--force", "--no-wait", token=token)
    failed = server.cli("release", "create", "--app", "shop", token=token, check=False)
    assert failed.returncode == 1, failed.stderr
    assert "v3 did not build" in failed.stdout
    assert "functions/hello.py:1:" in failed.stdout and "Traceback" not in failed.stderr
    as_json = server.cli("--json", "release", "create", "--app", "shop", token=token, check=False)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["status"] == "failed"

    listed = server.cli("--json", "release", "list", "--app", "shop", token=token)
    releases = json.loads(listed.stdout)["releases"]
    assert [r["version"] for r in releases] == ["v4", "v3", "v2", "v1"]
    table = server.cli("release", "list", "--app", "shop", token=token).stdout
    assert table.splitlines()[0].split() == ["VERSION", "STATUS", "REVISION", "CREATED", "NOTES"]
    assert "first" in table

    shown = server.cli("release", "show", "v1", "--app", "shop", token=token)
    assert shown.stdout.startswith("v1  ready") and "notes     first" in shown.stdout

    for args, code, text in (
        (["release", "show", "v9", "--app", "shop"], 1, "release v9 not found"),
        (["release", "show", "nine", "--app", "shop"], 1, "invalid release version"),
        (["release", "show", "--app", "shop"], 2, "missing VERSION"),
        (["release", "list", "--app", "nope"], 1, "not found"),
    ):
        done = server.cli(*args, token=token, check=False)
        assert done.returncode == code, (args, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
