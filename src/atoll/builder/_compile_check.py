"""Compile the Python files named on stdin without running them; print what fails.

Input: a JSON list of paths relative to the working directory. Output: a JSON object
``{"errors": [{file, line, column, message}], "imports": [{file, line, column, module,
guarded}]}``: what does not compile, and the absolute imports of what does (``module`` is
the top-level name; ``guarded`` when a failing import is handled: inside a ``try`` that
catches ImportError, or under ``if TYPE_CHECKING``). Run by ``atoll.builder.functions`` in
a child interpreter (``python -I -S``), so it imports nothing but the standard library.
"""

from __future__ import annotations

import ast
import json
import sys
import warnings
from typing import Any

# Handlers that catch a failed import.
_CATCHES_IMPORT = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def compile_errors(files: list[str]) -> list[dict[str, Any]]:
    """One entry per file that does not compile."""
    found: list[dict[str, Any]] = []
    for rel in files:
        try:
            with open(rel, "rb") as f:
                source = f.read()
            compile(source, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:  # IndentationError and TabError too
            found.append(
                {
                    "file": rel,
                    "line": exc.lineno,
                    "column": exc.offset,
                    "message": f"{type(exc).__name__}: {exc.msg}",
                }
            )
        except (RecursionError, MemoryError):
            message = "the code nests too deeply to compile"
            found.append({"file": rel, "line": None, "column": None, "message": message})
        except (ValueError, OSError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            found.append({"file": rel, "line": None, "column": None, "message": message})
    return found


def imports_of(rel: str, tree: ast.AST) -> list[dict[str, Any]]:
    """The absolute imports in ``tree`` (the file ``rel``), with whether each is guarded."""
    found: list[dict[str, Any]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.append(
                    {
                        "file": rel,
                        "line": node.lineno,
                        "column": node.col_offset + 1,
                        "module": name.split(".")[0],
                        "guarded": guarded,
                    }
                )
            return
        if isinstance(node, ast.Try | ast.TryStar) and any(_catches(h) for h in node.handlers):
            for inside in node.body:
                visit(inside, True)
            rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
            for after in rest:
                visit(after, guarded)
            return
        if isinstance(node, ast.If) and _type_checking(node.test):
            for inside in node.body:
                visit(inside, True)
            for other in node.orelse:
                visit(other, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def _catches(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True  # a bare except
    listed = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any(
        (isinstance(k, ast.Name) and k.id in _CATCHES_IMPORT)
        or (isinstance(k, ast.Attribute) and k.attr in _CATCHES_IMPORT)
        for k in listed
    )


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def check(files: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What does not compile, and the imports of what does."""
    errors = compile_errors(files)
    failed = {e["file"] for e in errors}
    imports: list[dict[str, Any]] = []
    for rel in files:
        if rel in failed:
            continue
        try:
            with open(rel, "rb") as f:
                tree = ast.parse(f.read(), rel)
            imports += imports_of(rel, tree)
        except (SyntaxError, RecursionError, MemoryError, ValueError, OSError):
            continue  # compiled above, so not expected; the import check skips the file
    return {"errors": errors, "imports": imports}


# Tenant files are parsed here on the host: bound what parsing one may take.
MEMORY_LIMIT = 1 << 30
CPU_SECONDS = 60


def main() -> None:
    """Read the file list from stdin, write the errors to stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    warnings.simplefilter("ignore")  # SyntaxWarnings are not errors
    json.dump(check(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()
