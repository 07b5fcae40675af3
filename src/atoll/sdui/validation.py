"""Checking pages: schema errors and cross-references, each named by its JSON path."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from atoll.errors import BadInput
from atoll.sdui.actions import CallAction, DataSource, NavigateAction, RefreshAction
from atoll.sdui.expressions import (
    FORBIDDEN_NAMES as FORBIDDEN_KEYS,
)
from atoll.sdui.expressions import (
    ExpressionError,
    data_dependencies,
    expression_roots,
    parse_expression,
)
from atoll.sdui.migrations import PageVersionError, migrate_page
from atoll.sdui.nodes import ComponentNode, FormNode, NodeBase, TableNode, UnknownNode
from atoll.sdui.page import Page
from atoll.sdui.values import Bind

MAX_PAGE_DEPTH = 64
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
PAGE_ROOTS = frozenset({"data", "state", "query"})
ACTION_ROOTS = frozenset({"event", "result", "error"})

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class PageIssue:
    """One problem in a page, at a JSON path like ``$.root.children[0].props.text``."""

    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class PageReport:
    """The outcome of checking a page: the migrated page (if valid) and every issue found."""

    page: Page | None
    issues: list[PageIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[PageIssue]:
        """Issues that make the page unusable."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when the page can be served."""
        return self.page is not None and not self.errors


