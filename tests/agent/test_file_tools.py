"""The agent's file tools on a real workspace: read before write, exact edits with the
nearest candidates when they miss, placeholders refused, and no tool call that raises."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from atoll.agent.draft import Draft, ReadLedger
from atoll.agent.file_tools import file_tools, placeholder
from atoll.agent.tools import MAX_RESULT_CHARS, Toolbox, ToolResult
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change

TODOS = """from pydantic import BaseModel


class Todo(BaseModel):
    title: str
    done: bool = False


def get() -> list[Todo]:
    return []


def post(todo: Todo) -> Todo:
    return todo
"""


@pytest.fixture
def app(cp: ControlPlane, client: TestClient, acme: dict[str, str]) -> App:
    """acme's app ``shop`` with two files committed."""
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    shop = _app(cp)
    files = {"functions/todos.py": TODOS, "pages/index.json": '{"title": "Shop"}\n'}
    changes = [Change(p, cp.workspaces.put_blob(shop, t.encode())) for p, t in files.items()]
    cp.workspaces.commit(shop, None, changes, "test", "start")
    return _app(cp)


def _app(cp: ControlPlane) -> App:
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")


def _box(cp: ControlPlane, app: App, ledger: ReadLedger | None = None) -> tuple[Toolbox, Draft]:
    draft = Draft.of_head(cp, app, ledger)
    return Toolbox(file_tools(draft)), draft


def call(box: Toolbox, name: str, **args: object) -> ToolResult:
    return box.call(name, json.dumps(args))


def test_an_edit_of_an_unread_file_is_refused_then_accepted_after_reading(
    cp: ControlPlane, app: App
) -> None:
    box, draft = _box(cp, app)
    edit = {
        "path": "functions/todos.py",
        "search": "done: bool = False",
        "replace": "done: bool = True",
    }
    refused = call(box, "edit_file", **edit)
    assert not refused.ok and "was not read in this conversation" in refused.text
    read = call(box, "read_file", path="functions/todos.py")
    assert read.ok and read.text.startswith("functions/todos.py (14 lines)\n")
    assert " 6| " in read.text and "done: bool = False" in read.text
    assert call(box, "edit_file", **edit) == ToolResult(True, "edited functions/todos.py at line 6")
    # Its own edit counts as read: a second edit needs no new read.
    assert call(
        box, "edit_file", path="functions/todos.py", search="title: str", replace="title: str = ''"
    ).ok
    assert draft.changed_paths() == ["functions/todos.py"]
    # Committed as one revision of the turn.
    revision = draft.commit("agent", "turn 1")
    assert revision is not None
    data, _sha, _rev = cp.workspaces.read(_app(cp), "functions/todos.py")
    assert b"done: bool = True" in data and b"title: str = ''" in data


def test_a_file_changed_since_it_was_read_must_be_read_again(cp: ControlPlane, app: App) -> None:
    ledger = ReadLedger()
    box, _ = _box(cp, app, ledger)
    assert call(box, "read_file", path="pages/index.json").ok
    # Someone pushes a new version between two turns of the conversation.
    blob = cp.workspaces.put_blob(app, b'{"title": "Shop 2"}\n')
    cp.workspaces.commit(app, app.head_revision, [Change("pages/index.json", blob)], "u", "edit")
    box, _ = _box(cp, _app(cp), ledger)
    edit = {"path": "pages/index.json", "search": "Shop", "replace": "Store"}
    stale = call(box, "edit_file", **edit)
    assert not stale.ok and "changed since it was read" in stale.text
    assert call(box, "read_file", path="pages/index.json").ok
    assert call(box, "edit_file", **edit).ok


def test_a_missed_edit_shows_the_nearest_text_with_line_numbers(cp: ControlPlane, app: App) -> None:
    box, _ = _box(cp, app)
    call(box, "read_file", path="functions/todos.py")
    missed = call(
        box,
        "edit_file",
        path="functions/todos.py",
        search="def post(todo: Todo) -> Todo:\n  return todo",  # two spaces, not four
        replace="def post(todo: Todo) -> Todo:\n    return todo.model_copy()",
    )
    assert not missed.ok
    assert "was not found in functions/todos.py" in missed.text
    assert "--- lines 13-14" in missed.text and "13| def post(todo: Todo) -> Todo:" in missed.text
    twice = call(box, "edit_file", path="functions/todos.py", search="Todo", replace="Item")
    assert not twice.ok and "occurs 4 times" in twice.text and "(lines 4, 9, 13)" in twice.text


@pytest.mark.parametrize(
    "text",
    [
        "def get():\n    # ... rest of the code unchanged\n",
        "# existing code here ...\nx = 1\n",
        "x = 1\n...\n",
        "// rest of the component\nexport default App;\n",
        "{/* ... */}\n",
        "<!-- content remains the same -->\n",
    ],
)
def test_placeholders_are_refused(cp: ControlPlane, app: App, text: str) -> None:
    box, draft = _box(cp, app)
    result = call(box, "write_file", path="functions/new.py", content=text)
    assert not result.ok and "stands in for code" in result.text
    assert draft.changed_paths() == []


def test_real_code_is_not_taken_for_a_placeholder() -> None:
    for text in (
        "from typing import Protocol\n\nclass P(Protocol):\n    def f(self) -> int: ...\n",
        "x = Field(...)\n# the rest is validated by pydantic\n",
        "print('rest of the code unchanged')\n",
        "items = [1, 2, 3]  # unchanged\n",
    ):
        assert placeholder(text) is None, text


