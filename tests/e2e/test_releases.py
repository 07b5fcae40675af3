"""Releases through the installed CLI against a real ``atoll serve``: build, list, show, a
failed build kept with its errors, and usage mistakes (issue 11, the build part)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.runtime.layout import choose_runtime_dir
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
    token = server.tenant("shipper")
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
    header = ["VERSION", "STATUS", "DEPLOYED", "TO", "REVISION", "CREATED", "NOTES"]
    assert table.splitlines()[0].split() == header
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


def _call(server: Served, env: str, app: str, tenant: str) -> str:
    """What ``/api/hello`` of an app environment answers, through the gateway."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.gateway_port}/api/hello",
        headers={"Host": f"{env}--{app}--{tenant}.localhost:{server.gateway_port}"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        answer: str = json.loads(reply.read())
        return answer


def test_promotion_and_rollback_move_what_each_environment_serves(
    server: Served, tmp_path: Path
) -> None:
    token = server.tenant("mover")
    src = tmp_path / "site"
    (src / "functions").mkdir(parents=True)
    (src / "migrations").mkdir()
    (src / "atoll.toml").write_text('name = "site"\n')
    (src / "functions" / "hello.py").write_text("def get() -> str:\n    return 'one'\n")
    server.cli("app", "create", "site", "--from", str(src), token=token)
    server.cli("release", "create", "--app", "site", token=token)  # v1
    # v2: new code and an additive migration.
    (src / "functions" / "hello.py").write_text("def get() -> str:\n    return 'two'\n")
    (src / "migrations" / "0001_notes.sql").write_text("CREATE TABLE notes (body TEXT);\n")
    server.cli("push", str(src), "--app", "site", "--force", token=token)
    server.cli("release", "create", "--app", "site", token=token)  # v2

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, "--app", "site", token=token, check=check)

    got = json.loads(cli("--json", "promote", "--to", "prod", "--release", "v1").stdout)
    assert (got["env"], got["release"], got["previous"]) == ("prod", "v1", None)
    assert _call(server, "prod", "site", "mover") == "one"
    assert _call(server, "dev", "site", "mover") == "two"  # dev follows the workspace

    cli("promote", "--to", "staging", "--release", "v2")
    assert _call(server, "staging", "site", "mover") == "two"
    moved = cli("promote", "--to", "prod", "--from", "staging")
    assert moved.stdout.startswith("prod serves v2 (was v1)"), moved.stdout
    assert _call(server, "prod", "site", "mover") == "two"
    cli("db", "exec", "INSERT INTO notes VALUES ('kept')", "--env", "prod")

    back = json.loads(cli("--json", "rollback", "--env", "prod").stdout)
    assert (back["release"], back["previous"]) == ("v1", "v2")
    assert _call(server, "prod", "site", "mover") == "one"
    # The additive migration stays, and so does the data written under v2.
    rows = json.loads(cli("--json", "db", "exec", "SELECT body FROM notes", "--env", "prod").stdout)
    assert rows["rows"] == [["kept"]]

    envs = json.loads(cli("--json", "env", "list").stdout)["environments"]
    serving = {e["name"]: e["release"] for e in envs}
    assert serving == {"dev": None, "staging": "v2", "prod": "v1"}
    listed = json.loads(cli("--json", "release", "list").stdout)["releases"]
    assert [(r["version"], r["deployed_to"]) for r in listed] == [
        ("v2", ["staging"]),
        ("v1", ["prod"]),
    ]
    assert "staging" in cli("release", "list").stdout.splitlines()[1]  # v2's row
    history = json.loads(cli("--json", "env", "history", "--env", "prod").stdout)["deploys"]
    assert [(d["action"], d["from_release"], d["to_release"], d["result"]) for d in history] == [
        ("rollback", "v2", "v1", "ok"),
        ("promote", "v1", "v2", "ok"),
        ("promote", None, "v1", "ok"),
    ]
    assert all(d["by"] == "mover/default" for d in history)

    for args, text in (
        (["promote", "--to", "dev"], "dev follows the workspace"),
        (["promote", "--to", "qa"], "environment 'qa' not found"),
        (["promote", "--to", "prod", "--release", "v9"], "release v9 not found"),
        (["promote", "--to", "prod", "--from", "dev"], "serves the workspace"),
        (["rollback", "--env", "staging"], "served no release before v2"),
        (["rollback", "--env", "prod", "--to", "v1"], "already serves v1"),
    ):
        done = cli(*args, check=False)
        assert done.returncode == 1, (args, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    done = cli("promote", "--to", "prod", "--release", "v1", "--from", "staging", check=False)
    assert done.returncode == 2 and "not both" in done.stderr


ITEMS = (
    "def get() -> dict[str, object]:\n"
    "    return {'v': VERSION, 'rows': len(atoll.db.execute('SELECT id FROM items'))}\n"
)


def _items(version: int) -> str:
    return "import atoll\n\nVERSION = " + str(version) + "\n\n" + ITEMS


def test_rollback_with_additive_and_destructive_migrations_through_the_cli(
    server: Served, tmp_path: Path
) -> None:
    token = server.tenant("keeper")
    src = tmp_path / "ledger"
    (src / "functions").mkdir(parents=True)
    (src / "migrations").mkdir()
    (src / "atoll.toml").write_text('name = "ledger"\n')
    (src / "functions" / "hello.py").write_text(_items(1))
    (src / "migrations" / "0001_items.sql").write_text(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT);\n"
    )
    server.cli("app", "create", "ledger", "--from", str(src), token=token)

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, "--app", "ledger", token=token, check=check)

    def prod() -> object:
        return _call(server, "prod", "ledger", "keeper")

    def release(version: int, migration: tuple[str, str] | None) -> None:
        (src / "functions" / "hello.py").write_text(_items(version))
        if migration is not None:
            (src / "migrations" / migration[0]).write_text(migration[1])
        cli("push", str(src), "--force")
        made = json.loads(cli("--json", "release", "create").stdout)
        assert made["version"] == f"v{version}" and made["status"] == "ready", made

    cli("release", "create")  # v1
    cli("promote", "--to", "staging", "--release", "v1")
    cli("promote", "--to", "prod", "--from", "staging")
    # Staging and prod run the very artifacts v1 was built into: the same digest.
    v1 = json.loads(cli("--json", "release", "show", "v1").stdout)["digest"]
    envs = {e["name"]: e for e in json.loads(cli("--json", "env", "list").stdout)["environments"]}
    assert v1.startswith("sha256:") and envs["staging"]["digest"] == envs["prod"]["digest"] == v1
    assert (envs["staging"]["release"], envs["prod"]["release"]) == ("v1", "v1")
    cli(
        "db",
        "exec",
        "INSERT INTO items (name, note) VALUES ('a', 'x'), ('b', 'y')",
        "--env",
        "prod",
    )
    assert prod() == {"v": 1, "rows": 2}

    # v2 adds a column; prod rolled back to v1 keeps it and every row.
    release(2, ("0002_tag.sql", "ALTER TABLE items ADD COLUMN tag TEXT;\n"))
    cli("promote", "--to", "prod", "--release", "v2")
    envs = {e["name"]: e for e in json.loads(cli("--json", "env", "list").stdout)["environments"]}
    assert envs["prod"]["digest"] not in (None, v1)
    assert envs["dev"]["digest"] == envs["prod"]["digest"]  # dev built the same revision
    cli("db", "exec", "INSERT INTO items (name, tag) VALUES ('c', 't')", "--env", "prod")
    back = cli("rollback", "--env", "prod")
    assert back.stdout.startswith("prod serves v1 (was v2)"), back.stdout
    assert prod() == {"v": 1, "rows": 3}
    kept = json.loads(cli("--json", "db", "exec", "SELECT tag FROM items", "--env", "prod").stdout)
    assert kept["rows"] == [[None], [None], ["t"]]

    # v3 drops a column: rolling prod back to v2 is refused, naming the migration.
    release(3, ("0003_drop_note.sql", "ALTER TABLE items DROP COLUMN note;\n"))
    cli("promote", "--to", "prod", "--release", "v3")
    cli("db", "exec", "INSERT INTO items (name) VALUES ('d')", "--env", "prod")
    refused = cli("rollback", "--env", "prod", "--to", "v2", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "0003_drop_note.sql" in refused.stderr and "--restore-db" in refused.stderr
    assert "before-migration-0003" in refused.stderr  # the snapshot it would restore
    assert prod() == {"v": 3, "rows": 4}

    done = cli("rollback", "--env", "prod", "--to", "v2", "--restore-db")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("prod serves v2 (was v3)"), done.stdout
    assert "before 0003_drop_note.sql" in lines[1]
    assert lines[2] == "rows written since and now lost: items: 1"
    assert prod() == {"v": 2, "rows": 3}
    notes = json.loads(
        cli("--json", "db", "exec", "SELECT note FROM items", "--env", "prod").stdout
    )
    assert notes["rows"] == [["x"], ["y"], [None]]  # the dropped column is back

    # A build that fails leaves every environment where it was.
    before = json.loads(cli("--json", "env", "list").stdout)["environments"]
    (src / "functions" / "hello.py").write_text(BROKEN)
    cli("push", str(src), "--force", "--no-wait")
    failed = cli("release", "create", check=False)
    assert failed.returncode == 1 and "v4 did not build" in failed.stdout
    after = json.loads(cli("--json", "env", "list").stdout)["environments"]
    assert [(e["name"], e["release"]) for e in after] == [(e["name"], e["release"]) for e in before]
    assert prod() == {"v": 2, "rows": 3}
    assert _call(server, "staging", "ledger", "keeper") == {"v": 1, "rows": 0}
    refused = cli("promote", "--to", "prod", "--release", "v4", check=False)
    assert refused.returncode == 1 and "v4 did not build" in refused.stderr


STARTED = (
    "import os, time\n\nSTARTED = time.time()  # when the app's sandbox imported this\n\n\n"
    "def get() -> dict[str, object]:\n    return {'v': VERSION, 'started': STARTED}\n"
)


def test_a_promoted_release_is_started_before_the_switch(server: Served, tmp_path: Path) -> None:
    token = server.tenant("warmer")
    src = tmp_path / "warm"
    (src / "functions").mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "warm"\n')
    (src / "functions" / "hello.py").write_text("VERSION = 1\n" + STARTED)
    server.cli("app", "create", "warm", "--from", str(src), token=token)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, "--app", "warm", token=token)

    cli("release", "create")
    cli("promote", "--to", "prod")
    assert _call(server, "prod", "warm", "warmer")["v"] == 1  # type: ignore[index]
    (src / "functions" / "hello.py").write_text("VERSION = 2\n" + STARTED)
    cli("push", str(src), "--force")
    cli("release", "create")
    cli("promote", "--to", "prod", "--release", "v2")
    switched = time.time()
    first = _call(server, "prod", "warm", "warmer")
    # The first request after the switch ran on v2's code loaded before the promotion
    # returned: its sandbox was started before the pointer moved, not by this request.
    assert first["v"] == 2 and first["started"] < switched, (first, switched)  # type: ignore[index]
    cli("rollback", "--env", "prod")
    switched = time.time()
    again = _call(server, "prod", "warm", "warmer")
    assert again["v"] == 1 and again["started"] < switched, (again, switched)  # type: ignore[index]


