"""Running the examples of the docs: the code blocks a guide marks with ``{.example}``.

A guide marks a fenced block as an example in its info string, which MkDocs renders as
classes of the block::

    ```bash {.example}                      shell commands, run in order by bash
    ```python {.example}                    a Python snippet, run by the venv's Python
    ```python {.example title="app/f.py"}   a file: written where the title says
    ```json {.example .page}                a page, checked against the page schema
    ```json {.example .node}                one node of a page, checked the same way
    ```bash {.example .background}          a long-running command (``make run``)

The blocks of one page run in order, in one scratch folder, as a reader would type them:
what a shell block exports or where it ``cd``-s carries over to the next one. Ports in
URLs are the defaults a reader sees (``:8000``, ``:8080``, ``:8081``); the session moves
them to free ones, so a test never depends on them being free.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
VENV_BIN = Path(sys.executable).parent
DEFAULT_PORTS = {"port": 8000, "gateway_port": 8080, "db_port": 8081}

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)\s*(?:\{(?P<attrs>[^}]*)\})?\s*$")
_TITLE = re.compile(r'title="([^"]*)"')
SHELLS = {"bash", "sh", "shell"}


class ExampleFailed(AssertionError):
    """An example of a guide did not do what the guide says."""


@dataclass(frozen=True)
class Block:
    """One example block of a page."""

    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    classes: frozenset[str]
    title: str | None
    text: str

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def example_blocks(path: Path, docs: Path = DOCS) -> list[Block]:
    """The example blocks of a Markdown page, in order."""
    blocks: list[Block] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, start = opened["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        attrs = opened["attrs"] or ""
        classes = frozenset(w[1:] for w in attrs.split() if w.startswith("."))
        if "example" not in classes:
            continue
        title = _TITLE.search(attrs)
        blocks.append(
            Block(
                page=path.relative_to(docs).as_posix(),
                line=start + 1,
                lang=opened["lang"] or "text",
                classes=classes,
                title=title[1] if title else None,
                text="\n".join(body) + "\n",
            )
        )
    return blocks


def pages_with_examples(docs: Path = DOCS) -> list[Path]:
    """The guides that hold at least one example."""
    return [p for p in sorted(docs.rglob("*.md")) if example_blocks(p, docs)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_page_json(text: str, where: str) -> None:
    """A page in a guide must be a page the build accepts."""
    from pydantic import ValidationError

    from atoll.sdui.page import Page

    try:
        Page.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise ExampleFailed(f"{where}: the page is not valid: {exc}") from exc


@dataclass
class Session:
    """One reader following one page: a scratch folder, the environment their shell has,
    and what they started in the background."""

    workdir: Path
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # every command's output, for a failure

    @classmethod
    def fresh(cls, workdir: Path, extra_env: dict[str, str] | None = None) -> Session:
        """A reader with a home of their own and free ports for the platform."""
        home = workdir / ".home"
        home.mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in DEFAULT_PORTS}
        env = {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "ATOLL_PORT": str(ports["port"]),
            "ATOLL_GATEWAY_PORT": str(ports["gateway_port"]),
            "ATOLL_DB_PORT": str(ports["db_port"]),
            "ATOLL_SERVER": f"http://127.0.0.1:{ports['port']}",
        }
        for key in ("TMPDIR", "ATOLL_RUNTIME_DIR"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(extra_env or {})
        return cls(workdir, env, ports)

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.ports['port']}"

    def moved(self, text: str) -> str:
        """``text`` with the default ports of its URLs moved to this session's."""
        for name, default in DEFAULT_PORTS.items():
            text = re.sub(
                rf"((?:127\.0\.0\.1|localhost)):{default}\b", rf"\1:{self.ports[name]}", text
            )
        return text

    def run(self, blocks: list[Block]) -> None:
        for block in blocks:
            self.run_block(block)

    def run_block(self, block: Block) -> None:
        if block.title:
            target = (self.cwd() / block.title).resolve()
            if not target.is_relative_to(self.workdir.resolve()):
                raise ExampleFailed(f"{block.where}: {block.title} is outside the folder")
            if block.lang == "json" and "/pages/" in f"/{block.title}":
                check_page_json(block.text, block.where)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, "utf-8")
        elif block.lang in SHELLS and "background" in block.classes:
            self.start(block)
        elif block.lang in SHELLS:
            self.shell(block)
        elif block.lang == "python":
            self.python(block)
        elif block.lang == "json" and "page" in block.classes:
            check_page_json(block.text, block.where)
        elif block.lang == "json" and "node" in block.classes:
            check_page_json(f'{{"schemaVersion": 1, "root": {block.text}}}', block.where)
        else:
            raise ExampleFailed(f"{block.where}: no way to run a {block.lang!r} example")

    # The shell's state between blocks: its folder and its exported variables.
    def _state(self) -> Path:
        return self.workdir / ".shell-state"

    def cwd(self) -> Path:
        saved = self.workdir / ".shell-cwd"
        return Path(saved.read_text().strip()) if saved.is_file() else self.workdir

    def shell(self, block: Block, timeout: float = 600) -> str:
        script = "\n".join(
            [
                f"[ -f {shlex.quote(str(self._state()))} ] && . {shlex.quote(str(self._state()))}",
                f"cd {shlex.quote(str(self.cwd()))}",
                "set -euo pipefail",
                f"trap 'pwd > {shlex.quote(str(self.workdir / '.shell-cwd'))}; "
                f"export -p > {shlex.quote(str(self._state()))}' EXIT",
                self.moved(block.text),
            ]
        )
        ran = subprocess.run(
            ["bash", "-c", script],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = ran.stdout + ran.stderr
        self.log.append(f"$ {block.text.strip()}\n{output}")
        if ran.returncode != 0:
            raise ExampleFailed(
                f"{block.where}: exit {ran.returncode}\n{block.text}\n--- output ---\n{output}"
            )
        return ran.stdout

    def python(self, block: Block) -> None:
        ran = subprocess.run(
            [sys.executable, "-c", self.moved(block.text)],
            cwd=self.cwd(),
            env={**self.env, **self._exported()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.log.append(f">>> {block.text.strip()}\n{ran.stdout}{ran.stderr}")
        if ran.returncode != 0:
            raise ExampleFailed(f"{block.where}: {ran.stderr or ran.stdout}")

    def _exported(self) -> dict[str, str]:
        """The variables the reader's shell exported so far (for a Python snippet)."""
        if not self._state().is_file():
            return {}
        dumped = subprocess.run(
            ["bash", "-c", f". {shlex.quote(str(self._state()))}; env -0"],
            env=self.env,
            capture_output=True,
            check=True,
        ).stdout
        pairs = (item.split(b"=", 1) for item in dumped.split(b"\0") if b"=" in item)
        return {k.decode(): v.decode() for k, v in pairs}

    def start(self, block: Block) -> None:
        """A command that keeps running (the platform): started, and waited for until the
        control plane answers and, with the demo, its tenant's token is there."""
        with (self.workdir / ".background.log").open("ab") as out:
            proc = subprocess.Popen(
                ["bash", "-c", self.moved(block.text)],
                cwd=self.cwd(),
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.background.append(proc)
        demo = "make run" in block.text or "--demo" in block.text
        token = Path(self.env.get("ATOLL_DATA_DIR", self.cwd() / ".atoll")) / "demo.token"
        deadline = time.monotonic() + 900  # the first `make run` may install everything
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ExampleFailed(f"{block.where}: it stopped: {self.background_log()}")
            try:
                up = httpx.get(self.server + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                up = False
            if up and (not demo or token.is_file()):
                return
            time.sleep(0.2)
        raise ExampleFailed(f"{block.where}: never came up: {self.background_log()}")

    def background_log(self) -> str:
        path = self.workdir / ".background.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.is_file() else ""

    def start_server(self) -> None:
        """The platform for a guide that does not start it itself, as Getting started leaves
        it: ``atoll serve --demo`` on a fresh data dir, the demo tenant's token in
        ``ATOLL_TOKEN``."""
        data = self.workdir / ".atoll"
        self.env["ATOLL_DATA_DIR"] = str(data)
        self.start(Block("(session)", 0, "bash", frozenset(), None, "atoll serve --demo"))
        self.env["ATOLL_TOKEN"] = (data / "demo.token").read_text().strip()

    def close(self) -> None:
        for proc in self.background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