def test_write_creates_only_new_files_and_delete_and_rename_need_a_read(
    cp: ControlPlane, app: App
) -> None:
    box, draft = _box(cp, app)
    exists = call(box, "write_file", path="functions/todos.py", content="x = 1\n")
    assert not exists.ok and "with edit_file" in exists.text
    assert call(box, "write_file", path="functions/util.py", content="X = 1\n").ok
    assert not call(box, "delete_file", path="pages/index.json").ok
    assert call(box, "read_file", path="pages/index.json").ok
    assert call(box, "rename_file", path="pages/index.json", to="pages/home.json").ok
    assert call(box, "list_files").text.splitlines() == [
        f"functions/todos.py ({len(TODOS)} B)",
        "functions/util.py (6 B)",
        "pages/home.json (18 B)",
    ]
    assert call(box, "delete_file", path="functions/util.py").ok  # written here: known
    assert draft.changed_paths() == ["pages/home.json", "pages/index.json"]


def test_search_and_ranges(cp: ControlPlane, app: App) -> None:
    box, _ = _box(cp, app)
    assert call(box, "search", pattern=r"def \w+\(").text.splitlines() == [
        "functions/todos.py:9: def get() -> list[Todo]:",
        "functions/todos.py:13: def post(todo: Todo) -> Todo:",
    ]
    assert call(box, "search", pattern="nothing-like-this").text == "no matches"
    bad = call(box, "search", pattern="(unclosed")
    assert not bad.ok and "not a valid regular expression" in bad.text
    part = call(box, "read_file", path="functions/todos.py", start_line=9, end_line=10)
    assert part.text.splitlines() == [
        "functions/todos.py (14 lines), lines 9-10",
        " 9| def get() -> list[Todo]:",
        "10|     return []",
    ]


@pytest.mark.parametrize(
    ("name", "arguments", "said"),
    [
        ("read_file", "{not json", "are not JSON"),
        ("read_file", "[1, 2]", "must be a JSON object"),
        ("read_file", "{}", "bad arguments for read_file: path: Field required"),
        ("read_file", '{"path": "a", "extra": 1}', "extra: Extra inputs are not permitted"),
        ("read_file", '{"path": "../../etc/passwd"}', "path"),
        ("read_file", '{"path": "nope.py"}', "not found"),
        ("read_file", '{"path": "functions/todos.py", "start_line": 0}', "greater than or equal"),
        ("rm_rf", "{}", "there is no tool 'rm_rf'"),
        ("search", json.dumps({"pattern": "a" * 600}), "longer than 500"),
    ],
)
def test_bad_tool_calls_come_back_as_results(
    cp: ControlPlane, app: App, name: str, arguments: str, said: str
) -> None:
    box, _ = _box(cp, app)
    result = box.call(name, arguments)
    assert not result.ok and said in result.text, result


def test_a_bug_in_a_tool_is_a_result_and_long_results_are_cut(cp: ControlPlane, app: App) -> None:
    box, draft = _box(cp, app)

    def broken(args: object) -> str:
        raise RuntimeError("bug")

    tool = box.tools["list_files"]
    box.tools["list_files"] = type(tool)(tool.name, tool.description, tool.args, broken)
    result = call(box, "list_files")
    assert not result.ok and "failed inside the platform" in result.text
    big = "x = 1\n" * 10_000
    assert call(box, "write_file", path="functions/big.py", content=big).ok
    read = call(box, "read_file", path="functions/big.py")
    assert (
        read.ok
        and len(read.text) < MAX_RESULT_CHARS + 100
        and "more characters not shown" in read.text
    )


def test_tool_specs_are_strict_json_schemas(cp: ControlPlane, app: App) -> None:
    box, _ = _box(cp, app)
    specs = {s["function"]["name"]: s["function"] for s in box.specs()}
    assert set(specs) == {
        "list_files", "read_file", "search", "write_file", "edit_file", "add_migration",
        "delete_file", "rename_file",
    }  # fmt: skip
    edit = specs["edit_file"]["parameters"]
    assert edit["additionalProperties"] is False and edit["required"] == [
        "path",
        "search",
        "replace",
    ]


def test_add_migration_numbers_after_the_last_one(cp: ControlPlane, app: App) -> None:
    box, draft = _box(cp, app)
    first = migrate(box, name="init", sql="CREATE TABLE t (x INTEGER);")
    assert first.ok and first.text.startswith("wrote migrations/0001_init.sql")
    assert draft.content("migrations/0001_init.sql") == b"CREATE TABLE t (x INTEGER);\n"
    draft.write("migrations/0007_later.sql", b"SELECT 1;\n")
    draft.write("migrations/README.md", b"notes\n")  # not a migration: not counted
    assert migrate(box, name="add_y", sql="ALTER TABLE t ADD y TEXT;").text.startswith(
        "wrote migrations/0008_add_y.sql"
    )
    for bad in ("Add Y", "../x", "", "x" * 61, "9lives"):
        refused = migrate(box, name=bad, sql="SELECT 1;")
        assert not refused.ok and refused.text.startswith("bad arguments"), bad
    lazy = migrate(box, name="more", sql="-- rest of the code unchanged ...")
    assert not lazy.ok and "stands in for code" in lazy.text


def migrate(box: Toolbox, **args: object) -> ToolResult:
    return box.call("add_migration", json.dumps(args))
