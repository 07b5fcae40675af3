"""Config vars and secrets through the installed CLI against a real ``atoll serve`` (issue
11): a secret set in prod reaches the function (``os.environ`` and ``atoll.vars``) and
appears in no log, API listing or CLI output; a change is served at once."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Served, start_server, stop_server

SECRET = "pr0d-Secret-7c41e9"
PEEK = """import hashlib
import os

import atoll


def _digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def get():
    key = atoll.vars.get("API_KEY")
    print("printing the key:", key)
    atoll.log.info("logging the key: " + str(key), key=key)
    return {
        "env": atoll.env,
        "environ": _digest(os.environ.get("API_KEY")),
        "sdk": _digest(key),
        "greeting": os.environ.get("GREETING"),
    }


def post():
    raise RuntimeError("failing with the key " + atoll.vars["API_KEY"])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module."""
    root = tmp_path_factory.mktemp("vars")
    s = start_server(root / "data", root / "serve.log")
    yield s
    stop_server(s.process)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_a_prod_secret_reaches_the_function_and_shows_nowhere(
    server: Served, tmp_path: Path
) -> None:
    token = server.tenant("keeper")
    src = tmp_path / "shop"
    (src / "functions").mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "shop"\n')
    (src / "functions" / "peek.py").write_text(PEEK)
    outputs: list[subprocess.CompletedProcess[str]] = []

    def cli(
        *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = server.cli(*args, token=token, check=check, stdin=stdin)
        outputs.append(done)
        return done

    cli("app", "create", "shop", "--from", str(src))
    cli("release", "create", "--app", "shop")
    # Vars set before the first promotion are there when prod starts serving.
    cli("vars", "set", "GREETING=hello", "--app", "shop", "--env", "prod")
    cli("promote", "--app", "shop", "--to", "prod")
    # The secret comes from stdin: it is in no command line (nor shell history).
    made = cli("vars", "set", "API_KEY=-", "--secret", "--app", "shop", "--env", "prod",
               stdin=SECRET + "\n")  # fmt: skip
    assert made.stdout.strip() == "prod: set API_KEY (secret); vars are at version 2"

    def invoke(env: str, method: str = "GET") -> dict[str, object]:
        done = cli(
            "--json", "invoke", "shop", "peek", "--env", env, "--method", method, check=False
        )
        got: dict[str, object] = json.loads(done.stdout)
        return got

    answer = invoke("prod")
    assert answer["status"] == 200, answer
    assert answer["body"] == {
        "env": "prod",
        "environ": _digest(SECRET),
        "sdk": _digest(SECRET),
        "greeting": "hello",
    }
    # dev has vars of its own (none).
    dev = invoke("dev")["body"]
    assert isinstance(dev, dict) and (dev["sdk"], dev["greeting"]) == (None, None)

    failed = invoke("prod", "POST")
    assert failed["status"] == 500
    assert "RuntimeError: failing with the key ***" in json.dumps(failed["body"])

    # A change is served from the next request on, in prod as in every environment.
    cli("vars", "set", "GREETING=changed", "--app", "shop", "--env", "prod")
    again = invoke("prod")["body"]
    assert isinstance(again, dict) and again["greeting"] == "changed"
    assert again["sdk"] == _digest(SECRET)
    cli("vars", "set", "GREETING=dev-hello", "--app", "shop", "--env", "dev")
    in_dev = invoke("dev")["body"]
    assert isinstance(in_dev, dict) and in_dev["greeting"] == "dev-hello"

    # What the function printed and logged, through every way of reading logs: masked.
    human_logs = cli("logs", "--app", "shop", "--env", "prod").stdout
    json_logs = cli("--json", "logs", "--app", "shop", "--env", "prod").stdout
    assert "printing the key: ***" in human_logs + json_logs
    assert "logging the key: ***" in json_logs

    listed = cli("vars", "list", "--app", "shop", "--env", "prod").stdout
    rows = {line.split()[0]: line.split()[1] for line in listed.splitlines()[2:]}
    assert rows == {"API_KEY": "••••••", "GREETING": "changed"}, listed
    as_json = json.loads(cli("--json", "vars", "list", "--app", "shop", "--env", "prod").stdout)
    assert {v["key"]: v["value"] for v in as_json["vars"]} == {
        "API_KEY": None,
        "GREETING": "changed",
    }
    api = httpx.get(
        f"{server.url}/api/v1/apps/shop/envs/prod/vars",
        headers={"Authorization": f"Bearer {token}"},
    )
    history = httpx.get(
        f"{server.url}/api/v1/apps/shop/envs/prod/vars/history",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == history.status_code == 200

    # Mistakes are one line, and a mistyped secret is not echoed.
    typo = cli("vars", "set", SECRET, "--app", "shop", "--env", "prod", check=False)
    assert typo.returncode == 2 and len(typo.stderr.strip().splitlines()) == 1
    for key, says in (("lower", "invalid var name"), ("PATH", "reserved")):
        refused = cli("vars", "set", f"{key}={SECRET}", "--app", "shop", "--env", "prod",
                      check=False)  # fmt: skip
        assert refused.returncode == 1 and says in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    unset = cli("vars", "unset", "API_KEY", "--app", "shop", "--env", "prod")
    assert unset.stdout.strip() == "prod: unset API_KEY; vars are at version 4"
    missing = cli("vars", "unset", "API_KEY", "--app", "shop", "--env", "prod", check=False)
    assert missing.returncode == 1 and "prod has no var API_KEY" in missing.stderr

    for done in outputs:
        assert SECRET not in done.stdout + done.stderr, done.args
    assert SECRET not in api.text + history.text
    kept = server.data_dir / "logs" / "keeper" / "shop" / "prod.jsonl"
    assert "printing the key: ***" in kept.read_text()  # the log file was written, masked
    for path in [server.log, *(server.data_dir / "logs").rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