SIX_VERSION = "import six\n\n\ndef get() -> str:\n    return six.__version__\n"


def test_a_release_runs_the_dependencies_it_was_built_with(server: Served, tmp_path: Path) -> None:
    token = server.tenant("pinner")
    src = tmp_path / "pins"
    (src / "functions").mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "pins"\n[python]\ndependencies = ["six"]\n')
    (src / "functions" / "hello.py").write_text(SIX_VERSION)
    server.cli("app", "create", "pins", "--from", str(src), token=token)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, "--app", "pins", token=token)

    cli("release", "create")
    shown = cli("release", "show", "v1").stdout
    [line] = [x.strip() for x in shown.splitlines() if x.strip().startswith("dependencies:")]
    # (Locked by dev's build of the pushed revision, which came first.)
    pattern = r"dependencies: six==(\S+) \(locked(?: before, reused)?; layer [0-9a-f]{12} .*"
    locked = re.fullmatch(pattern, line)
    assert locked is not None, shown
    # Had the runtime resolved "six" again when prod started, it would get this older six
    # (the resolution it keeps on disk, as after a restart): it must run v1's pin instead.
    preferred = server.data_dir / "runtime"
    locks = choose_runtime_dir(preferred).glob("locks/*.lock")
    [cached] = [lock for lock in locks if lock.read_text().startswith("six==")]
    cached.write_text("six==1.15.0\n")
    cli("promote", "--to", "prod")
    assert _call(server, "prod", "pins", "pinner") == locked.group(1) != "1.15.0"