def json_path(parts: Collection[str | int]) -> str:
    """Format a path: ``("root", "children", 0)`` -> ``$.root.children[0]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _loc_to_path(raw: Any, loc: tuple[str | int, ...], missing: bool) -> list[str | int]:
    """Drop union tags and validator names from a pydantic ``loc`` by walking the input."""
    path: list[str | int] = []
    current = raw
    for i, part in enumerate(loc):
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif missing and i == len(loc) - 1 and isinstance(part, str):
            path.append(part)
    return path


def _shape_issues(raw: Any) -> list[PageIssue]:
    """Nesting beyond the limit and prototype-polluting keys, found without recursion."""
    found: list[PageIssue] = []
    stack: list[tuple[Any, list[str | int]]] = [(raw, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_PAGE_DEPTH * 2:
            return [PageIssue(json_path(path), f"nests deeper than {MAX_PAGE_DEPTH * 2} levels")]
        if isinstance(value, dict):
            for key, item in value.items():
                if key in FORBIDDEN_KEYS:
                    found.append(PageIssue(json_path([*path, key]), f"{key!r} is not allowed"))
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(value))
    return found


def _schema_issues(raw: Any, exc: ValidationError) -> list[PageIssue]:
    by_path: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        parts = _loc_to_path(raw, tuple(err["loc"]), err["type"] == "missing")
        message = str(err["msg"]).removeprefix("Value error, ")
        messages = by_path.setdefault(json_path(parts), [])
        if message not in messages:
            messages.append(message)
    issues: list[PageIssue] = []
    for path, messages in by_path.items():
        # A deeper error is the specific one; the union alternatives above it are noise.
        if any(
            other != path and other.startswith(path) and other[len(path)] in ".["
            for other in by_path
        ):
            continue
        if len(messages) == 1:
            issues.append(PageIssue(path, messages[0]))
        else:
            alternatives = "; or ".join(m.removeprefix("Input should be ") for m in messages)
            issues.append(PageIssue(path, f"Input should be {alternatives}"))
    return issues


@dataclass
class _Context:
    components: Collection[str] | None
    functions: Collection[str] | None
    routes: Collection[str] | None
    data_names: Collection[str]
    issues: list[PageIssue] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def add(self, path: list[str | int], message: str, severity: Severity = "error") -> None:
        self.issues.append(PageIssue(json_path(path), message, severity))


def _expressions(value: Any, path: list[str | int]) -> Iterator[tuple[str, list[str | int]]]:
    """Every binding inside a model field value, with its path."""
    if isinstance(value, Bind):
        yield value.expr, [*path, "$bind"]
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            yield from _expressions(getattr(value, name), [*path, key])
        for key, extra in (value.model_extra or {}).items():
            yield from _expressions(extra, [*path, key])
    elif isinstance(value, dict):
        if isinstance(value.get("$bind"), str) and len(value) == 1:
            yield value["$bind"], [*path, "$bind"]
        else:
            for key, item in value.items():
                yield from _expressions(item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(item, [*path, i])


def _check_expr(ctx: _Context, source: str, path: list[str | int], scope: frozenset[str]) -> None:
    try:
        ast = parse_expression(source)
    except ExpressionError as exc:  # already refused by the schema; kept for safety
        ctx.add(path, str(exc))
        return
    for root in sorted(expression_roots(ast) - scope):
        ctx.add(path, f"unknown name {root!r}; known here: {', '.join(sorted(scope))}")
    for name in sorted(data_dependencies(ast) - set(ctx.data_names)):
        ctx.add(path, f'no data source {name!r} in this page\'s "data"')


def _check_values(ctx: _Context, value: Any, path: list[str | int], scope: frozenset[str]) -> None:
    for source, where in _expressions(value, path):
        _check_expr(ctx, source, where, scope)


def _check_actions(
    ctx: _Context, actions: list[Any], path: list[str | int], scope: frozenset[str]
) -> None:
    scope = scope | ACTION_ROOTS
    for i, action in enumerate(actions):
        where = [*path, i]
        if isinstance(action, CallAction):
            if ctx.functions is not None and action.function not in ctx.functions:
                ctx.add([*where, "function"], f"no function functions/{action.function}.py")
            for key in ("query", "body"):
                _check_values(ctx, getattr(action, key), [*where, key], scope)
            _check_actions(ctx, action.on_success, [*where, "onSuccess"], scope)
            _check_actions(ctx, action.on_error, [*where, "onError"], scope)
            continue
        if isinstance(action, RefreshAction):
            for j, name in enumerate(action.data or []):
                if name not in ctx.data_names:
                    ctx.add([*where, "data", j], f"no data source {name!r} to refresh")
        if isinstance(action, NavigateAction) and isinstance(action.to, str):
            target = action.to
            if ctx.routes is not None and target.startswith("/") and target not in ctx.routes:
                ctx.add([*where, "to"], f"no page for route {target!r}", "warning")
        _check_values(ctx, action, where, scope)


# Names an event adds to its actions' scope: a form's values, the clicked row of a table.
_EVENT_ROOTS: dict[tuple[type[NodeBase], str], set[str]] = {
    (FormNode, "submit"): {"form"},
    (TableNode, "rowClick"): {"row"},
}


def _check_node(
    ctx: _Context, node: NodeBase, path: list[str | int], scope: frozenset[str]
) -> None:
    node_type = getattr(node, "type", "?")
    if node.id is not None:
        if node.id in ctx.ids:
            ctx.add([*path, "id"], f"duplicate node id {node.id!r}")
        ctx.ids.add(node.id)
    if node.repeat is not None:
        _check_expr(ctx, node.repeat.over, [*path, "repeat", "over"], scope)
        scope = scope | {node.repeat.as_, "index"}
        if node.repeat.key is not None:
            _check_expr(ctx, node.repeat.key, [*path, "repeat", "key"], scope)
    if node.visible_when is not None:
        _check_expr(ctx, node.visible_when, [*path, "visibleWhen"], scope)
    if node.when is not None:
        _check_expr(ctx, node.when, [*path, "when"], scope)
    if isinstance(node, UnknownNode):
        ctx.add(
            [*path, "type"], f"unknown node type {node_type!r}; it renders as a fallback", "warning"
        )
    props = getattr(node, "props", None)
    _check_values(ctx, props, [*path, "props"], scope)
    if isinstance(node, ComponentNode):
        name = node.props.name
        if ctx.components is not None and name not in ctx.components:
            ctx.add([*path, "props", "name"], f"no component components/{name}.jsx (or .tsx)")
    for event, actions in node.on.items():
        extra = _EVENT_ROOTS.get((type(node), event), set())
        _check_actions(ctx, actions, [*path, "on", event], scope | extra)
    for i, child in enumerate(node.children):
        _check_node(ctx, child, [*path, "children", i], scope)


def _check_data(ctx: _Context, name: str, source: DataSource) -> None:
    path: list[str | int] = ["data", name]
    if source.function is not None and ctx.functions is not None:
        if source.function not in ctx.functions:
            ctx.add([*path, "function"], f"no function functions/{source.function}.py")
    _check_values(ctx, source.query, [*path, "query"], frozenset({"state", "query"}))


def check_page(
    raw: Any,
    *,
    components: Collection[str] | None = None,
    functions: Collection[str] | None = None,
    routes: Collection[str] | None = None,
) -> PageReport:
    """Migrate and check a page; cross-references are checked against what is given."""
    if not isinstance(raw, dict):
        return PageReport(None, [PageIssue("$", "a page is a JSON object")])
    shape = _shape_issues(raw)
    if shape:
        return PageReport(None, shape)
    try:
        migrated, _ = migrate_page(raw)
    except PageVersionError as exc:
        return PageReport(None, [PageIssue("$.schemaVersion", str(exc))])
    try:
        page = Page.model_validate(migrated)
    except ValidationError as exc:
        return PageReport(None, _schema_issues(migrated, exc))
    ctx = _Context(components, functions, routes, data_names=set(page.data))
    for name, source in page.data.items():
        _check_data(ctx, name, source)
    _check_values(ctx, page.state, ["state"], frozenset({"query"}))
    _check_node(ctx, page.root, ["root"], PAGE_ROOTS)
    return PageReport(page, ctx.issues)


def parse_page_json(text: str | bytes) -> Any:
    """Parse page JSON, turning a syntax error into a ``BadInput`` naming line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"page is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except UnicodeDecodeError as exc:
        raise BadInput("page is not UTF-8 text") from exc


def validate_page(raw: Any, **refs: Collection[str] | None) -> Page:
    """Return the checked page, or raise ``BadInput`` listing every error with its path."""
    report = check_page(raw, **refs)
    if not report.ok or report.page is None:
        errors = [{"path": i.path, "message": i.message} for i in report.errors]
        summary = "; ".join(str(i) for i in report.errors[:3])
        raise BadInput(f"invalid page: {summary}", errors=errors)
    return report.page
