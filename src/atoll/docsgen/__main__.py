"""``python -m atoll.docsgen write|check [--root DIR]``: regenerate or check the references."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from atoll.docsgen.markdown import COMMAND
from atoll.docsgen.references import check, write


def main(argv: list[str] | None = None) -> int:
    """Run ``write`` or ``check``; the exit code (1: some reference is stale)."""
    parser = argparse.ArgumentParser(
        prog="python -m atoll.docsgen",
        description="Generate the reference docs (docs/reference, docs/gallery) from the code.",
    )
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="the repository root: docs/ is written there, web/ and node_modules/ read "
        "from there (default: the current folder)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.action == "write":
        for path in write(root):
            print(f"wrote {path}")
        return 0
    stale = check(root)
    for item in stale:
        print(f"{item.path}: {item.reason}", file=sys.stderr)
    if stale:
        print(f"{len(stale)} generated file(s) stale: run `{COMMAND}`", file=sys.stderr)
        return 1
    print("references up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
