"""The first hour with the CLI, as a new user lives it: the installed ``atoll`` against a
real ``atoll serve``, no terminal, its own config dir (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import ATOLL, Served, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module; each test works in a tenant of its own."""
    root = tmp_path_factory.mktemp("hour")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def todo_copy(where: Path) -> Path:
    """A copy of the example app to work on."""
    shutil.copytree(REPO / "examples" / "todo", where)
    return where


# --- 1. usage mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["pussh"], "Did you mean 'push'?"),
        (["app", "lst"], "Did you mean 'list'?"),
        (["push", "./shop"], "which app?"),
        (["app", "list", "--jsn"], "Did you mean '--json'?"),
        (["db", "url", "--app", "shop", "--ttl", "soon"], "invalid value for '--ttl'"),
        (["completion", "tcsh"], "choose from bash, zsh, fish"),
        (["invoke", "a", "b", "c"], "invoke takes FUNCTION"),
        (["app", "delete"], "missing NAME"),
        (["link"], "--app"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    server: Served, tmp_path: Path, args: list[str], hint: str
) -> None:
    done = server.cli(*args, check=False, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("atoll: error:") and hint in line, line


def test_no_command_prints_a_traceback_for_a_usage_mistake(server: Served, tmp_path: Path) -> None:
    from atoll.cli import _commands

    for command in _commands():
        for mistake in (["--no-such-option"], ["--json=maybe"], ["--server"]):
            done = server.cli(*command.words, *mistake, check=False, cwd=tmp_path)
            assert done.returncode == 2, (command.name, mistake, done.stderr)
            assert "Traceback" not in done.stderr + done.stdout, (command.name, mistake)
            [line] = done.stderr.strip().splitlines()
            assert line.startswith("atoll: error:") and f"atoll {command.name}" in line


def test_bare_atoll_prints_the_overview_and_version_works(server: Served) -> None:
    bare = server.cli(check=False)
    assert bare.returncode == 2 and "Traceback" not in bare.stderr
    assert "push" in bare.stdout and "app create" in bare.stdout
    version = server.cli("--version")
    assert version.stdout.startswith("atoll ") and version.stdout.split()[1][0].isdigit()
    group = server.cli("app", check=False)
    assert group.returncode == 2 and "create" in group.stdout


def test_every_command_help_shows_global_options(server: Served) -> None:
    for words in (["push"], ["app", "create"], ["db", "exec"], ["logs"], ["invoke"]):
        shown = server.cli(*words, "--help").stdout
        for option in ("--server", "--token", "--profile", "--json"):
            assert option in shown, (words, option)
        assert "<bool>" not in shown and "\033[" not in shown


# --- 2. pushes that say what happened ------------------------------------------------------


def test_push_waits_for_the_build_and_reports_errors(server: Served, tmp_path: Path) -> None:
    token = server.tenant("builds")
    server.cli("app", "create", "shop", token=token)
    src = todo_copy(tmp_path / "shop")
    good = server.cli("push", str(src), "--app", "shop", token=token)
    assert "dev is live: http://dev--shop--builds." in good.stdout
    first = json.loads(server.cli("env", "list", "--app", "shop", "--json", token=token).stdout)
    dev = first["environments"][0]
    assert dev["name"] == "dev" and dev["build"]["state"] == "ready"
    assert [e["name"] for e in first["environments"]] == ["dev", "staging", "prod"]

    # A broken page: the push fails with the file and line, and dev keeps the good revision.
    page = src / "pages" / "index.json"
    page.write_text('{\n  "schemaVersion": 1,\n  "root": {"type": "Stack",,}\n}\n')
    broken = server.cli("push", str(src), "--app", "shop", token=token, check=False)
    assert broken.returncode == 1, broken.stderr
    assert "pages/index.json:3" in broken.stderr
    assert broken.stderr.strip().splitlines()[-1].startswith("atoll: error: the build of r")
    assert f"dev still serves r{dev['number']}" in broken.stderr
    assert server.cli("invoke", "shop", "todos", token=token).returncode == 0

    # A function with a syntax error fails the build too, with its line.
    shutil.copy(REPO / "examples" / "todo" / "pages" / "index.json", page)
    (src / "functions" / "broken.py").write_text("def get():\n    return [1, 2\n")
    syntax = server.cli("push", str(src), "--app", "shop", "--json", token=token, check=False)
    assert syntax.returncode == 1
    assert "functions/broken.py:2" in syntax.stderr
    result = json.loads(syntax.stdout)
    assert result["build"]["state"] == "failed" and result["revision"]
    assert any(e["file"] == "functions/broken.py" for e in result["build"]["errors"])

    # The failure is in the logs and in the API; --no-wait does not wait or fail.
    logs = server.cli("logs", "--app", "shop", token=token).stdout
    assert "build" in logs and "functions/broken.py" in logs
    (src / "functions" / "broken.py").write_text("def get():\n    return [1, 2]\n")
    quick = json.loads(
        server.cli("push", str(src), "--app", "shop", "--no-wait", "--json", token=token).stdout
    )
    assert quick["created"] is True and "build" not in quick
    fixed = server.cli("push", str(src), "--app", "shop", token=token)  # nothing new: waits
    assert "dev is live" in fixed.stdout


# --- 3. a push can not overwrite another app's work -----------------------------------------


def test_a_folder_linked_to_another_app_is_refused(server: Served, tmp_path: Path) -> None:
    token = server.tenant("folders")
    template = todo_copy(tmp_path / "template")
    server.cli("app", "create", "todo", "--from", str(template), "--no-wait", token=token)
    assert not (template / ".atoll-workspace.json").exists()  # create --from is an import
    server.cli("app", "create", "shop", token=token)
    work = tmp_path / "work"
    server.cli("pull", str(work), "--app", "todo", token=token)
    (work / "static" / "README.txt").write_text("todo's work")

    wrong = server.cli("push", str(work), "--app", "shop", token=token, check=False)
    assert wrong.returncode == 4 and "linked to app 'todo'" in wrong.stderr
    shop = json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"]
    assert next(a for a in shop if a["app"] == "shop")["revisions"] == 0

    # An unlinked folder cannot replace an app that has files either.
    stray = server.cli("push", str(template), "--app", "todo", token=token, check=False)
    assert stray.returncode == 4 and "atoll link" in stray.stderr
    forced = server.cli("push", str(work), "--app", "shop", "--force", "--no-wait", token=token)
    assert "pushed r1" in forced.stdout


def test_app_create_from_a_missing_folder_creates_nothing(server: Served, tmp_path: Path) -> None:
    token = server.tenant("missing")
    done = server.cli(
        "app", "create", "ghost", "--from", str(tmp_path / "nope"), token=token, check=False
    )
    assert done.returncode == 4 and "no such folder" in done.stderr
    assert json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"] == []
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "link").symlink_to("/etc/passwd")
    done = server.cli("app", "create", "ghost", "--from", str(bad), token=token, check=False)
    assert done.returncode == 4 and "symlink" in done.stderr
    assert json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"] == []


