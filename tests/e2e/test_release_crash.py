"""A promotion cut by SIGKILL at each of its steps (issue 11): after the snapshot, after
migrating, before the pointer switch. The command fails instead of hanging; after a restart
the environment is on one release by every account (``env list``, the history, what its
origin answers), its recorded migrations match its schema, and promoting again finishes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import urllib.request
from pathlib import Path

import pytest

from atoll.faults import CRASH_ENV
from tests.e2e.conftest import Served, start_server, stop_server
from tests.e2e.test_release_load import (
    NAMES,
    PATHS,
    ReleasedApp,
    expected_answers,
    release_two_versions,
)

pytestmark = pytest.mark.e2e


def _killed(served: Served) -> None:
    """Wait for the server to have killed itself with SIGKILL; end what it left behind."""
    assert served.process.wait(timeout=60) == -signal.SIGKILL, served.log.read_text()[-3000:]
    try:
        os.killpg(served.process.pid, signal.SIGKILL)  # its sandboxes, if any outlived it
    except ProcessLookupError:
        pass


def _origin_answers(made: ReleasedApp) -> dict[str, object]:
    """What prod's origin answers at each of ``PATHS`` now."""
    port = made.served.gateway_port
    got: dict[str, object] = {}
    for path in PATHS:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Host": made.origin}
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = reply.read()
        got[path] = json.loads(body) if path.startswith("/api/") else body.decode()
    return got


def _prod_database(made: ReleasedApp) -> tuple[list[int], list[str], list[str]]:
    """Prod's recorded migration versions, the columns of ``items`` and its names."""

    def rows(sql: str) -> list[list[object]]:
        got: list[list[object]] = made.json("db", "exec", sql, "--env", "prod")["rows"]
        return got

    recorded = [int(str(r[0])) for r in rows("SELECT version FROM _atoll_migrations ORDER BY 1")]
    columns = [str(r[0]) for r in rows("SELECT name FROM pragma_table_info('items') ORDER BY cid")]
    names = [str(r[0]) for r in rows("SELECT name FROM items ORDER BY id")]
    return recorded, columns, names


def _serving(made: ReleasedApp) -> str | None:
    envs = made.json("env", "list")["environments"]
    serving: str | None = {e["name"]: e["release"] for e in envs}["prod"]
    return serving


@pytest.mark.parametrize(
    ("point", "migrated"),
    [("after-snapshot", False), ("after-migrate", True), ("before-switch", True)],
)
def test_a_promotion_killed_at_each_step_leaves_prod_consistent(
    point: str, migrated: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    served = start_server(data, log)
    try:
        made = release_two_versions(served, tmp_path, "crashy", "shop")
    finally:
        stop_server(served.process)
    # Only the promotion has a migration to run from here on (dev's build ran it on dev's
    # database already), so only the promotion reaches the crash point.
    monkeypatch.setenv(CRASH_ENV, point)
    crashing = start_server(data, log)
    monkeypatch.delenv(CRASH_ENV)
    try:
        cut = dataclasses.replace(made, served=crashing).cli(
            "promote", "--to", "prod", "--release", "v2", check=False
        )
        # The CLI says in one line that it lost the server (exit 3), as soon as it did.
        assert cut.returncode == 3, (cut.returncode, cut.stdout, cut.stderr)
        assert "atoll: error:" in cut.stderr and "Traceback" not in cut.stderr, cut.stderr
        _killed(crashing)
    finally:
        stop_server(crashing.process)

    again = start_server(data, log)
    try:
        made = dataclasses.replace(made, served=again)
        # One release by every account: the pointer, the history and the origin's answers.
        assert _serving(made) == "v1"
        history = made.json("env", "history", "--env", "prod")["deploys"]
        ok = [d for d in history if d["result"] == "ok"]
        assert ok[0]["to_release"] == "v1", history
        assert not any(d["to_release"] == "v2" for d in ok), history  # never claimed done
        # ... and not left out either: the restart records it failed, cut short.
        cut = [d for d in history if d["to_release"] == "v2"]
        assert [(d["action"], d["result"]) for d in cut] == [("promote", "failed")], history
        assert "cut short" in cut[0]["detail"]
        assert _origin_answers(made) == expected_answers(1)
        # The database is as its own records say: 0002 recorded iff its column exists.
        recorded, columns, names = _prod_database(made)
        assert (2 in recorded) == ("tag" in columns) == migrated, (recorded, columns)
        assert recorded == ([1, 2] if migrated else [1])
        assert names == list(NAMES)

        done = made.json("promote", "--to", "prod", "--release", "v2")
        assert (done["release"], done["previous"]) == ("v2", "v1")
        assert _serving(made) == "v2"
        assert _origin_answers(made) == expected_answers(2)
        recorded, columns, names = _prod_database(made)
        assert (recorded, columns, names) == ([1, 2], ["id", "name", "tag"], list(NAMES))
        newest = made.json("env", "history", "--env", "prod")["deploys"][0]
        assert (newest["action"], newest["from_release"], newest["to_release"]) == (
            "promote",
            "v1",
            "v2",
        )
        assert newest["result"] == "ok"
    finally:
        stop_server(again.process)
