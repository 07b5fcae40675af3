"""Compile the Python files named on stdin without running them; print what fails.

Input: a JSON list of paths relative to the working directory. Output: a JSON list of
``{file, line, column, message}``. Run by ``atoll.builder.functions`` in a child
interpreter (``python -I -S``), so it imports nothing but the standard library.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


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


# Tenant files are parsed here on the host: bound what parsing one may take.
MEMORY_LIMIT = 1 << 30
CPU_SECONDS = 60


def main() -> None:
    """Read the file list from stdin, write the errors to stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    warnings.simplefilter("ignore")  # SyntaxWarnings are not errors
    json.dump(compile_errors(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()
