"""Page schema: valid and invalid pages, errors named by JSON path, JSON Schema, migrations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from atoll.errors import BadInput
from atoll.sdui.migrations import PageVersionError, migrate_page
from atoll.sdui.nodes import BUILTIN_NODES
from atoll.sdui.page import SCHEMA_VERSION, page_json_schema
from atoll.sdui.validation import MAX_PAGE_DEPTH, check_page, parse_page_json, validate_page

FIXTURE_PAGES = Path(__file__).parents[1] / "web" / "fixture_app" / "pages"


def page(root: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A minimal page around ``root``."""
    return {"schemaVersion": 1, "root": root, **extra}


def issues(raw: Any, **refs: Any) -> list[str]:
    """Every issue of a page as ``path: message``."""
    return [str(i) for i in check_page(raw, **refs).issues]


def test_every_builtin_node_type_validates() -> None:
    root = {
        "type": "Stack",
        "children": [
            {"type": "Row", "props": {"justify": "between"}},
            {"type": "Grid", "props": {"columns": 3}},
            {"type": "Card", "props": {"title": "Card"}},
            {"type": "Heading", "props": {"text": "Hi", "level": 1}},
            {"type": "Text", "props": {"text": {"$bind": "state.n"}, "tone": "muted"}},
            {"type": "Image", "props": {"src": "/static/logo.png", "alt": "logo"}},
            {"type": "Link", "props": {"text": "About", "to": "/about"}},
            {"type": "Markdown", "props": {"text": "**bold**"}},
            {"type": "Form", "on": {"submit": [{"action": "refresh"}]}},
            {"type": "Input", "props": {"bind": "state.name", "inputType": "email"}},
            {"type": "Select", "props": {"options": [{"value": "a"}], "bind": "state.pick"}},
            {"type": "Checkbox", "props": {"bind": "state.ok", "label": "OK"}},
            {
                "type": "Button",
                "props": {"text": "Go"},
                "on": {"click": [{"action": "navigate", "to": "/"}]},
            },
            {
                "type": "Table",
                "props": {"rows": {"$bind": "data.rows"}, "columns": [{"key": "id"}]},
            },
            {
                "type": "List",
                "children": [
                    {
                        "type": "Text",
                        "repeat": {"over": "data.rows"},
                        "props": {"text": {"$bind": "item.id"}},
                    }
                ],
            },
            {"type": "Component", "props": {"name": "Counter", "start": 3}},
        ],
    }
    raw = page(root, data={"rows": {"function": "rows"}}, state={"n": 1})
    report = check_page(raw, components={"Counter"}, functions={"rows"}, routes={"/", "/about"})
    assert report.ok, report.issues
    assert report.issues == []
    assert report.page is not None
    assert report.page.to_json()["root"]["children"][4]["props"]["text"] == {"$bind": "state.n"}


def test_fixture_pages_are_valid() -> None:
    for path in FIXTURE_PAGES.glob("*.json"):
        report = check_page(json.loads(path.read_text()))
        assert report.ok, (path, report.issues)


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ({"type": "Heading", "props": {}}, "$.root.props.text: Field required"),
        (
            {"type": "Heading", "props": {"text": "x", "level": 9}},
            "$.root.props.level: Input should be less than or equal to 6",
        ),
        (
            {"type": "Text", "props": {"txt": "x", "text": "y"}},
            "$.root.props.txt: Extra inputs are not permitted",
        ),
        (
            {"type": "Stack", "children": [{"props": {}}]},
            '$.root.children[0]: a node needs a string "type"',
        ),
        (
            {"type": "Stack", "children": [{"type": "Text", "props": {"text": {"$bind": "a +"}}}]},
            "$.root.children[0].props.text.$bind: unexpected end of expression at character 3",
        ),
        (
            {"type": "Link", "props": {"text": "x"}},
            '$.root.props: a Link needs exactly one of "to" (an app page) or "href"',
        ),
        (
            {"type": "Button", "props": {"text": "x"}, "on": {"click": [{"action": "jump"}]}},
            "$.root.on.click[0]: Input tag 'jump' found using 'action'",
        ),
        (
            {"type": "Text", "props": {"text": "x"}, "visibleWhen": "state.__proto__"},
            "$.root.visibleWhen: '__proto__' is not allowed",
        ),
        (
            {"type": "Input", "props": {"bind": "state.__proto__.x"}},
            "$.root.props.bind: bad state path",
        ),
        (
            {"type": "Text", "props": {"text": [1]}},
            "$.root.props.text: Input should be a valid string; or a valid integer",
        ),
    ],
)
def test_schema_errors_name_the_json_path(root: dict[str, Any], expected: str) -> None:
    found = issues(page(root))
    assert any(i.startswith(expected) for i in found), found


