"""Function files are compiled before they deploy, never run, and each error names its line."""

from __future__ import annotations

from pathlib import Path

from atoll.builder.functions import (
    check_functions,
    function_files,
    inspect_functions,
    unresolved_imports,
)
from atoll.runtime.layout import sandbox_modules
from atoll.store.records import BuildError
from tests.builder.files import write

GOOD = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'


def test_good_functions_have_no_errors(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app",
        {
            "functions/hello.py": GOOD,
            "functions/lib/util.py": "X = 1\n",
            "functions/notes.txt": "not python (",
            "pages/broken.py": "not a function (",  # only functions/ is checked
        },
    )
    assert function_files(app) == ["functions/hello.py", "functions/lib/util.py"]
    assert check_functions(app) == []
    assert check_functions(tmp_path / "no-such-app") == []


def test_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app",
        {
            "functions/a.py": GOOD,
            "functions/todos.py": "def get():\n    return 1 +\n",
            "functions/lib/indent.py": "def f():\nreturn 1\n",
            "functions/outside.py": "return 5\n",  # only the compiler (not the parser) sees it
        },
    )
    errors = {e.file: e for e in check_functions(app)}
    assert set(errors) == {
        "functions/todos.py",
        "functions/lib/indent.py",
        "functions/outside.py",
    }
    todos = errors["functions/todos.py"]
    assert (todos.line, todos.column) == (2, 15)
    assert str(todos) == "functions/todos.py:2:15: SyntaxError: invalid syntax"
    indent = errors["functions/lib/indent.py"]
    assert indent.line == 2 and indent.message.startswith("IndentationError: expected an indented")
    assert errors["functions/outside.py"] == BuildError(
        "functions/outside.py", 1, 1, "SyntaxError: 'return' outside function"
    )


def test_hostile_files_fail_cleanly_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = write(
        tmp_path / "app",
        {
            # Would leave a file behind if anything imported or executed it.
            "functions/runs.py": f"open({str(marker)!r}, 'w').write('x')\n",
            "functions/deep.py": "x = " + "-" * 200_000 + "1\n",
            "functions/chain.py": "x = a" + ".b" * 200_000 + "\n",
        },
    )
    (app / "functions" / "nul.py").write_bytes(b"x = 1\0\n")
    (app / "functions" / "latin1.py").write_bytes(b"s = '\xe9'\n")
    errors = {e.file: e for e in check_functions(app)}
    assert not marker.exists()
    assert "functions/runs.py" not in errors
    assert "nests too deeply" in errors["functions/deep.py"].message
    assert "nests too deeply" in errors["functions/chain.py"].message
    assert errors["functions/nul.py"].message.startswith("SyntaxError: source code")
    assert "utf-8" in errors["functions/latin1.py"].message


IMPORTS = """\
from __future__ import annotations

import json
import os.path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from atoll.sdk import db
import helpers
import shared.tools
from . import sibling
import six

try:
    import ujson
except ImportError:
    ujson = None
try:
    import orjson
except (ValueError, ModuleNotFoundError):
    orjson = None
if TYPE_CHECKING:
    import numpy

import requests, json as j2
import tkinter


def get() -> str:
    import yaml

    return "x"
"""


def test_imports_nothing_provides_name_their_file_and_line(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app",
        {
            "functions/a.py": IMPORTS,
            "functions/b.py": "import requests\nimport requests.adapters\n",
            "functions/broken.py": "import requests\ndef get(:\n",  # does not compile
            "helpers.py": "X = 1\n",
            "shared/tools.py": "Y = 2\n",
        },
    )
    check = inspect_functions(app)
    assert [e.file for e in check.errors] == ["functions/broken.py"]
    available = sandbox_modules() | {"six"}  # six as if a dependency layer held it
    errors = unresolved_imports(check, app, available)
    assert [(e.file, e.line, e.column) for e in errors] == [
        ("functions/a.py", 25, 1),  # requests
        ("functions/a.py", 26, 1),  # tkinter: left out of the sandbox's standard library
        ("functions/a.py", 30, 5),  # yaml, imported when get runs
        ("functions/b.py", 1, 1),  # once per file and module
    ]
    assert errors[0].message == (
        "ModuleNotFoundError: no module named 'requests' where functions run: "
        "add its package to [python] dependencies in atoll.toml"
    )
    assert "'tkinter'" in errors[1].message and "'yaml'" in errors[2].message
    # Without six in a layer, its import is missing too.
    assert "'six'" in unresolved_imports(check, app, sandbox_modules())[0].message
