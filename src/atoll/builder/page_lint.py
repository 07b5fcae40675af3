"""Checking one page file as it is being edited: the release build's own checks, with the
line and column of each issue, so the IDE can show them while the page is typed."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from atoll.builder.components import COMPONENT_FILE
from atoll.builder.json_locations import locate_json_path
from atoll.errors import BadInput
from atoll.sdui.html import route_for_page
from atoll.sdui.validation import Severity, check_page, parse_page_json

MAX_LOCATED = 100  # issues given a line and column (each may cost a walk of the text)


@dataclass(frozen=True)
class PageLint:
    """One issue of a page: where it is (JSON path, and line/column when found) and why."""

    path: str
    message: str
    severity: Severity
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class AppNames:
    """What a page may refer to in its app: components, functions and routes."""

    components: frozenset[str]
    functions: frozenset[str]
    routes: frozenset[str]

    @classmethod
    def of_paths(cls, paths: Iterable[str]) -> AppNames:
        """From the workspace's file paths, by the rules the build uses to find them."""
        components, functions, routes = set(), set(), set()
        for path in paths:
            parts = PurePosixPath(path).parts
            if len(parts) == 2 and parts[0] == "components":
                match = COMPONENT_FILE.match(parts[1])
                if match:
                    components.add(match.group(1))
            elif len(parts) == 2 and parts[0] == "functions" and parts[1].endswith(".py"):
                functions.add(parts[1].removesuffix(".py"))
            elif parts[:1] == ("pages",) and path.endswith(".json"):
                routes.add(route_for_page(path))
        return cls(frozenset(components), frozenset(functions), frozenset(routes))


def lint_page(data: bytes, names: AppNames, *, route: str | None = None) -> list[PageLint]:
    """Every issue the build would report for this page text (errors and warnings)."""
    try:
        text = data.decode(json.detect_encoding(data))
    except UnicodeDecodeError:
        return [PageLint("$", "page is not UTF-8 text", "error")]
    try:
        raw = parse_page_json(text)
    except BadInput as exc:
        return [
            PageLint("$", exc.message, "error", exc.detail.get("line"), exc.detail.get("column"))
        ]
    except RecursionError:
        return [PageLint("$", "page nests too deeply to parse", "error")]
    routes: Collection[str] = names.routes | ({route} if route else set())
    report = check_page(raw, components=names.components, functions=names.functions, routes=routes)
    found: list[PageLint] = []
    for n, issue in enumerate(report.issues):
        where = locate_json_path(text, issue.path) if n < MAX_LOCATED else None
        line, column = where if where is not None else (None, None)
        found.append(PageLint(issue.path, issue.message, issue.severity, line, column))
    return found
