"""``docs/reference/javascript/``: the browser runtime's JavaScript API, by TypeDoc from JSDoc.

TypeDoc (with typedoc-plugin-markdown) runs once per generation, from the repository's
``node_modules``, on the public modules of ``web/runtime``; its TypeScript settings are in
``web/tsconfig.docs.json``. Source links are off, so the output names no commit or path.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from atoll.docsgen.markdown import HEADER
from atoll.errors import AtollError

FOLDER = "docs/reference/javascript"
TITLE = "JavaScript API"
TSCONFIG = "web/tsconfig.docs.json"
TYPEDOC = "node_modules/typedoc/bin/typedoc"
# What tenant components import (ui.js as @atoll/ui, component-host.js for their props), the
# runtime's entry and what it re-exports, calling functions, and the IDE preview's protocol.
ENTRY_POINTS = (
    "web/runtime/ui.js",
    "web/runtime/component-host.js",
    "web/runtime/main.js",
    "web/runtime/expr.js",
    "web/runtime/api.js",
    "web/runtime/dev.js",
)
TIMEOUT_SECONDS = 120


class TypeDocFailed(AtollError):
    """TypeDoc could not run, or did not produce the reference."""


def typedoc_command(root: Path, out: Path) -> list[str]:
    """The TypeDoc command line that writes the reference into ``out``."""
    node = shutil.which("node")
    if node is None:
        raise TypeDocFailed("node is not on PATH (the JavaScript reference needs TypeDoc)")
    typedoc = root / TYPEDOC
    if not typedoc.is_file():
        raise TypeDocFailed(f"{TYPEDOC} is missing under {root}: run `make jsdeps`")
    return [
        node, str(typedoc),
        "--tsconfig", str(root / TSCONFIG),
        "--plugin", "typedoc-plugin-markdown",
        "--out", str(out),
        "--name", TITLE,
        "--readme", "none",
        "--disableSources",
        "--skipErrorChecking",
        "--outputFileStrategy", "modules",
        "--entryFileName", "index.md",
        "--hidePageHeader",
        "--hideBreadcrumbs",
        "--logLevel", "Warn",
        "--entryPoints", *(str(root / e) for e in ENTRY_POINTS),
    ]  # fmt: skip


def render(root: Path) -> dict[str, str]:
    """The JavaScript reference pages, by path under the repository root."""
    with tempfile.TemporaryDirectory(prefix="atoll-typedoc-") as tmp:
        out = Path(tmp) / "out"
        try:
            done = subprocess.run(
                typedoc_command(root, out),
                cwd=root,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TypeDocFailed(f"TypeDoc took over {TIMEOUT_SECONDS} s") from exc
        if done.returncode != 0 or not (out / "index.md").is_file():
            raise TypeDocFailed(f"TypeDoc failed: {(done.stdout + done.stderr).strip()}")
        return {
            f"{FOLDER}/{path.relative_to(out).as_posix()}": f"{HEADER}\n\n"
            + mkdocs_anchors(path.read_text())
            for path in sorted(out.rglob("*.md"))
        }


def mkdocs_anchors(text: str) -> str:
    """TypeDoc numbers a repeated heading's anchor GitHub's way (``#page-1``); MkDocs, like
    Python-Markdown's toc, numbers it ``#page_1``."""
    return re.sub(r"\]\((#[\w-]+?)-(\d+)\)", r"](\1_\2)", text)
