"""``docs/reference/page-schema.md``: the page JSON Schema, every node, action and data source.

The node gallery (``docs/gallery/``, one page per node type) is generated with it.
"""

from __future__ import annotations

import json
from typing import Any

from atoll.docsgen.markdown import cell, code, json_block, page, slug, table
from atoll.sdui import SCHEMA_VERSION, page_json_schema
from atoll.sdui import expressions as expressions_module
from atoll.sdui.examples import DATA_SOURCE_EXAMPLES, NODE_EXAMPLES
from atoll.sdui.gallery import gallery_pages, type_of
from atoll.sdui.nodes import BUILTIN_NODES

PATH = "docs/reference/page-schema.md"
TITLE = "Page schema"
GALLERY = "docs/gallery"
Schema = dict[str, Any]

# What names an expression can read, and where; the browser runtime (web/runtime/page.js,
# nodes.js) puts them in scope.
SCOPE_NAMES = [
    ("data", "the page's data sources by name (`data.todos`), loaded when the page opens"),
    ("state", "page state (`state.draft`), set by `setState` actions and bound inputs"),
    ("query", "the page URL's query parameters (`query.tab`)"),
    ("item", "inside a node with `repeat`: the current item (renamed by `repeat.as`)"),
    ("event", "in an event's actions: what the event carries (e.g. a component's `emit` value)"),
    ("form", "in a Form's `submit` actions: the named inputs' values (`form.title`)"),
    ("result", "in a `call` action's `onSuccess`: the function's answer"),
    ("error", "in a `call` action's `onError`: `{message, status}`"),
]


def _rows(schema: Schema, defs: Schema, skip: tuple[str, ...] = ()) -> list[list[str]]:
    required = set(schema.get("required", []))
    rows = []
    for name, field in schema.get("properties", {}).items():
        if name in skip:
            continue
        if name in required:
            default = "required"
        elif "default" in field:
            default = code(json.dumps(field["default"], ensure_ascii=False))
        else:
            default = "optional"
        rows.append([code(name), type_of(field, defs), default, field.get("description", "")])
    return rows


def _fields(schema: Schema, defs: Schema, skip: tuple[str, ...] = ()) -> list[str]:
    return table(["field", "type", "default", "description"], _rows(schema, defs, skip))


_FIRST = {"type": 0, "action": 0, "id": 1, "props": 2}
_LAST = {"children", "onSuccess", "onError"}


def readable(value: Any) -> Any:
    """An example with its keys as people write them (the schema keeps them sorted)."""
    if isinstance(value, list):
        return [readable(v) for v in value]
    if not isinstance(value, dict):
        return value
    keys = sorted(value, key=lambda k: (k in _LAST, _FIRST.get(k, 3), k))
    return {k: readable(value[k]) for k in keys}


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _action_defs(defs: Schema) -> dict[str, Schema]:
    """Action kind -> its schema, in the order the schema lists them."""
    mapping = defs["CallAction"]["properties"]["onSuccess"]["items"]["discriminator"]["mapping"]
    return {kind: defs[ref.rsplit("/", 1)[1]] for kind, ref in mapping.items()}


def _node_section(node_type: str, defs: Schema) -> list[str]:
    node = defs[f"{node_type}Node"]
    props_ref = node["properties"]["props"].get("$ref", "")
    props = defs.get(props_ref.rsplit("/", 1)[-1], {}) if props_ref else {}
    lines = [f"### {node_type}", "", _first_line(BUILTIN_NODES[node_type].__doc__), ""]
    rows = _rows(props, defs)
    if rows:
        lines += table(["prop", "type", "default", "description"], rows)
    else:
        lines += ["No props.", ""]
    examples = node.get("examples", [])
    if examples:
        lines += json_block(readable(examples[0]))
    more = f" and {len(examples) - 1} more example(s)" if len(examples) > 1 else ""
    lines += [f"Gallery: [{node_type}](../gallery/{node_type}.md){more}.", ""]
    return lines


