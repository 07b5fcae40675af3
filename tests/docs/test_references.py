"""The generated references match the code, and the check fails when they do not."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from atoll.cli import _commands
from atoll.docsgen import Reference, check, write
from atoll.docsgen.cli import PATH as CLI_PATH
from atoll.docsgen.page_schema import examples
from atoll.sdui import Page, page_json_schema

REPO = Path(__file__).resolve().parents[2]


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    """``python -m atoll.docsgen check`` on ``root``, with ``root/src`` as the code."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [sys.executable, "-m", "atoll.docsgen", "check", "--root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def replace_once(path: Path, old: str, new: str) -> None:
    """Edit a file of the scratch copy, failing loudly if ``old`` is not there once."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} in {path}"
    path.write_text(text.replace(old, new))


def test_the_committed_references_are_up_to_date() -> None:
    """Run `python -m atoll.docsgen write` after changing the API, CLI, schema, SDK or JSDoc."""
    done = run_check(REPO)
    assert done.returncode == 0, done.stderr


def test_check_names_each_reference_a_change_made_stale(tmp_path: Path) -> None:
    # One scratch copy with three unrelated changes, so one run of the (slow) check shows
    # that each is caught, and caught only in its own reference.
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("src", "web", "docs"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    (root / "node_modules").symlink_to(REPO / "node_modules")
    replace_once(
        root / "src/atoll/cli/releases.py",
        'Arg("--notes", default="", metavar="TEXT", help="what this release is")',
        'Arg("--note", default="", metavar="TEXT", help="what this release is")',
    )
    replace_once(
        root / "src/atoll/sdui/nodes.py", "    wrap: bool = False\n", "    wraps: bool = False\n"
    )
    replace_once(
        root / "web/runtime/ui.js",
        "The component's ShadowRoot (null outside Atoll).",
        "The component's shadow root (null outside Atoll).",
    )

    done = run_check(root)

    assert done.returncode == 1
    named = {line.split(":")[0] for line in done.stderr.splitlines() if line.startswith("docs/")}
    assert named == {
        "docs/reference/cli.md",
        "docs/reference/page-schema.md",
        "docs/gallery/Row.md",
        "docs/reference/javascript/@atoll/ui.md",
    }
    assert "python -m atoll.docsgen write" in done.stderr


def test_check_reports_missing_and_leftover_files(tmp_path: Path) -> None:
    page = Reference("docs/one.md", "One", lambda _root: {"docs/one.md": "one\n"})
    folder = Reference(
        "docs/many/index.md",
        "Many",
        lambda _root: {"docs/many/index.md": "index\n"},
        owns=("docs/many",),
    )
    refs = (page, folder)
    assert [(s.path, s.reason) for s in check(tmp_path, refs)] == [
        ("docs/many/index.md", "missing"),
        ("docs/one.md", "missing"),
    ]
    (tmp_path / "docs/many").mkdir(parents=True)
    (tmp_path / "docs/many/old.md").write_text("a page no longer generated\n")
    (tmp_path / "docs/one.md").write_text("edited by hand\n")
    assert [(s.path, s.reason) for s in check(tmp_path, refs)] == [
        ("docs/many/index.md", "missing"),
        ("docs/one.md", "differs"),
        ("docs/many/old.md", "not generated any more"),
    ]
    assert write(tmp_path, refs) == ["docs/many/index.md", "docs/many/old.md", "docs/one.md"]
    assert check(tmp_path, refs) == []
    assert not (tmp_path / "docs/many/old.md").exists()


EXAMPLES = examples()


@functools.cache
def page_validator() -> jsonschema.Draft202012Validator:
    """A validator of the page JSON Schema, built once."""
    return jsonschema.Draft202012Validator(page_json_schema())


@pytest.mark.parametrize("document", [d for _, d in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_every_page_schema_example_is_a_valid_page(document: dict[str, object]) -> None:
    page_validator().validate(document)
    Page.model_validate(document)


def test_the_page_schema_reference_has_an_example_of_every_action() -> None:
    labels = {label for label, _ in EXAMPLES}
    assert {"action call", "action setState", "action refresh", "action navigate"} <= labels
    assert {"action message", "data source", "page", "node Component"} <= labels


def test_the_cli_reference_shows_every_command_and_option() -> None:
    text = (REPO / CLI_PATH).read_text()
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n### atoll ")[1:]}
    for command in _commands():
        assert command.name in sections, command.name
        for arg in command.args:
            shown = arg.options.get("metavar") or arg.flags[0].lstrip("-")
            assert arg.flags[0] in sections[command.name] or shown in sections[command.name]


def test_the_references_name_no_local_path() -> None:
    for path in (REPO / "docs/reference").rglob("*.md"):
        text = path.read_text()
        assert str(REPO) not in text and "/tmp/" not in text, path
        assert text.startswith("<!-- generated by `python -m atoll.docsgen write`; do not edit -->")
