"""Checks on esbuild's metafile: no inlined React, only shared externals, default exports."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from atoll.builder.esbuild import BuildMessage

SHARED_PACKAGES = ("react", "react-dom", "scheduler")
_INLINED = re.compile(r"(^|/)node_modules/(react|react-dom|scheduler)/")


def _entry_file(output: Mapping[str, Any]) -> str | None:
    entry = output.get("entryPoint")
    return str(entry) if entry else None


def inlined_react(metafile: Mapping[str, Any]) -> list[BuildMessage]:
    """One message per output that would carry its own copy of React."""
    problems: list[BuildMessage] = []
    for out_path, output in metafile.get("outputs", {}).items():
        copies = sorted(p for p in output.get("inputs", {}) if _INLINED.search(p))
        if copies:
            who = _entry_file(output) or out_path
            problems.append(
                BuildMessage(
                    f"{who} would inline its own React ({copies[0]}); React must come "
                    "from the shared vendor bundle: import it as 'react' / 'react-dom'",
                    file=_entry_file(output),
                )
            )
    return problems


def unshared_externals(
    metafile: Mapping[str, Any], provided: Collection[str]
) -> list[BuildMessage]:
    """External imports the page's import map cannot resolve (e.g. ``react-dom/server``)."""
    problems: list[BuildMessage] = []
    for out_path, output in metafile.get("outputs", {}).items():
        if not out_path.endswith(".js"):
            continue  # a stylesheet's external imports are URLs, not modules
        for imp in output.get("imports", []):
            path = str(imp.get("path", ""))
            if "://" in path or path.startswith(("/", ".", "data:")):
                continue
            if imp.get("external") and path not in provided:
                who = _entry_file(output) or out_path
                problems.append(
                    BuildMessage(
                        f"{who} imports {path!r}, which the shared bundle does not provide "
                        f"(available: {', '.join(sorted(provided))})",
                        file=_entry_file(output),
                    )
                )
    return problems


def missing_default_exports(
    metafile: Mapping[str, Any], entries: Collection[str]
) -> list[BuildMessage]:
    """Component entry files that do not ``export default`` a component."""
    problems: list[BuildMessage] = []
    seen: set[str] = set()
    for output in metafile.get("outputs", {}).values():
        entry = _entry_file(output)
        if entry is not None and entry in entries and entry not in seen:
            seen.add(entry)
            if "default" not in output.get("exports", []):
                problems.append(
                    BuildMessage(
                        f"{entry} must `export default` a React component", file=entry, line=1
                    )
                )
    return problems
