"""A real ``atoll serve`` driven through the CLI, as a user would."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from tests.conftest import REPO
from tests.e2e.conftest import Served, start_server, stop_server


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_serve_prints_admin_token_and_urls(served: Served) -> None:
    log = served.log.read_text()
    assert served.admin_token in log
    assert served.url in log and "/api/docs" in log
    mode = stat.S_IMODE((served.data_dir / "admin.token").stat().st_mode)
    assert mode == 0o600


def test_tenant_app_push_pull_round_trip(served: Served, tmp_path: Path) -> None:
    created = json.loads(
        served.cli("--json", "tenant", "create", "acme", token=served.admin_token).stdout
    )
    assert created["tenant"] == "acme"
    token = created["token"]
    created_app = json.loads(served.cli("app", "create", "shop", "--json", token=token).stdout)
    assert created_app["app"] == "shop"
    assert created_app["url"].startswith("http://dev--shop--acme.localhost:")

    src = tmp_path / "src"
    shutil.copytree(REPO / "examples" / "todo", src)
    (src / "bin.dat").write_bytes(bytes(range(256)) * 40)
    (src / "empty.txt").write_bytes(b"")
    (src / "deep" / "er" / "still").mkdir(parents=True)
    (src / "deep" / "er" / "still" / "x.py").write_text("print('hi')\n")
    (src / "node_modules" / "react").mkdir(parents=True)
    (src / "node_modules" / "react" / "index.js").write_text("ignored")
    (src / ".env").write_text("SECRET=1")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"\0")

    pushed = json.loads(
        served.cli("push", str(src), "--app", "shop", "--no-wait", "--json", token=token).stdout
    )
    assert pushed["created"] is True and pushed["revision"]

    dst = tmp_path / "dst"
    pulled = json.loads(served.cli("pull", str(dst), "--app", "shop", "--json", token=token).stdout)
    assert pulled["revision"] == pushed["revision"]
    expected = {
        k: v for k, v in _tree(src).items() if not k.startswith(("node_modules/", "__pycache__/"))
    }
    assert _tree(dst) == expected
    assert not (dst / ".env").exists() and not (dst / "node_modules").exists()

    # A second push of the same folder changes nothing; an edit makes one new revision.
    again = json.loads(
        served.cli("push", str(src), "--app", "shop", "--no-wait", "--json", token=token).stdout
    )
    assert again["created"] is False
    (src / "pages" / "about.json").write_text('{"schemaVersion": 1}')
    (src / "bin.dat").unlink()
    third = json.loads(
        served.cli("push", str(src), "--app", "shop", "--no-wait", "--json", token=token).stdout
    )
    assert third["created"] is True and third["number"] == pushed["number"] + 1
    served.cli("pull", str(dst), "--app", "shop", token=token)
    assert _tree(dst) == {
        k: v for k, v in _tree(src).items() if not k.startswith(("node_modules/", "__pycache__/"))
    }

    listed = json.loads(served.cli("app", "list", "--json", token=token).stdout)
    assert [a["app"] for a in listed["apps"]] == ["shop"]
    served.cli("app", "delete", "shop", "--yes", token=token)
    assert json.loads(served.cli("app", "list", "--json", token=token).stdout)["apps"] == []


def test_push_refusals(served: Served, tmp_path: Path) -> None:
    token = served.tenant("acme")
    served.cli("app", "create", "shop", token=token)
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    (src / "link").symlink_to("/etc/passwd")
    done = served.cli("push", str(src), "--app", "shop", token=token, check=False)
    assert done.returncode == 4 and "symlink" in done.stderr and "link" in done.stderr
    (src / "link").unlink()
    (src / "big.bin").write_bytes(b"x" * (5 * 1024 * 1024 + 1))
    done = served.cli("push", str(src), "--app", "shop", token=token, check=False)
    assert done.returncode == 4 and "big.bin" in done.stderr
    (src / "big.bin").unlink()
    bad_name = os.fsencode(str(src)) + b"/caf\xe9.txt"
    with open(bad_name, "wb") as f:
        f.write(b"latin-1 name")
    done = served.cli("push", str(src), "--app", "shop", token=token, check=False)
    assert done.returncode == 4 and "UTF-8" in done.stderr
    os.unlink(bad_name)
    served.cli("push", str(src), "--app", "shop", token=token)

    # Someone else changes the same file: the push from the other folder is a conflict
    # that keeps both versions, and nothing is pushed until it is resolved.
    other = tmp_path / "other"
    served.cli("pull", str(other), "--app", "shop", token=token)
    (other / "ok.txt").write_text("theirs")
    served.cli("push", str(other), "--app", "shop", "--no-wait", token=token)
    (src / "ok.txt").write_text("mine")
    done = served.cli("push", str(src), "--app", "shop", token=token, check=False)
    assert done.returncode == 4 and "ok.txt" in done.stderr
    assert (src / "ok.txt").read_text() == "mine"
    assert (src / "ok.txt.remote").read_text() == "theirs"


def test_cli_errors_and_exit_codes(served: Served, tmp_path: Path) -> None:
    done = served.cli("app", "list", token="atl_bogus", check=False)
    assert done.returncode == 1 and done.stderr.startswith("atoll: error:")
    assert len(done.stderr.strip().splitlines()) == 1
    done = served.cli("app", "list", check=False)
    assert done.returncode == 2 and "token" in done.stderr
    env_less = served.cli("--server", "http://127.0.0.1:1", "app", "list", token="x", check=False)
    assert env_less.returncode == 3 and "cannot reach" in env_less.stderr


def test_token_revocation_through_cli(served: Served) -> None:
    token = served.tenant("acme")
    second = json.loads(served.cli("--json", "token", "create", "--name", "ci", token=token).stdout)
    assert served.cli("app", "list", token=second["token"]).returncode == 0
    served.cli("token", "revoke", str(second["id"]), token=token)
    assert served.cli("app", "list", token=second["token"], check=False).returncode == 1


def test_demo_is_installed_and_idempotent(served: Served, tmp_path: Path) -> None:
    demo_token = (served.data_dir / "demo.token").read_text().strip()
    apps = json.loads(served.cli("app", "list", "--json", token=demo_token).stdout)["apps"]
    assert [a["app"] for a in apps] == ["todo"]
    out = tmp_path / "todo"
    served.cli("pull", str(out), "--app", "todo", token=demo_token)
    assert _tree(out) == _tree(REPO / "examples" / "todo")
    # Released as v1 and serving in prod, so a newcomer sees dev and prod at once.
    envs = served.cli("--json", "env", "list", "--app", "todo", token=demo_token).stdout
    assert {e["name"]: e["release"] for e in json.loads(envs)["environments"]}["prod"] == "v1"
    releases = served.cli("--json", "release", "list", "--app", "todo", token=demo_token)
    assert [r["version"] for r in json.loads(releases.stdout)["releases"]] == ["v1"]
    # A restart on the same data dir keeps the same tokens and does not re-import.
    stop_server(served.process)
    again = start_server(served.data_dir, served.log, "--demo")
    try:
        assert again.admin_token == served.admin_token
        assert (again.data_dir / "demo.token").read_text().strip() == demo_token
        apps = json.loads(again.cli("app", "list", "--json", token=demo_token).stdout)["apps"]
        assert apps[0]["revisions"] == 1
        listed = again.cli("--json", "release", "list", "--app", "todo", token=demo_token)
        assert len(json.loads(listed.stdout)["releases"]) == 1  # not released again
    finally:
        stop_server(again.process)
