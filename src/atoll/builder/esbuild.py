"""Calling esbuild (through ``driver.mjs`` under Node) and translating its messages."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atoll.errors import AtollError, BuildFailed

DRIVER = Path(__file__).with_name("driver.mjs")
REPO_ROOT = Path(__file__).resolve().parents[3]
DRIVER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class BuildMessage:
    """One esbuild error or warning, pointing at a file and line when it knows them."""

    text: str
    file: str | None = None
    line: int | None = None
    column: int | None = None  # 0-based, as esbuild counts
    line_text: str | None = None

    @classmethod
    def from_driver(cls, raw: dict[str, Any], prefix: str = "") -> BuildMessage:
        """Build from the driver's JSON, making the file relative to ``prefix``."""
        file = raw.get("file")
        if file and prefix and file.startswith(prefix):
            file = file[len(prefix) :].lstrip("/")
        notes = [n for n in raw.get("notes", []) if n]
        text = raw.get("text", "") + (f" ({notes[0]})" if notes else "")
        return cls(text, file, raw.get("line"), raw.get("column"), raw.get("lineText"))

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}:{(self.column or 0) + 1}: {self.text}"
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as put in ``BuildFailed.detail["errors"]`` (column 1-based)."""
        column = None if self.column is None else self.column + 1
        return {"file": self.file, "line": self.line, "column": column, "message": self.text}


def build_failed(summary: str, messages: list[BuildMessage]) -> BuildFailed:
    """A ``BuildFailed`` whose message shows the first problems as ``file:line: text``."""
    shown = "; ".join(str(m) for m in messages[:3])
    more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
    return BuildFailed(
        f"{summary}: {shown}{more}" if shown else summary,
        errors=[m.to_dict() for m in messages],
    )


def find_node_modules(start: Path | None = None) -> Path:
    """The ``node_modules`` folder holding esbuild and React (the repository's by default)."""
    candidates = [start] if start is not None else [REPO_ROOT / "node_modules"]
    for candidate in candidates:
        if candidate is not None and (candidate / "esbuild" / "package.json").is_file():
            return candidate
    raise AtollError("esbuild is not installed; run `npm ci` at the repository root")


def run_driver(request: dict[str, Any], node_modules: Path) -> dict[str, Any]:
    """Send one request to the esbuild driver and return its JSON reply."""
    node = shutil.which("node")
    if node is None:
        raise AtollError("node is not installed; the builder needs Node 20+")
    payload = json.dumps({**request, "nodeModules": str(node_modules)})
    try:
        proc = subprocess.run(
            [node, str(DRIVER)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"esbuild took longer than {DRIVER_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        raise AtollError(f"esbuild driver failed: {proc.stderr.strip()[-2000:]}")
    reply: dict[str, Any] = json.loads(proc.stdout)
    return reply
