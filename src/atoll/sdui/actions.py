"""What a page does: data sources that call functions and actions run on events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from atoll.sdui.examples import ACTION_EXAMPLES, DATA_SOURCE_EXAMPLES
from atoll.sdui.values import (
    FUNCTION_PATTERN,
    NAME_PATTERN,
    Bind,
    BoundJson,
    SduiModel,
    StatePath,
    Text,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
FunctionName = Annotated[
    str, Field(pattern=FUNCTION_PATTERN, description="A function: functions/<name>.py.")
]
DataName = Annotated[str, Field(pattern=NAME_PATTERN)]


class DataSource(SduiModel):
    """Page data: either the result of calling one of the app's functions, or a value."""

    model_config = ConfigDict(json_schema_extra={"examples": DATA_SOURCE_EXAMPLES})

    function: FunctionName | None = None
    method: HttpMethod = "GET"
    query: dict[str, BoundJson] = Field(default_factory=dict)
    value: BoundJson = None

    @model_validator(mode="after")
    def _one_kind(self) -> DataSource:
        if self.function is None and self.value is None:
            raise ValueError('a data source needs "function" (or a static "value")')
        if self.function is not None and self.value is not None:
            raise ValueError('a data source has either "function" or "value", not both')
        return self


class CallAction(SduiModel):
    """Call one of the app's functions; run ``onSuccess``/``onError`` with ``result``/``error``."""

    model_config = ConfigDict(json_schema_extra={"examples": ACTION_EXAMPLES["call"]})

    action: Literal["call"]
    function: FunctionName
    method: HttpMethod = "POST"
    query: dict[str, BoundJson] = Field(default_factory=dict)
    body: BoundJson = None
    on_success: list[Action] = Field(default_factory=list)
    on_error: list[Action] = Field(default_factory=list)


class SetStateAction(SduiModel):
    """Set a value in page state (``state.<path>``)."""

    model_config = ConfigDict(json_schema_extra={"examples": ACTION_EXAMPLES["setState"]})

    action: Literal["setState"]
    path: StatePath
    value: BoundJson = None


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class RefreshAction(SduiModel):
    """Load data sources again: the ones named (a name or a list), or all of them."""

    model_config = ConfigDict(json_schema_extra={"examples": ACTION_EXAMPLES["refresh"]})

    action: Literal["refresh"]
    data: Annotated[
        list[DataName] | None,
        BeforeValidator(_as_list),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": NAME_PATTERN},
                    {"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN}},
                    {"type": "null"},
                ]
            }
        ),
    ] = None


class NavigateAction(SduiModel):
    """Go to another page of the app (client-side), or to an external URL."""

    model_config = ConfigDict(json_schema_extra={"examples": ACTION_EXAMPLES["navigate"]})

    action: Literal["navigate"]
    to: Annotated[str, Field(min_length=1)] | Bind


class MessageAction(SduiModel):
    """Show a short message to the visitor."""

    model_config = ConfigDict(json_schema_extra={"examples": ACTION_EXAMPLES["message"]})

    action: Literal["message"]
    text: Text
    level: Literal["info", "success", "error"] = "info"


Action = Annotated[
    CallAction | SetStateAction | RefreshAction | NavigateAction | MessageAction,
    Field(discriminator="action"),
]
CallAction.model_rebuild()
