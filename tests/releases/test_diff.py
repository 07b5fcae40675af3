"""What differs between two releases, computed from two revision trees (no server)."""

from __future__ import annotations

import pytest

from atoll.releases import diff as diff_module
from atoll.releases.diff import (
    ConfigDifference,
    DependencyDifference,
    FileDifference,
    MigrationDifference,
    diff_config,
    diff_dependencies,
    diff_releases,
    dotted_key,
    flatten_config,
)
from atoll.workspace.blobs import sha256_hex
from atoll.workspace.diff import Tree


class Files:
    """Trees built from file contents, and the blob reader the diff is handed."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.reads: list[str] = []

    def tree(self, files: dict[str, str | bytes]) -> Tree:
        """A revision tree of ``files``."""
        tree: Tree = {}
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            sha = sha256_hex(data)
            self.blobs[sha] = data
            tree[path] = (sha, len(data))
        return tree

    def read(self, sha: str) -> bytes:
        """A blob's content (counted, to show what the diff reads)."""
        self.reads.append(sha)
        return self.blobs[sha]


V1 = {
    "atoll.toml": (
        'name = "shop"\n[limits]\nmemory_mb = 256\n[python]\ndependencies = ["requests>=2.0"]\n'
    ),
    "functions/hello.py": "def get():\n    return 1\n",
    "pages/index.json": '{"title": "Shop"}\n',
    "migrations/0001_init.sql": "CREATE TABLE t (x);\n",
    "static/logo.png": b"\x89PNG\x00\x01\x02",
}


def test_the_same_tree_twice_differs_in_nothing() -> None:
    files = Files()
    tree = files.tree(V1)
    found = diff_releases(tree, tree, files.read, patch=True)
    assert found.empty and found.notes == ()
    assert files.reads == []  # nothing differs, so nothing is read


def test_files_migrations_dependencies_and_config_that_differ() -> None:
    files = Files()
    v2 = dict(V1)
    v2["functions/hello.py"] = "def get():\n    return 2\n"
    v2["pages/about.json"] = '{"title": "About"}\n'
    del v2["static/logo.png"]
    v2["migrations/0002_drop.sql"] = "DROP TABLE t;\n"
    v2["migrations/0001_init.sql"] = "CREATE TABLE t (x, y);\n"
    v2["atoll.toml"] = (
        'name = "shop"\n[limits]\nmemory_mb = 512\n[egress]\nallow = ["api.example.com:443"]\n'
        '[python]\ndependencies = ["requests>=2.31", "Pillow"]\n'
    )
    found = diff_releases(files.tree(V1), files.tree(v2), files.read)

    by_path = {f.path: f for f in found.files}
    assert sorted(by_path) == [
        "atoll.toml",
        "functions/hello.py",
        "migrations/0001_init.sql",
        "migrations/0002_drop.sql",
        "pages/about.json",
        "static/logo.png",
    ]
    assert by_path["functions/hello.py"] == FileDifference(
        "functions/hello.py", "modified", 24, 24, None
    )
    assert by_path["pages/about.json"].status == "added"
    assert (by_path["pages/about.json"].old_size, by_path["pages/about.json"].new_size) == (
        None,
        19,
    )
    assert by_path["static/logo.png"] == FileDifference("static/logo.png", "removed", 7, None)
    assert all(f.patch is None for f in found.files)  # not asked for

    assert found.migrations == (
        MigrationDifference("migrations/0001_init.sql", "changed", "additive"),
        MigrationDifference("migrations/0002_drop.sql", "added", "destructive"),
    )
    assert found.dependencies == (
        DependencyDifference("pillow", "added", None, "pillow"),
        DependencyDifference("requests", "changed", "requests>=2.0", "requests>=2.31"),
    )
    assert found.config == (
        ConfigDifference("egress.allow", None, ["api.example.com:443"]),
        ConfigDifference("limits.memory_mb", 256, 512),
    )
    assert not found.empty


def test_migrations_removed_keep_their_kind_and_only_top_level_sql_counts() -> None:
    files = Files()
    old = files.tree({"migrations/0001_x.sql": "DELETE FROM t;", "migrations/old/a.sql": "x"})
    new = files.tree({"migrations/README.md": "notes", "migrations/sub/0002_y.sql": "DROP t"})
    found = diff_releases(old, new, files.read)
    assert found.migrations == (
        MigrationDifference("migrations/0001_x.sql", "removed", "destructive"),
    )
    assert len(found.files) == 4


