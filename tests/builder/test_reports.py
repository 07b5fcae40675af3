"""Every kind of build failure becomes errors naming a workspace file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from atoll.builder.reports import build_errors, build_failure
from atoll.dbservice import DatabaseName, apply_migrations, create_database, load_migrations
from atoll.errors import AtollError, BadInput, BuildFailed
from atoll.runtime.limits import AppLimits, load_app_config
from atoll.store.records import BuildError
from tests.builder.files import write


def test_listed_errors_keep_file_line_and_json_path() -> None:
    exc = BuildFailed(
        "pages are invalid",
        errors=[
            {"file": "pages/a.json", "path": "$", "line": 3, "column": 5, "message": "bad JSON"},
            {"file": "pages/b.json", "path": "$.root.type", "line": 2, "message": "unknown"},
            {"file": "components/C.jsx", "line": 4, "column": 9, "message": "Expected ;"},
            {"file": None, "message": "two files define C"},
            "not an entry",
        ],
    )
    assert build_errors(exc) == [
        BuildError("pages/a.json", 3, 5, "bad JSON"),
        BuildError("pages/b.json", 2, None, "$.root.type: unknown"),
        BuildError("components/C.jsx", 4, 9, "Expected ;"),
        BuildError(None, None, None, "two files define C"),
    ]


def test_an_error_without_a_list_is_one_error() -> None:
    assert build_errors(AtollError("esbuild is not installed")) == [
        BuildError(None, None, None, "esbuild is not installed")
    ]
    exc = BadInput("bad name", file="migrations/1_x.sql")
    assert build_errors(exc) == [BuildError("migrations/1_x.sql", None, None, "bad name")]


def test_toml_errors_name_atoll_toml_and_the_line(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"atoll.toml": 'name = "shop"\n[limits]\ntimeout = \n'})
    with pytest.raises(BuildFailed) as caught:
        load_app_config(app, AppLimits())
    (error,) = build_errors(caught.value, file="atoll.toml")
    assert (error.file, error.line, error.column) == ("atoll.toml", 3, 11)
    app = write(tmp_path / "app", {"atoll.toml": "[limits]\nmemroy_mb = 5\n"})
    with pytest.raises(BuildFailed) as caught:
        load_app_config(app, AppLimits())
    (error,) = build_errors(caught.value, file="atoll.toml")
    assert error == BuildError("atoll.toml", None, None, "unknown key [limits] memroy_mb")


def test_migration_errors_name_the_file_and_the_statement_line(tmp_path: Path) -> None:
    name = DatabaseName(tenant="acme", app="shop", env="dev")
    create_database(tmp_path, name)
    files = {
        "migrations/0001_init.sql": "CREATE TABLE t (x);\n",
        "migrations/0002_more.sql": (
            "-- second\nCREATE TABLE u (y);\n\nINSERT INTO nope\n  VALUES (1);\n"
        ),
    }
    with pytest.raises(AtollError) as caught:
        apply_migrations(tmp_path, name, load_migrations(files))
    (error,) = build_errors(caught.value)
    assert (error.file, error.line) == ("migrations/0002_more.sql", 4)
    assert "no such table: nope" in error.message
    with pytest.raises(BadInput) as bad:
        load_migrations({"migrations/1_init.sql": "SELECT 1;"})
    assert build_errors(bad.value)[0].file == "migrations/1_init.sql"


def test_one_failure_lists_them_all() -> None:
    errors = [BuildError(f"functions/f{i}.py", i + 1, 1, "SyntaxError: x") for i in range(5)]
    failure = build_failure("r3 does not build", errors)
    assert failure.message == (
        "r3 does not build: functions/f0.py:1:1: SyntaxError: x; "
        "functions/f1.py:2:1: SyntaxError: x; functions/f2.py:3:1: SyntaxError: x (and 2 more)"
    )
    assert build_errors(failure) == errors
