"""The page model and its JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from atoll.sdui.actions import DataName, DataSource
from atoll.sdui.nodes import Node
from atoll.sdui.values import NAME_PATTERN, BoundJson, SduiModel

SCHEMA_VERSION = 1
SCHEMA_ID = "/api/v1/schemas/page.json"
NODE_TYPE_PATTERN = "^[A-Z][A-Za-z0-9_]{0,63}$"


class Page(SduiModel):
    """One page of an app: ``pages/index.json`` is ``/``, ``pages/about.json`` is ``/about``."""

    schema_version: Literal[1] = Field(description="Version of this page format.")
    title: Annotated[str, Field(max_length=200)] = ""
    data: dict[DataName, DataSource] = Field(
        default_factory=dict, description="Named data, loaded when the page opens: `data.<name>`."
    )
    state: dict[Annotated[str, Field(pattern=NAME_PATTERN)], BoundJson] = Field(
        default_factory=dict, description="Initial page state: `state.<name>`."
    )
    root: Node

    def to_json(self) -> dict[str, Any]:
        """The page as JSON-ready data, in its canonical (camelCase) form."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True) | {
            "schemaVersion": self.schema_version
        }


def _node_union(defs: dict[str, Any], refs: list[str]) -> dict[str, Any]:
    """One ``if type == X then X`` per node type: validators only check the matching one."""
    branches: list[dict[str, Any]] = []
    for ref in refs:
        type_schema = defs[ref.rsplit("/", 1)[1]]["properties"]["type"]
        branches.append({"if": {"properties": {"type": type_schema}}, "then": {"$ref": ref}})
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string", "pattern": NODE_TYPE_PATTERN}},
        "allOf": branches,
    }


def _use_node_def(value: Any, node_refs: set[str]) -> Any:
    if isinstance(value, list):
        return [_use_node_def(v, node_refs) for v in value]
    if not isinstance(value, dict):
        return value
    one_of = value.get("oneOf")
    if isinstance(one_of, list) and {r.get("$ref") for r in one_of} == node_refs:
        return {"$ref": "#/$defs/Node"}
    return {k: _use_node_def(v, node_refs) for k, v in value.items()}


def page_json_schema() -> dict[str, Any]:
    """The JSON Schema of a page, as served at ``/api/v1/schemas/page.json``."""
    schema = Page.model_json_schema(by_alias=True)
    refs = [r["$ref"] for r in schema["properties"]["root"]["oneOf"]]
    schema = _use_node_def(schema, set(refs))
    schema["$defs"]["Node"] = _node_union(schema["$defs"], refs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