def test_patches_on_request_text_binary_too_large_and_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    files = Files()
    old = files.tree({"a.txt": "one\n", "logo.png": b"\x00\x01", "big.txt": "x" * 70_000})
    new = files.tree(
        {
            "a.txt": "two\n",
            "logo.png": b"\x00\x02\x03",
            "big.txt": "y" * 70_000,
            "latin1.txt": "caf\xe9".encode("latin-1"),
        }
    )
    found = {f.path: f.patch for f in diff_releases(old, new, files.read, patch=True).files}
    assert found["a.txt"] == "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"
    assert found["logo.png"] == "binary, 3 bytes"
    assert found["latin1.txt"] == "binary, 4 bytes"  # not UTF-8: not text
    assert found["big.txt"] == "not shown: too large to diff, 70000 bytes"
    ends = files.tree({"a.txt": "x\ny"})  # no newline at the end: marked, not run on
    marked = diff_releases(new, ends, files.read, patch=True).files[0].patch
    assert (
        marked
        == "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n-two\n+x\n+y\n\\ No newline at end of file\n"
    )

    # One patch is cut at PATCH_BYTES, all of them together at PATCHES_BYTES.
    monkeypatch.setattr(diff_module, "PATCH_BYTES", 30)
    monkeypatch.setattr(diff_module, "PATCHES_BYTES", 40)
    old = files.tree({"a.txt": "one\n" * 10, "b.txt": "b\n"})
    new = files.tree({"a.txt": "two\n" * 10, "b.txt": "c\n"})
    cut = {f.path: f.patch for f in diff_releases(old, new, files.read, patch=True).files}
    assert cut["a.txt"] is not None and cut["a.txt"].startswith("--- a/a.txt\n+++ b/a.txt")
    assert "(cut: the patch is " in cut["a.txt"]
    assert cut["b.txt"] == "not shown: the patches of this diff reached 40 bytes"


def test_an_atoll_toml_that_does_not_parse_is_a_note_not_an_error() -> None:
    files = Files()
    old = files.tree({"atoll.toml": "[limits]\nmemory_mb = 256\n"})
    new = files.tree({"atoll.toml": "[limits\nmemory_mb = "})
    found = diff_releases(old, new, files.read, names=("v1", "v2"))
    assert found.config == () and found.dependencies == ()
    assert len(found.notes) == 1 and found.notes[0].startswith("v2's atoll.toml does not parse")
    assert [f.path for f in found.files] == ["atoll.toml"]
    binary = files.tree({"atoll.toml": b"\xff\xfe"})
    notes = diff_releases(binary, old, files.read, names=("v1", "v2")).notes
    assert notes[0].startswith("v1's atoll.toml does not parse")


def test_an_atoll_toml_added_or_removed_compares_with_the_defaults() -> None:
    files = Files()
    new = files.tree({"atoll.toml": '[python]\ndependencies = ["httpx"]\n'})
    found = diff_releases({}, new, files.read)
    assert found.dependencies == (DependencyDifference("httpx", "added", None, "httpx"),)
    assert found.config == ()  # dependencies are not config; an empty table sets nothing
    gone = diff_releases(new, {}, files.read)
    assert gone.dependencies == (DependencyDifference("httpx", "removed", "httpx", None),)


def test_dependencies_by_normalized_name_with_odd_entries() -> None:
    old = {
        "python": {
            "dependencies": ["Foo_Bar>=1", "not a requirement!", 3, "baz; python_version<'3'"]
        }
    }
    new = {"python": {"dependencies": ["foo-bar>=1", "baz; python_version<'3'", "baz>=2"]}}
    assert diff_dependencies(old, new) == (
        DependencyDifference(
            "baz", "changed", 'baz; python_version < "3"', 'baz; python_version < "3", baz>=2'
        ),
        DependencyDifference("not a requirement!", "removed", "not a requirement!", None),
    )
    # A [python] that is not a table, or dependencies that are not a list: none listed.
    assert diff_dependencies({"python": 3}, {"python": {"dependencies": "x"}}) == ()


def test_config_keys_are_dotted_paths_with_plain_values() -> None:
    import datetime as dt

    old = {"limits": {"timeout_seconds": 10}, "a.b": {"c": True}, "when": dt.date(2026, 1, 2)}
    new = {
        "limits": {"timeout_seconds": 10.5},
        "a.b": {"c": 1},
        "when": dt.date(2026, 1, 2),
        "weird": float("inf"),
        "tables": [{"x": 1}],
    }
    assert diff_config(old, new) == (
        ConfigDifference('"a.b".c', True, 1),  # true is not 1
        ConfigDifference("limits.timeout_seconds", 10, 10.5),
        ConfigDifference("tables", None, [{"x": 1}]),
        ConfigDifference("weird", None, "inf"),
    )
    assert flatten_config({"when": dt.datetime(2026, 1, 2, 3, 4)}) == {
        "when": "2026-01-02T03:04:00"
    }
    assert dotted_key(("limits", "memory_mb")) == "limits.memory_mb"
    assert dotted_key(("a b", 'q"')) == '"a b"."q\\""'
