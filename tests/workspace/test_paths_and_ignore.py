"""Pure workspace rules: path safety, ignore patterns, tree diffs."""

from __future__ import annotations

import pytest

from atoll.errors import InvalidPath, LimitExceeded
from atoll.workspace import IgnoreRules, check_path, diff_trees


@pytest.mark.parametrize(
    "path", ["a.txt", "pages/index.json", "ünïcode/文件.md", "a b/c-d_e.f", "..hidden-ish"]
)
def test_safe_paths(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path",
    ["", "/abs", "../x", "a/../b", "a/./b", "a//b", "a/", "a\\b", "a\x00b", "a\nb", "\udc80"],
)
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(InvalidPath):
        check_path(path)


def test_path_length_limit() -> None:
    with pytest.raises(LimitExceeded):
        check_path("a/" * 600 + "b")
    with pytest.raises(InvalidPath):
        check_path("x" * 300)


def test_default_ignores() -> None:
    rules = IgnoreRules()
    for path in (
        "node_modules/react/index.js",
        ".venv/bin/python",
        "a/__pycache__/x.pyc",
        ".env",
        "pages/.DS_Store",
        ".git/config",
    ):
        assert rules.is_ignored(path), path
    for path in ("pages/index.json", "functions/todos.py", "venvy/x"):
        assert not rules.is_ignored(path), path


def test_ignore_file_patterns() -> None:
    rules = IgnoreRules.parse("# comment\n*.log\nbuild/\n/docs/*.pdf\n")
    assert rules.is_ignored("debug.log")
    assert rules.is_ignored("a/b/debug.log")
    assert rules.is_ignored("build", is_dir=True)
    assert rules.is_ignored("build/out.js")
    assert not rules.is_ignored("build")  # a file named build is not a build/ folder
    assert rules.is_ignored("docs/manual.pdf")
    assert not rules.is_ignored("other/docs/manual.pdf")
    assert not rules.is_ignored("main.py")


def test_diff_trees() -> None:
    old = {"a": ("1" * 64, 1), "b": ("2" * 64, 1), "c": ("3" * 64, 1)}
    new = {"a": ("1" * 64, 1), "b": ("9" * 64, 1), "d": ("4" * 64, 1)}
    got = [(c.path, c.status) for c in diff_trees(old, new)]
    assert got == [("b", "modified"), ("c", "removed"), ("d", "added")]
    assert diff_trees(old, old) == []
