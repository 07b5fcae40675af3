"""The generated docs of an app: every function, component, page and table, from its
sources alone; whatever cannot be described is a note, never a failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from atoll.builder.appdocs import (
    app_docs,
    docs_path,
    generate_app_docs,
    read_app_docs,
    summary_line,
)
from atoll.builder.frontend import PAGES_FILE, check_pages

REPO = Path(__file__).resolve().parents[2]
TODO = REPO / "examples" / "todo"
SHELF = Path(__file__).with_name("appdocs_app")

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def _built(src: Path, tmp_path: Path) -> Path:
    """A built folder with the checked pages of ``src`` (what the docs read of a build)."""
    built = tmp_path / "builds" / "rev"
    built.mkdir(parents=True)
    pages, errors, _ = check_pages(src)
    assert errors == []
    (built / PAGES_FILE).write_text(json.dumps(pages))
    return built


def _docs(src: Path, tmp_path: Path) -> dict[str, Any]:
    return generate_app_docs(src, _built(src, tmp_path), "app")


def _operation(doc: dict[str, Any], name: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = doc["functions"]["paths"][f"/api/{name}"][method]
    return op


def _body_schema(op: dict[str, Any]) -> Any:
    return op["requestBody"]["content"]["application/json"]["schema"]


def _returns(op: dict[str, Any]) -> Any:
    return op["responses"]["200"]["content"]["application/json"]["schema"]


def _props(doc: dict[str, Any], component: str) -> dict[str, dict[str, Any]]:
    found = next(c for c in doc["components"] if c["name"] == component)
    return {p["name"]: p for p in found["props"]}


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    table: dict[str, Any] = next(t for t in doc["database"]["tables"] if t["name"] == name)
    return table


@needs_node
def test_the_todo_example_is_documented_whole(tmp_path: Path) -> None:
    doc = _docs(TODO, tmp_path)
    assert doc["notes"] == []
    paths = doc["functions"]["paths"]
    assert set(paths) == {"/api/todos"}
    assert {m for m in paths["/api/todos"] if m in ("get", "post", "patch", "delete")} == {
        "get", "post", "patch", "delete",
    }  # fmt: skip
    get = _operation(doc, "todos", "get")
    assert get["operationId"] == "get_todos" and get["parameters"] == []
    assert _returns(get) == {
        "type": "array",
        "items": {"type": "object", "additionalProperties": {}},
    }
    post = _operation(doc, "todos", "post")
    assert _body_schema(post) == {"$ref": "#/components/schemas/NewTodo"}
    assert post["requestBody"]["required"] is True
    schemas = doc["functions"]["components"]["schemas"]
    assert schemas["NewTodo"]["properties"]["title"] == {
        "type": "string", "minLength": 1, "maxLength": 200,
    }  # fmt: skip
    assert schemas["NewTodo"]["required"] == ["title"]
    assert schemas["Toggle"]["required"] == ["id", "done"]
    delete = _operation(doc, "todos", "delete")
    assert delete["parameters"] == [
        {"name": "id", "in": "query", "required": True, "schema": {"type": "integer"}}
    ]
    assert "422" in delete["responses"] and "500" in delete["responses"]

    assert _props(doc, "TodoStats") == {
        "todos": {
            "name": "todos", "type": "", "required": False, "default": "[]",
            "description": "", "sources": ["destructuring"],
        }
    }  # fmt: skip
    [page] = doc["pages"]
    assert page["route"] == "/" and page["title"] == "Todos"
    assert page["data"] == [{"name": "todos", "function": "todos", "method": "GET", "query": []}]
    assert page["components"] == [{"name": "TodoStats", "props": ["todos"]}]
    assert {(c["function"], c["method"]) for c in page["calls"]} == {
        ("todos", "POST"), ("todos", "PATCH"), ("todos", "DELETE"),
    }  # fmt: skip
    todos = _table(doc, "todos")
    assert [c["name"] for c in todos["columns"]] == ["id", "title", "done", "created_at"]
    done = todos["columns"][2]
    assert done == {
        "name": "done",
        "type": "INTEGER",
        "notNull": True,
        "default": "0",
        "primaryKey": 0,
    }
    assert doc["database"]["migrations"] == ["0001_init.sql"]
    assert summary_line(doc) == "docs: 4 operations, 1 component, 1 page, 1 table"


@needs_node
def test_the_fixture_app_props_models_and_relations(tmp_path: Path) -> None:
    doc = _docs(SHELF, tmp_path)
    assert doc["notes"] == []
    paths = doc["functions"]["paths"]
    assert set(paths) == {"/api/books", "/api/stats"}  # _shared.py is not a function
    get = _operation(doc, "books", "get")
    assert get["summary"] == "List the books of a shelf."
    params = {p["name"]: p for p in get["parameters"]}
    assert list(params) == ["shelf", "order", "limit"]  # request: atoll.Request is not one
    assert params["shelf"]["required"] is True
    assert params["order"]["schema"] == {"enum": ["title", "id"], "default": "title"}
    assert params["limit"]["required"] is False
    assert params["limit"]["schema"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    assert _returns(get) == {"type": "array", "items": {"$ref": "#/components/schemas/Book"}}

    post = _operation(doc, "books", "post")
    assert _body_schema(post) == {"$ref": "#/components/schemas/NewBook"}
    assert _returns(post) == {"$ref": "#/components/schemas/Book"}
    schemas = doc["functions"]["components"]["schemas"]
    new_book = schemas["NewBook"]  # a pydantic body model
    assert new_book["required"] == ["title", "shelf_id"]
    assert new_book["properties"]["title"]["description"] == "The book's title."
    assert new_book["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    book = schemas["Book"]  # a dataclass from the app's own module
    assert book["description"] == "A book on a shelf."
    assert book["required"] == ["id", "title"]
    assert list(book["properties"]) == ["id", "title", "tags", "shelf_id"]
    counts = schemas["Counts"]  # a TypedDict, named by a string annotation
    assert counts["required"] == ["books", "shelves"]
    assert _returns(_operation(doc, "stats", "get")) == {"$ref": "#/components/schemas/Counts"}

    card = _props(doc, "ShelfCard")  # TypeScript interface
    assert card["name"]["type"] == "string" and card["name"]["required"] is True
    assert card["name"]["description"] == "The shelf's name."
    assert card["max"]["required"] is False and card["max"]["default"] == "5"
    stars = _props(doc, "Stars")  # PropTypes
    assert stars["value"]["type"] == "number" and stars["value"]["required"] is True
    assert stars["outOf"]["required"] is False and stars["outOf"]["default"] == "5"
    blurb = _props(doc, "Blurb")  # JSDoc
    assert blurb["text"]["type"] == "string" and blurb["text"]["required"] is True
    assert blurb["text"]["description"] == "What the blurb says."
    assert blurb["muted"]["required"] is False and blurb["muted"]["default"] == "false"
    described = {c["name"]: c["description"] for c in doc["components"]}
    assert described["ShelfCard"] == "A shelf with its books."

    books = _table(doc, "books")
    assert books["foreignKeys"] == [
        {"columns": ["shelf_id"], "table": "shelves", "to": ["id"], "onUpdate": "NO ACTION",
         "onDelete": "CASCADE"}
    ]  # fmt: skip
    assert [i["name"] for i in books["indexes"]] == ["books_by_shelf"]
    shelves = _table(doc, "shelves")
    assert shelves["columns"][1]["notNull"] is True
    assert any(i["unique"] for i in shelves["indexes"])
    [page] = doc["pages"]
    assert page["data"] == [
        {"name": "books", "function": "books", "method": "GET", "query": ["shelf"]},
        {"name": "stats", "function": "stats", "method": "GET", "query": []},
    ]
    assert page["components"] == [
        {"name": "ShelfCard", "props": ["max"]},
        {"name": "Stars", "props": ["value"]},
    ]
    assert page["calls"] == [{"function": "books", "method": "POST"}]


def _hostile_app(tmp_path: Path) -> Path:
    src = tmp_path / "hostile"
    shutil.copytree(SHELF, src)
    (src / "functions" / "broken.py").write_text("def get(:\n    return 1\n")
    (src / "functions" / "huge.py").write_text("x = 1\n" * 200_000)
    (src / "functions" / "deep.py").write_text(
        "def get(x: " + "list[" * 3000 + "int" + "]" * 3000 + "): pass\n"
    )
    (src / "components" / "NoExport.jsx").write_text(
        "export function NoExport() { return null; }\n"
    )
    (src / "components" / "Broken.jsx").write_text(
        "export default function Broken( { return <b> }\n"
    )
    (src / "migrations" / "0002_bad.sql").write_text(
        "CREATE TABLE broken (id INTEGER PRIMARY KEY;\n"
    )
    return src


@needs_node
def test_hostile_sources_become_notes(tmp_path: Path) -> None:
    src = _hostile_app(tmp_path)
    doc = _docs(src, tmp_path)
    notes = {(n["part"], n["file"]): n["message"] for n in doc["notes"]}
    assert "does not parse" in notes["functions", "functions/broken.py"]
    assert "larger than" in notes["functions", "functions/huge.py"]
    assert ("functions", "functions/deep.py") in notes
    assert "no default export" in notes["components", "components/NoExport.jsx"]
    assert "does not parse" in notes["components", "components/Broken.jsx"]
    assert "0002_bad.sql failed" in notes["database", "migrations/0002_bad.sql"]
    # What could be described still is.
    assert {"/api/books", "/api/stats"} <= set(doc["functions"]["paths"])
    assert {t["name"] for t in doc["database"]["tables"]} == {"books", "shelves"}
    assert doc["database"]["migrations"] == ["0001_shelves.sql"]
    assert _props(doc, "ShelfCard")["name"]["required"] is True


def test_tenant_code_is_never_run(tmp_path: Path) -> None:
    src = tmp_path / "app"
    (src / "functions").mkdir(parents=True)
    marker = tmp_path / "ran"
    (src / "functions" / "boom.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "class M(type):\n    pass\n"
        "def get(x: __import__('os').system('touch {0}') = 1) -> None:\n    pass\n".format(marker)
    )
    doc = _docs(src, tmp_path)
    assert not marker.exists()
    assert "/api/boom" in doc["functions"]["paths"]


@needs_node
def test_docs_are_kept_beside_the_build_once(tmp_path: Path) -> None:
    built = _built(TODO, tmp_path)
    assert read_app_docs(built) is None
    first = app_docs(TODO, built, "todo")
    assert docs_path(built).name == "rev.docs.json" and docs_path(built).parent == built.parent
    assert not any(p.name.endswith(".docs.json") for p in built.iterdir())  # outside the build
    stamp = docs_path(built).stat().st_mtime_ns
    assert app_docs(TODO, built, "todo") == first == read_app_docs(built)
    assert docs_path(built).stat().st_mtime_ns == stamp