def example_page() -> Schema:
    """A small whole page, built from the schema's own examples."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "title": "Settings",
        "data": {"todos": DATA_SOURCE_EXAMPLES[0]},
        "state": {"draft": ""},
        "root": NODE_EXAMPLES["Stack"][0],
    }


def examples() -> list[tuple[str, Schema]]:
    """Every example the page shows, each wrapped into a whole page (for validation)."""
    defs = page_json_schema()["$defs"]
    found = [("page", example_page())]
    for node_type in BUILTIN_NODES:
        for example in defs[f"{node_type}Node"].get("examples", []):
            found.append((f"node {node_type}", {**example_page(), "root": example}))
    for kind, action in _action_defs(defs).items():
        for example in action.get("examples", []):
            button = {"type": "Button", "props": {"text": "Go"}, "on": {"click": [example]}}
            found.append((f"action {kind}", {**example_page(), "root": button}))
    for example in defs["DataSource"].get("examples", []):
        found.append(("data source", {**example_page(), "data": {"items": example}}))
    return found


def _expressions() -> list[str]:
    grammar = (expressions_module.__doc__ or "").split("::", 1)[1].split("\n\n")[1]
    lines = [
        "## Expressions and bindings",
        "",
        "Values in a page are literals unless they are bindings. A binding is an object with",
        'exactly one key, `{"$bind": "<expression>"}`, and may stand anywhere a value may',
        "(props, action fields, data source queries, initial state), at any depth. Fields that",
        "are always expressions (`visibleWhen`, `when`, `repeat.over`, `repeat.key`) take the",
        'expression as a plain string, or as a binding: `"visibleWhen": "state.open"`.',
        "",
        "Expressions are paths and a few operators, parsed, never `eval`ed:",
        "",
        "```text",
        *[line[4:] if line.startswith("    ") else line for line in grammar.splitlines()],
        "```",
        "",
        f"An expression is at most {expressions_module.MAX_SOURCE_CHARS} characters, "
        f"{expressions_module.MAX_TOKENS} tokens and {expressions_module.MAX_DEPTH} levels "
        "deep; "
        + ", ".join(code(n) for n in sorted(expressions_module.FORBIDDEN_NAMES))
        + " can never be read.",
        "",
        "Names an expression can read:",
        "",
        *table(["name", "what it is"], [[code(n), d] for n, d in SCOPE_NAMES]),
    ]
    lines += json_block(
        {"type": "Text", "props": {"text": {"$bind": "data.todos.length + ' to do'"}},
         "visibleWhen": "data.todos.length > 0"}
    )  # fmt: skip
    return lines


def render_page() -> str:
    """The page schema reference."""
    schema = page_json_schema()
    defs = schema["$defs"]
    node_base = defs["StackNode"]
    lines = [
        f"# {TITLE}",
        "",
        f"A page is one JSON document (`pages/index.json` is `/`, `pages/about.json` is "
        f"`/about`) in format version {SCHEMA_VERSION}. Its JSON Schema (draft 2020-12) is "
        f"served at `{schema['$id']}`; editors and agents validate with it, and the builder "
        "refuses a release whose pages do not match.",
        "",
        "## The page",
        "",
        *_fields(schema, defs),
        *json_block(example_page()),
        "## Nodes",
        "",
        "A node is `{type, props, children}` plus the fields every node has. A `type` this",
        "version does not know is kept and rendered as a visible fallback, so a page from a",
        "newer version still opens.",
        "",
        "### Fields every node has",
        "",
        *_fields(node_base, defs, skip=("type", "props")),
        "`repeat` renders the node once per item of a list:",
        "",
        *_fields(defs["Repeat"], defs),
        "### Node types",
        "",
        *table(
            ["type", "what it is", "props"],
            [
                [
                    f"[{t}](#{slug(t)})",
                    _first_line(BUILTIN_NODES[t].__doc__),
                    ", ".join(code(p) for p in _props_of(t, defs)),
                ]
                for t in BUILTIN_NODES
            ],
        ),  # fmt: skip
    ]
    for node_type in BUILTIN_NODES:
        lines += _node_section(node_type, defs)
    lines += [
        "## Actions",
        "",
        "An event (`on.click`, `on.submit`, `on.change`, a component's own events) runs a",
        "list of actions in order; a failing one stops the rest.",
        "",
    ]
    for kind, action in _action_defs(defs).items():
        lines += [f"### {kind}", "", cell(action.get("description", "")), ""]
        lines += _fields(action, defs)
        for example in action.get("examples", []):
            lines += json_block(readable(example))
    source = defs["DataSource"]
    lines += ["## Data sources", "", source.get("description", ""), ""]
    lines += _fields(source, defs)
    for example in source.get("examples", []):
        lines += json_block(readable(example))
    lines += _expressions()
    return page(lines)


def _props_of(node_type: str, defs: Schema) -> list[str]:
    ref = defs[f"{node_type}Node"]["properties"]["props"].get("$ref", "")
    return list(defs.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})) if ref else []


def render() -> dict[str, str]:
    """The page schema reference and the node gallery."""
    files = {PATH: render_page()}
    files.update({f"{GALLERY}/{name}": text for name, text in gallery_pages().items()})
    return files
