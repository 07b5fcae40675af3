"""A real ``atoll serve`` process on free ports with a temp data dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.agent.fake_llm import Answer, fake_llm

ATOLL = Path(sys.executable).parent / "atoll"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    """A running platform and how to reach it."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    url: str
    gateway_port: int
    db_port: int
    log: Path

    @property
    def admin_token(self) -> str:
        """The bootstrap admin token the server wrote."""
        return (self.data_dir / "admin.token").read_text().strip()

    def tenant(self, name: str) -> str:
        """A new tenant made with the admin token (``atoll tenant create``); its token."""
        created = self.cli("--json", "tenant", "create", name, token=self.admin_token)
        token: str = json.loads(created.stdout)["token"]
        return token

    def cli(
        self,
        *args: str,
        token: str | None = None,
        check: bool = True,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``atoll`` CLI against this server, as a user would: no terminal, its own
        config dir (no profiles unless a test logs in), ``env`` added to the environment."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
        full["ATOLL_SERVER"] = self.url
        full["XDG_CONFIG_HOME"] = str(self.data_dir.parent / "config")
        if token:
            full["ATOLL_TOKEN"] = token
        full.update(env or {})
        done = subprocess.run(
            [str(ATOLL), *args],
            env=full,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=cwd,
            input=stdin if stdin is not None else "",
        )
        if check and done.returncode != 0:
            raise AssertionError(f"atoll {' '.join(args)} failed: {done.stderr}")
        return done


def start_server(data_dir: Path, log: Path, *extra: str) -> Served:
    """Start ``atoll serve`` and wait until it answers."""
    port, gw, db = free_port(), free_port(), free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(ATOLL),
                "serve",
                "--port",
                str(port),
                "--gateway-port",
                str(gw),
                "--db-port",
                str(db),
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"atoll serve exited: {log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return Served(proc, data_dir, url, gw, db, log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise AssertionError(f"atoll serve did not come up: {log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A running ``atoll serve --demo``."""
    s = start_server(tmp_path / "data", tmp_path / "serve.log", "--demo")
    yield s
    stop_server(s.process)


@pytest.fixture
def with_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Served, list[Answer]]]:
    """A running ``atoll serve`` whose model is a scripted chat-completions server: the
    server, and the answers it still has to give (a test appends them)."""
    answers: list[Answer] = []
    with fake_llm(answers) as (url, _script):
        monkeypatch.setenv("ATOLL_LLM_BASE_URL", url)
        monkeypatch.setenv("ATOLL_LLM_MODEL", "fake")
        server = start_server(tmp_path / "data", tmp_path / "server.log")
        try:
            yield server, answers
        finally:
            stop_server(server.process)
