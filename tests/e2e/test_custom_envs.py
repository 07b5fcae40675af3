"""Environments a tenant creates, through the installed CLI against a real ``atoll serve``:
created, promoted to and rolled back like staging and prod, served at their own origin
with their own database, and deleted with their database (issue 11)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Served, start_server, stop_server
from tests.e2e.test_cli_first_hour import _in_a_terminal
from tests.e2e.test_releases import _call

NOTES = "CREATE TABLE notes (body TEXT);\n"


def _hello(version: str) -> str:
    """A function that says which code answers and how many notes its database holds."""
    return (
        "import atoll\n\n"
        "def get() -> dict[str, object]:\n"
        f"    return {{'v': {version!r}, "
        "'notes': len(atoll.db.execute('SELECT body FROM notes'))}\n"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module."""
    root = tmp_path_factory.mktemp("custom-envs")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def _refused(server: Served, env: str, app: str, tenant: str) -> tuple[int, str]:
    """The status and error message of an origin that must not serve ``/api/hello``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.gateway_port}/api/hello",
        headers={"Host": f"{env}--{app}--{tenant}.localhost:{server.gateway_port}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            raise AssertionError(f"{env} answered {reply.status}: {reply.read()!r}")
    except urllib.error.HTTPError as refused:
        message: str = json.loads(refused.read())["error"]["message"]
        return refused.code, message


def test_a_created_environment_from_creation_to_deletion(server: Served, tmp_path: Path) -> None:
    token = server.tenant("lab")
    src = tmp_path / "notes"
    (src / "functions").mkdir(parents=True)
    (src / "migrations").mkdir()
    (src / "atoll.toml").write_text('name = "notes"\n')
    (src / "functions" / "hello.py").write_text(_hello("one"))
    (src / "migrations" / "0001_notes.sql").write_text(NOTES)
    server.cli("app", "create", "notes", "--from", str(src), token=token)

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, "--app", "notes", token=token, check=check)

    def call(env: str) -> object:
        return _call(server, env, "notes", "lab")

    cli("release", "create")  # v1
    made = cli("env", "create", "qa")
    origin = f"http://qa--notes--lab.localhost:{server.gateway_port}/"
    assert made.stdout.startswith(f"environment qa of notes created: {origin}"), made.stdout
    envs = json.loads(cli("--json", "env", "list").stdout)["environments"]
    assert [(e["name"], e["release"]) for e in envs] == [
        ("dev", None),
        ("staging", None),
        ("prod", None),
        ("qa", None),
    ]
    # Before its first promotion it answers as staging does before its own.
    for env in ("qa", "staging"):
        assert _refused(server, env, "notes", "lab") == (404, f"nothing is deployed to {env} yet")

    got = json.loads(cli("--json", "promote", "--to", "qa", "--release", "v1").stdout)
    assert (got["env"], got["release"], got["url"]) == ("qa", "v1", origin)
    cli("promote", "--to", "prod", "--release", "v1")
    assert call("qa") == {"v": "one", "notes": 0}

    # Its database is its own: what is written in qa is not in prod, and back.
    cli("db", "exec", "INSERT INTO notes VALUES ('qa only')", "--env", "qa")
    cli("db", "exec", "INSERT INTO notes VALUES ('prod 1'), ('prod 2')", "--env", "prod")
    assert call("qa") == {"v": "one", "notes": 1}
    assert call("prod") == {"v": "one", "notes": 2}
    rows = json.loads(cli("--json", "db", "exec", "SELECT body FROM notes", "--env", "qa").stdout)
    assert rows["rows"] == [["qa only"]]

    # Promotion and rollback move it as they move staging and prod.
    (src / "functions" / "hello.py").write_text(_hello("two"))
    cli("push", str(src), "--force")
    cli("release", "create")  # v2
    moved = cli("promote", "--to", "qa")
    assert moved.stdout.startswith("qa serves v2 (was v1)"), moved.stdout
    assert call("qa") == {"v": "two", "notes": 1}
    back = json.loads(cli("--json", "rollback", "--env", "qa").stdout)
    assert (back["env"], back["release"], back["previous"]) == ("qa", "v1", "v2")
    assert call("qa") == {"v": "one", "notes": 1}
    cli("promote", "--to", "staging", "--from", "qa")
    assert call("staging") == {"v": "one", "notes": 0}
    history = json.loads(cli("--json", "env", "history", "--env", "qa").stdout)["deploys"]
    assert [(d["action"], d["from_release"], d["to_release"], d["result"]) for d in history] == [
        ("rollback", "v2", "v1", "ok"),
        ("promote", "v1", "v2", "ok"),
        ("promote", None, "v1", "ok"),
    ]
    assert "qa" in cli("env", "list").stdout.split()

    # Deleting asks first; without a terminal it needs --yes.
    refused = cli("env", "delete", "qa", check=False)
    assert refused.returncode == 2 and "without --yes" in refused.stderr, refused.stderr
    asked = ("env", "delete", "qa", "--app", "notes")
    code, shown = _in_a_terminal(server, token, *asked, typed="q\n")
    assert code == 1 and "Type qa to confirm" in shown and "not deleted" in shown
    assert call("qa") == {"v": "one", "notes": 1}
    gone = cli("--json", "env", "delete", "qa", "--yes")
    assert json.loads(gone.stdout) == {"env": "qa", "deleted": True, "release": "v1"}

    # Its origin stops answering at once; prod and staging are as they were.
    assert _refused(server, "qa", "notes", "lab")[0] == 404
    assert call("prod") == {"v": "one", "notes": 2}
    assert call("staging") == {"v": "one", "notes": 0}
    names = [e["name"] for e in json.loads(cli("--json", "env", "list").stdout)["environments"]]
    assert names == ["dev", "staging", "prod"]
    for args, code, text in (
        (["db", "exec", "SELECT 1", "--env", "qa"], 1, "environment 'qa' not found"),
        (["env", "history", "--env", "qa"], 1, "environment 'qa' not found"),
        (["promote", "--to", "qa"], 1, "environment 'qa' not found"),
        (["env", "delete", "qa", "--yes"], 1, "environment 'qa' not found"),
        (["env", "delete", "prod", "--yes"], 1, "cannot be deleted"),
        (["env", "delete", "../../x", "--yes"], 2, "invalid environment name"),
        (["env", "create", "Q--A"], 1, "invalid environment name"),
        (["env", "create", "prod"], 1, "already has environment 'prod'"),
        (["env", "create"], 2, "NAME"),
    ):
        done = cli(*args, check=False)
        assert done.returncode == code, (args, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)

    # Created again, it starts empty: a new database, no release, no history.
    cli("env", "create", "qa")
    assert _refused(server, "qa", "notes", "lab") == (404, "nothing is deployed to qa yet")
    assert json.loads(cli("--json", "env", "history", "--env", "qa").stdout) == {"deploys": []}
    empty = cli("db", "exec", "SELECT * FROM notes", "--env", "qa", check=False)
    assert empty.returncode == 1 and "no such table" in empty.stderr