# --- 4. disjoint changes merge; real conflicts keep both versions ---------------------------


def _two_copies(server: Served, tmp_path: Path, token: str) -> tuple[Path, Path]:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt", "c.txt", "gone.txt"):
        (src / name).write_text(f"{name} v1\n")
    server.cli("app", "create", "notes", token=token)
    server.cli("push", str(src), "--app", "notes", "--no-wait", token=token)
    other = tmp_path / "other"
    server.cli("pull", str(other), "--app", "notes", token=token)
    return src, other


def test_disjoint_changes_combine_both_ways(server: Served, tmp_path: Path) -> None:
    token = server.tenant("merges")
    mine, theirs = _two_copies(server, tmp_path, token)
    (theirs / "a.txt").write_text("a.txt by them\n")
    (theirs / "gone.txt").unlink()
    server.cli("push", str(theirs), "--app", "notes", "--no-wait", token=token)

    (mine / "b.txt").write_text("b.txt by me\n")
    (mine / "new.txt").write_text("new\n")
    pushed = json.loads(
        server.cli("push", str(mine), "--app", "notes", "--no-wait", "--json", token=token).stdout
    )
    assert sorted(pushed["merged"]) == ["a.txt", "gone.txt"]
    assert (mine / "a.txt").read_text() == "a.txt by them\n" and not (mine / "gone.txt").exists()

    pulled = json.loads(
        server.cli("pull", str(theirs), "--app", "notes", "--json", token=token).stdout
    )
    assert pulled["revision"] == pushed["revision"]
    for folder in (mine, theirs):
        assert (folder / "b.txt").read_text() == "b.txt by me\n"
        assert (folder / "new.txt").read_text() == "new\n"
        assert (folder / "a.txt").read_text() == "a.txt by them\n"

    # A pull keeps a local edit of a file the workspace did not change.
    (theirs / "c.txt").write_text("c.txt local\n")
    (mine / "b.txt").write_text("b.txt again\n")
    server.cli("push", str(mine), "--app", "notes", "--no-wait", token=token)
    kept = json.loads(
        server.cli("pull", str(theirs), "--app", "notes", "--json", token=token).stdout
    )
    assert kept["kept"] == ["c.txt"] and (theirs / "c.txt").read_text() == "c.txt local\n"
    assert (theirs / "b.txt").read_text() == "b.txt again\n"


