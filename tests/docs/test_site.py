"""``mkdocs build --strict`` builds the site: every page in the nav, every link and anchor
between pages resolving, the generated references rendered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.docs.examples import DOCS, REPO

MKDOCS = Path(sys.executable).parent / "mkdocs"


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "-f", str(config), "--site-dir", str(site)],
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    ran = build(REPO / "mkdocs.yml", tmp_path / "site")
    assert ran.returncode == 0, ran.stderr
    site = tmp_path / "site"
    for page in ("getting-started", "concepts", "functions", "data", "reference/cli"):
        assert (site / page / "index.html").is_file(), page
    sdk = (site / "reference" / "sdk" / "index.html").read_text()
    assert "transaction" in sdk  # mkdocstrings rendered the SDK's docstrings


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The check can fail: a copy of the site with one link to a page that is not there."""
    copy = tmp_path / "copy"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy / "mkdocs.yml")
    (copy / "src").symlink_to(REPO / "src")
    concepts = copy / "docs" / "concepts.md"
    concepts.write_text(concepts.read_text() + "\nSee [the missing page](missing.md).\n")
    ran = build(copy / "mkdocs.yml", tmp_path / "site")
    assert ran.returncode != 0
    assert "missing.md" in ran.stderr
