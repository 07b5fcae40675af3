"""The page model and its JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from atoll.sdui.actions import DataName, DataSource
from atoll.sdui.nodes import Node
from atoll.sdui.values import NAME_PATTERN, BoundJson, SduiModel

SCHEMA_VERSION = 1
SCHEMA_ID = "/api/v1/schemas/page.json"


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


def page_json_schema() -> dict[str, Any]:
    """The JSON Schema of a page, as served at ``/api/v1/schemas/page.json``."""
    schema = Page.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
