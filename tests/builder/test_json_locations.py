"""Finding where a JSON path points in a page's text."""

from __future__ import annotations

import json

from atoll.builder.json_locations import locate_json_path, path_parts

PAGE = """{
  "schemaVersion": 1,
  "title": "Shop",
  "data": {"a b": [1, {"x": "y"}], "esc\\"aped": 2},
  "root": {
    "type": "Stack",
    "children": [
      {"type": "Text", "props": {"text": "one"}},
      {
        "type": "Nope",
        "props": {}
      }
    ]
  }
}
"""


def test_path_parts() -> None:
    assert path_parts("$") == []
    assert path_parts('$.root.children[12]["a b"].x') == ["root", "children", 12, "a b", "x"]
    assert path_parts('$["esc\\"aped"]') == ['esc"aped']
    for bad in ("root", "$.", "$[x]", "$..a", '$["open]'):
        assert path_parts(bad) is None, bad


def test_paths_point_at_their_values() -> None:
    assert json.loads(PAGE)  # the fixture is valid JSON
    assert locate_json_path(PAGE, "$") == (1, 1)
    assert locate_json_path(PAGE, "$.title") == (3, 12)
    assert locate_json_path(PAGE, "$.root.children[1].type") == (10, 17)
    assert locate_json_path(PAGE, "$.root.children[0].props.text") == (8, 42)
    assert locate_json_path(PAGE, '$.data["a b"][1].x') == (4, 29)
    assert locate_json_path(PAGE, '$.data["esc\\"aped"]') == (4, 49)


def test_missing_parts_point_at_the_nearest_parent() -> None:
    # A missing property is reported at the object that lacks it.
    assert locate_json_path(PAGE, "$.root.children[1].props.name") == (11, 18)
    assert locate_json_path(PAGE, "$.root.children[7]") == (7, 17)
    assert locate_json_path(PAGE, "$.title.deeper") == (3, 12)
    assert locate_json_path(PAGE, "root") is None


def test_hostile_texts_do_not_raise() -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + ', "b": 1}'
    assert locate_json_path(deep, "$.b") == (1, 1)  # cannot skip past it: stays at the parent
    assert locate_json_path('{"a": 1', "$.b") == (1, 1)
    assert locate_json_path("", "$.a") == (1, 1)
    assert locate_json_path("[1, 2", "$[5]") == (1, 1)
