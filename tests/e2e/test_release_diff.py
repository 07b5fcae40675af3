"""Build logs and release diffs through the installed CLI against a real ``atoll serve``
(issue 11): ``atoll release show`` prints a release's build log, ``atoll release diff``
what differs between two releases."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Served, start_server, stop_server

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

PAGE = '{"schemaVersion": 1, "title": "Shop", "root": {"type": "Heading", "props": {"text": "hi"}}}'
ABOUT = '{"schemaVersion": 1, "title": "About", "root": {"type": "Text", "props": {"text": "a"}}}'
HELLO = 'def get() -> dict[str, str]:\n    return {"hello": "world"}\n'
HELLO_2 = 'def get() -> dict[str, str]:\n    return {"hello": "there"}\n'
BROKEN = "def get():\n    return {\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module."""
    root = tmp_path_factory.mktemp("release-diff")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def test_build_logs_and_release_diffs_through_the_cli(server: Served, tmp_path: Path) -> None:
    token = server.tenant("differ")
    src = tmp_path / "shop"
    for folder in ("functions", "pages", "migrations"):
        (src / folder).mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "shop"\n[limits]\nmemory_mb = 128\n')
    (src / "functions" / "hello.py").write_text(HELLO)
    (src / "pages" / "index.json").write_text(PAGE)
    (src / "migrations" / "0001_notes.sql").write_text("CREATE TABLE notes (body TEXT);\n")
    server.cli("app", "create", "shop", "--from", str(src), token=token)
    server.cli("release", "create", "--app", "shop", token=token)

    # v2: a function changed, a page and a destructive migration added, a limit raised.
    (src / "functions" / "hello.py").write_text(HELLO_2)
    (src / "pages" / "about.json").write_text(ABOUT)
    (src / "migrations" / "0002_drop_body.sql").write_text("ALTER TABLE notes DROP COLUMN body;\n")
    (src / "atoll.toml").write_text('name = "shop"\n[limits]\nmemory_mb = 192\n')
    server.cli("push", str(src), "--app", "shop", "--force", "--no-wait", token=token)
    server.cli("release", "create", "--app", "shop", token=token)

    shown = server.cli("release", "show", "v1", "--app", "shop", token=token).stdout
    assert shown.startswith("v1  ready") and "\nbuild log:\n" in shown, shown
    log = shown.split("build log:\n", 1)[1]
    for line in (
        "  checked out r1 (4 files,",
        "  functions: 1 compiled in ",
        "  atoll.toml: ok (limits memory_mb=128)",
        "  dependencies: none",
        "  migrations: 0001_notes.sql (additive)",
        "  pages: 1 validated",
        "  components: none",
        "  r1 built in ",
    ):
        assert f"\n{line}" in f"\n{log}", (line, log)

    diff = server.cli("release", "diff", "v1", "v2", "--app", "shop", token=token).stdout
    assert diff.startswith("v1 -> v2\n"), diff
    files = diff.split("\nFiles\n", 1)[1].split("\n\n", 1)[0]
    assert "  ~ functions/hello.py (" in files and "  + pages/about.json (" in files, diff
    assert "  ~ atoll.toml (" in files and "  + migrations/0002_drop_body.sql (" in files, diff
    assert "\nMigrations\n  + migrations/0002_drop_body.sql (destructive)\n" in diff, diff
    assert "\nConfig\n  limits.memory_mb: 128 -> 192" in diff, diff
    assert "Dependencies" not in diff and "@@" not in diff  # none changed; no patch asked

    patched = server.cli("release", "diff", "v1", "2", "--patch", "--app", "shop", token=token)
    assert '    -    return {"hello": "world"}\n    +    return {"hello": "there"}' in (
        patched.stdout
    ), patched.stdout
    as_json = json.loads(
        server.cli("release", "diff", "v1", "v2", "--app", "shop", "--json", token=token).stdout
    )
    assert as_json["config"] == [{"key": "limits.memory_mb", "old": 128, "new": 192}]
    assert [m["file"] for m in as_json["migrations"]] == ["migrations/0002_drop_body.sql"]

    same = server.cli("release", "diff", "v2", "v2", "--app", "shop", token=token).stdout
    assert same == "v2 -> v2\nno differences\n"

    # A failed build keeps its log, with the error where it is.
    (src / "functions" / "hello.py").write_text(BROKEN)
    server.cli("push", str(src), "--app", "shop", "--force", "--no-wait", token=token)
    failed = server.cli("release", "create", "--app", "shop", token=token, check=False)
    assert failed.returncode == 1, failed.stderr
    shown = server.cli("release", "show", "v3", "--app", "shop", token=token).stdout
    assert shown.startswith("v3  failed") and "  functions/hello.py:2:" in shown, shown
    assert "  r3 did not build (" in shown, shown
    broken = server.cli("release", "diff", "v2", "v3", "--app", "shop", token=token).stdout
    assert "\nFiles\n  ~ functions/hello.py (" in broken and "Migrations" not in broken, broken

    for args, code, text in (
        (["release", "diff", "v1", "--app", "shop"], 2, "VERSION"),
        (["release", "diff", "v1", "vx", "--app", "shop"], 1, "invalid release version"),
        (["release", "diff", "v1", "v9", "--app", "shop"], 1, "release v9 not found"),
        (["release", "diff", "v1", "../v2", "--app", "shop"], 1, "Not Found"),  # one segment
        (["release", "diff", "v1", "v2", "--app", "nope"], 1, "not found"),
    ):
        done = server.cli(*args, token=token, check=False)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
