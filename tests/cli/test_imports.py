"""The CLI starts for every command: it must not load the platform or heavy libraries."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from atoll.cli import EXIT_UNREACHABLE

HEAVY = [
    "atoll.api",
    "atoll.gateway",
    "atoll.runtime",
    "atoll.store",
    "atoll.builder",
    "atoll.dbservice",
    "atoll.sdui",
    "atoll.server",
    "atoll.config",
    "atoll.workspace.workspaces",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "typer",
    "click",
    "rich",
]

# Runs in a fresh interpreter: the code (the argv for ``run``, or none), then prints a JSON
# object with the exit code and every loaded module that is, or is inside, a heavy one.
PROBE = """
import json, sys
heavy = json.loads(sys.argv[1])
argv = json.loads(sys.argv[2])
import atoll.cli
code = None
if argv is not None:
    try:
        code = atoll.cli.run(argv)
    except SystemExit as exc:
        code = exc.code
sys.stdout.flush()
loaded = sorted(
    m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
)
print("\\n" + json.dumps({"code": code, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def refused() -> Iterator[str]:
    """A server URL whose port refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def probe(argv: list[str] | None) -> tuple[object, list[str], str]:
    """Run ``atoll.cli`` in a subprocess: (exit code, heavy modules loaded, stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], report["loaded"], done.stderr


def test_the_probe_sees_a_heavy_import() -> None:
    # The check itself must be able to fail: loading the platform's config is caught.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.replace("import atoll.cli\n", "import atoll.cli, atoll.config\n"),
            json.dumps(HEAVY),
            "null",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])["loaded"]
    assert "atoll.config" in loaded
    assert "pydantic" in loaded


def test_importing_the_cli_loads_nothing_heavy() -> None:
    code, loaded, _ = probe(None)
    assert code is None
    assert loaded == []


def test_a_command_against_a_refused_server_loads_nothing_heavy(refused: str) -> None:
    code, loaded, err = probe(["app", "list", "--server", refused, "--token", "x"])
    assert code == EXIT_UNREACHABLE
    assert "cannot reach" in err
    assert loaded == []


def test_invoke_against_a_refused_server_loads_nothing_heavy(refused: str) -> None:
    argv = [
        "invoke",
        "a",
        "f",
        "--data",
        '{"x": 1}',
        "-q",
        "k=v",
        "--server",
        refused,
        "--token",
        "x",
    ]
    code, loaded, err = probe(argv)
    assert code == EXIT_UNREACHABLE
    assert "cannot reach" in err
    assert loaded == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], 0),
        (["app", "list", "--help"], 0),
        (["--help", "push"], 0),
        (["db"], 2),
        (["completion", "bash"], 0),
        (["pussh"], 2),
    ],
    ids=["help", "command-help", "help-command", "group", "completion", "usage-error"],
)
def test_help_and_usage_load_nothing_heavy(argv: list[str], expected: int) -> None:
    code, loaded, _ = probe(argv)
    assert code == expected
    assert loaded == []
