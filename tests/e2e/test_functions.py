"""Functions through a real ``atoll serve``: invoke via the CLI, logs, follow."""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path

from tests.e2e.conftest import ATOLL, Served

HELLO = """
import atoll


def get(name: str = "world") -> dict[str, str]:
    print(f"greeting {name}")
    atoll.log.info("greeted", who=name)
    return {"hello": name}


def post(body: dict) -> dict:
    return {"echo": body}
"""


def _app(served: Served, tmp_path: Path) -> str:
    token: str = served.tenant("acme")
    src = tmp_path / "src"
    (src / "functions").mkdir(parents=True)
    (src / "atoll.toml").write_text('name = "shop"\n')
    (src / "functions" / "hello.py").write_text(HELLO)
    served.cli("app", "create", "shop", "--from", str(src), token=token)
    return token


def test_invoke_and_logs(served: Served, tmp_path: Path) -> None:
    token = _app(served, tmp_path)
    got = json.loads(
        served.cli("invoke", "shop", "hello", "-q", "name=cli", "--json", token=token).stdout
    )
    assert got == {"status": 200, "body": {"hello": "cli"}}
    posted = served.cli(
        "invoke", "shop", "hello", "--method", "POST", "--data", '{"a": [1, 2]}', token=token
    )
    assert json.loads(posted.stdout) == {"echo": {"a": [1, 2]}}
    missing = served.cli("invoke", "shop", "nope", token=token, check=False)
    assert missing.returncode == 1 and "404" in missing.stderr
    bad = served.cli("invoke", "shop", "hello", "--data", "{not json", token=token, check=False)
    assert bad.returncode == 2

    entries = [
        json.loads(line)
        for line in served.cli("logs", "--app", "shop", "--json", token=token).stdout.splitlines()
    ]
    greeted = [e for e in entries if e.get("function") == "hello" and e.get("method") == "GET"]
    assert greeted and "greeting cli" in greeted[0]["stdout"]
    assert "greeted" in json.dumps(greeted[0]["logs"])
    human = served.cli("logs", "--app", "shop", token=token).stdout
    assert "greeting cli" in human


def test_logs_follow_streams_new_entries(served: Served, tmp_path: Path) -> None:
    token = _app(served, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    env |= {"ATOLL_SERVER": served.url, "ATOLL_TOKEN": token}
    with subprocess.Popen(
        [str(ATOLL), "logs", "--app", "shop", "--follow", "--json", "--limit", "0"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        try:
            assert follower.stdout is not None
            # The follower may subscribe after the first call: call until one is streamed.
            for attempt in range(10):
                served.cli("invoke", "shop", "hello", "-q", f"name=live{attempt}", token=token)
                ready, _, _ = select.select([follower.stdout], [], [], 3)
                if ready:
                    break
            assert ready, "no log entry was streamed"
            entry = json.loads(follower.stdout.readline())
            assert "greeting live" in entry["stdout"]
        finally:
            follower.terminate()
            follower.wait(10)