def test_cross_reference_errors() -> None:
    root = {
        "type": "Stack",
        "children": [
            {"type": "Text", "props": {"text": {"$bind": "data.nope + who"}}},
            {
                "type": "Button",
                "props": {"text": "x"},
                "on": {
                    "click": [
                        {"action": "refresh", "data": ["nope"]},
                        {
                            "action": "call",
                            "function": "missing",
                            "onSuccess": [
                                {"action": "setState", "path": "x", "value": {"$bind": "result.id"}}
                            ],
                        },
                        {"action": "navigate", "to": "/nowhere"},
                    ]
                },
            },
            {"type": "Component", "props": {"name": "Ghost"}},
            {"type": "Text", "id": "dup", "props": {"text": "a"}},
            {"type": "Text", "id": "dup", "props": {"text": {"$bind": "event.value"}}},
        ],
    }
    found = issues(page(root), components=set(), functions={"todos"}, routes={"/"})
    assert found == [
        "$.root.children[0].props.text.$bind: unknown name 'who'; known here: data, query, state",
        "$.root.children[0].props.text.$bind: no data source 'nope' in this page's \"data\"",
        "$.root.children[1].on.click[0].data[0]: no data source 'nope' to refresh",
        "$.root.children[1].on.click[1].function: no function functions/missing.py",
        "$.root.children[1].on.click[2].to: no page for route '/nowhere'",
        "$.root.children[2].props.name: no component components/Ghost.jsx (or .tsx)",
        "$.root.children[4].id: duplicate node id 'dup'",
        "$.root.children[4].props.text.$bind: unknown name 'event'; known here: data, query, state",
    ]


def test_repeat_alias_is_in_scope_only_below_the_node() -> None:
    root = {
        "type": "Stack",
        "children": [
            {
                "type": "Text",
                "repeat": {"over": "state.items", "as": "row", "key": "row.id"},
                "props": {"text": {"$bind": "row.name + index"}},
            },
            {"type": "Text", "props": {"text": {"$bind": "row.name"}}},
        ],
    }
    found = issues(page(root))
    assert found == [
        "$.root.children[1].props.text.$bind: unknown name 'row'; known here: data, query, state"
    ]


def test_unknown_node_type_is_a_warning_not_an_error() -> None:
    report = check_page(
        page({"type": "Stack", "children": [{"type": "Sparkline", "props": {"points": [1]}}]})
    )
    assert report.ok
    assert [(i.path, i.severity) for i in report.issues] == [("$.root.children[0].type", "warning")]
    bad = check_page(page({"type": "sparkline"}))
    assert not bad.ok


def test_hostile_pages() -> None:
    deep: dict[str, Any] = {"type": "Text", "props": {"text": "leaf"}}
    for _ in range(MAX_PAGE_DEPTH + 5):
        deep = {"type": "Stack", "children": [deep]}
    found = issues(page(deep))
    assert len(found) == 1 and "nests deeper" in found[0]
    assert issues([1, 2]) == ["$: a page is a JSON object"]
    polluted = page({"type": "Text", "props": {"text": "x"}}, state={"__proto__": {"x": 1}})
    assert issues(polluted) == ["$.state.__proto__: '__proto__' is not allowed"]
    huge = page({"type": "Text", "props": {"text": "x" * 1_000_000}})
    assert check_page(huge).ok


def test_validate_page_raises_bad_input_with_every_error() -> None:
    with pytest.raises(BadInput) as caught:
        validate_page(page({"type": "Heading", "props": {"level": 0}}))
    errors = caught.value.detail["errors"]
    assert {e["path"] for e in errors} == {"$.root.props.text", "$.root.props.level"}
    assert caught.value.status == 422


def test_json_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(BadInput, match="line 2 column 5") as caught:
        parse_page_json('{"a": 1,\n    }')
    assert caught.value.detail == {"line": 2, "column": 5}


