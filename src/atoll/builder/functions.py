"""Checking an app's functions before they deploy: every ``functions/**/*.py`` must compile,
and every module they import must be there when they run.

The files are compiled, never run, and in a child interpreter: compiling a hostile file
can hold the GIL for seconds or exhaust the parser's memory, and neither may stall the
process that serves other apps.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from atoll.builder.children import ChildFailed, json_child
from atoll.store.records import BuildError

FUNCTIONS_DIR = "functions"
CHECK_SCRIPT = Path(__file__).with_name("_compile_check.py")
CHECK_TIMEOUT_S = 60.0


def function_files(src_dir: Path) -> list[str]:
    """The Python files under ``functions/``, relative to ``src_dir``, in order."""
    folder = src_dir / FUNCTIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(src_dir).as_posix()
        for p in folder.rglob("*.py")
        if p.is_file() and not p.is_symlink()
    )


def _position(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ImportSite:
    """An absolute import in a function file: the top-level module it needs."""

    file: str
    line: int | None
    column: int | None
    module: str
    guarded: bool  # a failure to import it is handled (``except ImportError``, TYPE_CHECKING)


@dataclass(frozen=True)
class FunctionCheck:
    """What keeps the function files from compiling, and what the others import."""

    errors: list[BuildError] = field(default_factory=list)
    imports: list[ImportSite] = field(default_factory=list)


def check_functions(src_dir: Path) -> list[BuildError]:
    """Every function file of the app at ``src_dir`` that does not compile, with its line."""
    return inspect_functions(src_dir).errors


def unresolved_imports(
    check: FunctionCheck, src_dir: Path, available: Collection[str]
) -> list[BuildError]:
    """The unguarded imports of modules that are neither ``available`` (the sandbox's
    standard library, the platform's packages, the app's dependency layer) nor the app's
    own (a module or package at the top of ``src_dir``), one error per file and module."""
    errors: list[BuildError] = []
    seen: set[tuple[str, str]] = set()
    for site in check.imports:
        name = site.module
        if site.guarded or name in available or (site.file, name) in seen:
            continue
        if (src_dir / f"{name}.py").is_file() or (src_dir / name).is_dir():
            continue
        seen.add((site.file, name))
        message = (
            f"ModuleNotFoundError: no module named {name!r} where functions run: "
            "add its package to [python] dependencies in atoll.toml"
        )
        errors.append(BuildError(site.file, site.line, site.column, message))
    return errors


def inspect_functions(src_dir: Path) -> FunctionCheck:
    """Compile every function file of the app at ``src_dir``: the errors, with their lines,
    and the imports of the files that compiled."""
    files = function_files(src_dir)
    if not files:
        return FunctionCheck()
    command = [sys.executable, "-I", "-S", str(CHECK_SCRIPT)]
    try:
        found = json_child(command, files, src_dir, CHECK_TIMEOUT_S)
    except ChildFailed as exc:
        message = f"the functions could not be compiled: {exc}"
        return FunctionCheck([BuildError(FUNCTIONS_DIR, None, None, message)])
    errors = [
        BuildError(
            file=str(e.get("file")),
            line=_position(e.get("line")),
            column=_position(e.get("column")),
            message=str(e.get("message")),
        )
        for e in _entries(found, "errors")
    ]
    imports = [
        ImportSite(
            file=str(e.get("file")),
            line=_position(e.get("line")),
            column=_position(e.get("column")),
            module=str(e.get("module")),
            guarded=e.get("guarded") is True,
        )
        for e in _entries(found, "imports")
    ]
    return FunctionCheck(errors, imports)


def _entries(found: dict[str, object], key: str) -> list[dict[str, object]]:
    listed = found.get(key)
    return [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