def test_a_real_conflict_names_the_file_and_keeps_both(server: Served, tmp_path: Path) -> None:
    token = server.tenant("conflicts")
    mine, theirs = _two_copies(server, tmp_path, token)
    (theirs / "c.txt").write_text("theirs\n")
    server.cli("push", str(theirs), "--app", "notes", "--no-wait", token=token)
    (mine / "c.txt").write_text("mine\n")
    (mine / "b.txt").write_text("b.txt mine\n")

    done = server.cli("push", str(mine), "--app", "notes", "--no-wait", token=token, check=False)
    assert done.returncode == 4 and "c.txt" in done.stderr and "b.txt" not in done.stderr
    assert (mine / "c.txt").read_text() == "mine\n"
    assert (mine / "c.txt.remote").read_text() == "theirs\n"
    assert (mine / "b.txt").read_text() == "b.txt mine\n"
    again = server.cli("push", str(mine), "--app", "notes", "--no-wait", token=token, check=False)
    assert again.returncode == 4 and "c.txt" in again.stderr  # unresolved: still refused

    (mine / "c.txt").write_text("mine and theirs\n")
    (mine / "c.txt.remote").unlink()
    server.cli("push", str(mine), "--app", "notes", "--no-wait", token=token)
    server.cli("pull", str(theirs), "--app", "notes", token=token)
    assert (theirs / "c.txt").read_text() == "mine and theirs\n"
    assert (theirs / "b.txt").read_text() == "b.txt mine\n"

    # The same from the pulling side: the pull completes, names the file, exits 4.
    (theirs / "a.txt").write_text("their a\n")
    server.cli("push", str(theirs), "--app", "notes", "--no-wait", token=token)
    (mine / "a.txt").write_text("my a\n")
    pulled = server.cli("pull", str(mine), "--app", "notes", token=token, check=False)
    assert pulled.returncode == 4 and "a.txt" in pulled.stderr
    assert (mine / "a.txt").read_text() == "my a\n"
    assert (mine / "a.txt.remote").read_text() == "their a\n"


# --- 5. linked folders -----------------------------------------------------------------------