def test_migrations_run_in_order_and_refuse_the_future() -> None:
    migrated, passed = migrate_page({"root": {"type": "Text", "props": {"text": "x"}}})
    assert migrated["schemaVersion"] == SCHEMA_VERSION and passed == [0]
    assert check_page({"root": {"type": "Text", "props": {"text": "x"}}}).ok

    chain = {
        1: lambda p: {**p, "schemaVersion": 2, "root": p["layout"]},
        2: lambda p: {k: v for k, v in p.items() if k != "layout"} | {"schemaVersion": 3},
    }
    result, steps = migrate_page(
        {"schemaVersion": 1, "layout": {"type": "Stack"}}, target=3, migrations=chain
    )
    assert steps == [1, 2] and result == {"schemaVersion": 3, "root": {"type": "Stack"}}
    with pytest.raises(PageVersionError, match="newer"):
        migrate_page({"schemaVersion": 99})
    with pytest.raises(PageVersionError, match="no migration from schemaVersion 1"):
        migrate_page({"schemaVersion": 1}, target=2, migrations={})
    with pytest.raises(PageVersionError, match="migration from 1 produced version 1"):
        migrate_page({"schemaVersion": 1}, target=2, migrations={1: lambda p: p})
    with pytest.raises(PageVersionError, match="non-negative integer"):
        migrate_page({"schemaVersion": "1"})
    assert issues({"schemaVersion": 7, "root": {}}) == [
        "$.schemaVersion: schemaVersion 7 is newer than this Atoll understands (1)"
    ]


def test_json_schema_describes_nodes_and_actions() -> None:
    schema = page_json_schema()
    assert schema["$id"] == "/api/v1/schemas/page.json"
    assert schema["required"] == ["schemaVersion", "root"]
    defs = schema["$defs"]
    for name in ("StackNode", "ComponentNode", "UnknownNode", "CallAction", "Bind", "Repeat"):
        assert name in defs
    assert defs["Bind"]["properties"]["$bind"]["type"] == "string"
    assert "visibleWhen" in defs["TextNode"]["properties"]
    assert "Stack" in defs["UnknownNode"]["properties"]["type"]["not"]["enum"]
    # Nodes are chosen by `type` (if/then), not by trying every type (oneOf) at every depth.
    assert schema["properties"]["root"] == {"$ref": "#/$defs/Node"}
    assert defs["StackNode"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert len(defs["Node"]["allOf"]) == len(BUILTIN_NODES) + 1
    json.dumps(schema)


def every_known_page() -> list[Path]:
    """Pages of the fixture app and of every example app."""
    examples = Path(__file__).parents[2] / "examples"
    return sorted([*FIXTURE_PAGES.glob("*.json"), *examples.glob("*/pages/**/*.json")])


@pytest.mark.parametrize(
    "path", every_known_page(), ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_json_schema_accepts_valid_pages(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(page_json_schema())
    raw = json.loads(path.read_text())
    assert check_page(raw).ok
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(raw)]
    assert errors == []


@pytest.mark.parametrize(
    "root",
    [
        {"type": "Heading", "props": {}},
        {"type": "Text", "props": {"text": "x", "extra": 1}},
        {"type": "Button", "props": {"text": "x"}, "on": {"click": [{"action": "jump"}]}},
        {"type": "Stack", "children": [{"props": {}}]},
        {"type": "sparkline"},
    ],
)
def test_json_schema_refuses_what_validation_refuses(root: dict[str, Any]) -> None:
    raw = page(root)
    assert not check_page(raw).ok
    assert not jsonschema.Draft202012Validator(page_json_schema()).is_valid(raw)


@pytest.mark.parametrize("node_type", sorted(BUILTIN_NODES))
def test_every_node_has_schema_examples_that_check(node_type: str) -> None:
    examples = page_json_schema()["$defs"][f"{node_type}Node"]["examples"]
    assert examples and all(e["type"] == node_type for e in examples)
    for example in examples:
        page = {"schemaVersion": 1, "data": {"todos": {"function": "todos"}}, "root": example}
        report = check_page(page, components={"Counter"}, functions={"todos"})
        assert report.ok, report.issues


def test_when_hides_a_node_and_is_checked() -> None:
    good = {
        "schemaVersion": 1,
        "root": {"type": "Text", "when": "state.show", "props": {"text": "x"}},
    }
    assert check_page(good).ok
    bad = {"schemaVersion": 1, "root": {"type": "Text", "when": "nope.x", "props": {"text": "x"}}}
    assert [i.path for i in check_page(bad).issues] == ["$.root.when"]
    assert not check_page({**bad, "root": {**bad["root"], "when": "a +"}}).ok