def test_linked_folder_defaults(server: Served, tmp_path: Path) -> None:
    token = server.tenant("linked")
    server.cli("app", "create", "shop", token=token)
    work = todo_copy(tmp_path / "work")
    server.cli("link", "--app", "shop", str(work), token=token)
    pushed = server.cli("push", "--no-wait", "--json", token=token, cwd=work / "functions")
    assert json.loads(pushed.stdout)["number"] == 1  # the linked folder, not ./functions
    assert server.cli("invoke", "todos", token=token, cwd=work).stdout.strip() == "[]"
    assert server.cli("invoke", "todos", "--app", "shop", token=token).stdout.strip() == "[]"
    url = server.cli("open", token=token, cwd=work / "pages").stdout.strip()
    assert url.startswith("http://dev--shop--linked.")
    envs = server.cli("env", "list", token=token, cwd=work).stdout
    assert envs.splitlines()[0].split() == ["ENV", "SERVING", "LAST", "BUILD", "URL"]
    assert url in envs
    server.cli("db", "exec", "SELECT 1", token=token, cwd=work)
    # --read-only looks without writing: a write is refused, and nothing was written.
    write = "INSERT INTO todos (title) VALUES ('x')"
    refused = server.cli("db", "exec", "--read-only", write, token=token, cwd=work, check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "read" in refused.stderr.lower()
    assert server.cli("invoke", "todos", token=token, cwd=work).stdout.strip() == "[]"
    server.cli("logs", token=token, cwd=work)

    # A folder holding an atoll.toml names its app too.
    plain = todo_copy(tmp_path / "plain")
    (plain / "atoll.toml").write_text('name = "shop"\n')
    assert server.cli("invoke", "todos", token=token, cwd=plain).stdout.strip() == "[]"


# --- 6. tokens and profiles ------------------------------------------------------------------


def test_login_profiles_and_admin_separation(server: Served, tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    server.cli("login", "--token", server.admin_token, env=env)
    token = server.tenant("profiles")
    server.cli("login", "--token", token, env=env)
    path = config / "atoll" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert set(saved["profiles"]) == {"admin", "default"} and saved["default"] == "default"

    # No ATOLL_TOKEN: the default profile. An exported tenant token does not break admin.
    bare = {**env, "ATOLL_SERVER": ""}
    assert "profiles" in server.cli("whoami", env=bare).stdout
    server.cli("app", "create", "web", env=bare)
    assert "profiles" in server.cli("tenant", "list", env={**bare, "ATOLL_TOKEN": token}).stdout
    # A token from stdin, checked before it is kept: a bad one is refused and not saved.
    bad = server.cli("login", "--profile", "ci", env=env, stdin="atl_nope\n", check=False)
    assert bad.returncode == 1 and "ci" not in json.loads(path.read_text())["profiles"]
    server.cli("login", "--profile", "ci", env=env, stdin=token + "\n")
    used = server.cli("whoami", "--profile", "ci", "--json", env=bare).stdout
    assert json.loads(used)["source"] == "profile ci"
    unknown = server.cli("app", "list", "--profile", "nope", env=bare, check=False)
    assert unknown.returncode == 2 and "atoll login --profile nope" in unknown.stderr
    # A tenant token used for an admin command says what is needed instead of a bare 403.
    denied = server.cli("tenant", "list", "--token", token, check=False)
    assert denied.returncode == 1 and "admin token" in denied.stderr


def test_serve_banner_lines_paste_into_a_shell(server: Served, tmp_path: Path) -> None:
    log = server.log.read_text()
    assert f"atoll: control plane {server.url} " in log  # the base URL, not .../api/v1
    [login] = [line.strip() for line in log.splitlines() if line.strip().startswith("atoll login")]
    assert f"--server {server.url}" in login and server.admin_token in login
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    env["PATH"] = f"{ATOLL.parent}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", f"{login} && atoll tenant list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"logged in to {server.url} as the admin (profile admin")
    assert lines[1].split() == ["TENANT", "ISOLATION", "CREATED"]


# --- 7. safety --------------------------------------------------------------------------------


def test_delete_without_a_terminal_needs_yes(server: Served) -> None:
    token = server.tenant("safety")
    server.cli("app", "create", "keep", token=token)
    done = server.cli("app", "delete", "keep", token=token, check=False, stdin="y\nkeep\n")
    assert done.returncode == 2 and "--yes" in done.stderr
    assert [
        a["app"]
        for a in json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"]
    ] == ["keep"]
    server.cli("app", "delete", "keep", "--yes", token=token)
    assert json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"] == []


# --- 8. output ----------------------------------------------------------------------------------


def test_tables_completion_and_no_colour_off_a_terminal(server: Served, tmp_path: Path) -> None:
    token = server.tenant("output")
    server.cli("app", "create", "alpha", token=token)
    server.cli("app", "create", "a-much-longer-name", token=token)
    lines = server.cli("app", "list", token=token).stdout.splitlines()
    assert lines[0].split() == ["APP", "REVISIONS", "CREATED"]
    column = lines[0].index("REVISIONS")
    assert all(line[column - 2 : column] == "  " for line in lines[1:])
    assert all("\033[" not in line for line in lines)
    script = server.cli("completion", "bash").stdout
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'{script}\nCOMP_WORDS=(atoll app cr); COMP_CWORD=2; _atoll; echo "${{COMPREPLY[@]}}"',
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.split() == ["create"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    assert subprocess.run(
        [str(ATOLL), "completion", "fish"], env=env, capture_output=True, text=True, check=True
    ).stdout.startswith("# atoll completion")


def _in_a_terminal(server: Served, token: str, *args: str, typed: str = "") -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; what it showed."""
    import pty
    import select

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOLL_", "NO_COLOR"))}
    env |= {"ATOLL_SERVER": server.url, "ATOLL_TOKEN": token, "TERM": "xterm"}
    env["XDG_CONFIG_HOME"] = str(server.data_dir.parent / "config")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(ATOLL), *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    if typed:
        os.write(leader, typed.encode())
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output from atoll {' '.join(args)}: {shown!r}")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=60), shown.decode("utf-8", "replace")


def test_on_a_terminal_colour_and_confirmation(server: Served) -> None:
    token = server.tenant("terminal")
    server.cli("app", "create", "keep", token=token)
    code, shown = _in_a_terminal(server, token, "app", "list")
    assert code == 0 and "\033[1mAPP" in shown  # a bold header on a terminal
    # Deleting asks for the app's name; a wrong answer deletes nothing.
    code, shown = _in_a_terminal(server, token, "app", "delete", "keep", typed="nope\n")
    assert code == 1 and "Type keep to confirm" in shown and "not deleted" in shown
    assert "keep" in server.cli("app", "list", token=token).stdout
    code, shown = _in_a_terminal(server, token, "app", "delete", "keep", typed="keep\n")
    assert code == 0 and "app keep deleted" in shown
    assert json.loads(server.cli("app", "list", "--json", token=token).stdout)["apps"] == []
