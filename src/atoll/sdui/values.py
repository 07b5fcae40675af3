"""Values in a page: literals, explicit bindings ``{"$bind": expr}`` and names."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from atoll.sdui.expressions import ExpressionError, parse_expression

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
FIELD_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
FUNCTION_PATTERN = r"^[a-z_][a-z0-9_]{0,63}$"
MAX_BINDING_DEPTH = 32


class SduiModel(BaseModel):
    """Base of every page model: camelCase JSON names, unknown keys refused."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


def _check_expression(source: str) -> str:
    try:
        parse_expression(source)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from exc
    return source


def _unwrap_binding(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bind"}:
        return value["$bind"]
    return value


Expression = Annotated[
    str,
    AfterValidator(_check_expression),
    Field(description="An expression: paths and operators, e.g. `state.count > 0`."),
]
# Where a value is always an expression, `{"$bind": expr}` is accepted too and unwrapped.
BIND_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"$bind": {"type": "string"}},
    "required": ["$bind"],
    "additionalProperties": False,
}
ExpressionOrBind = Annotated[
    str,
    BeforeValidator(_unwrap_binding),
    AfterValidator(_check_expression),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, BIND_JSON_SCHEMA],
            "description": "An expression (or a binding), e.g. `data.todos`.",
        }
    ),
]


class Bind(SduiModel):
    """An explicit binding: the value of an expression, e.g. ``{"$bind": "data.todos"}``."""

    expr: Expression = Field(alias="$bind")


def _check_nested_bindings(value: Any, depth: int = 0) -> Any:
    if depth > MAX_BINDING_DEPTH:
        raise ValueError(f"value nests deeper than {MAX_BINDING_DEPTH}")
    if isinstance(value, dict):
        if "$bind" in value:
            if len(value) != 1:
                raise ValueError('a binding has exactly one key, "$bind"')
            source = value["$bind"]
            if not isinstance(source, str):
                raise ValueError('"$bind" must be a string expression')
            try:
                parse_expression(source)
            except ExpressionError as exc:
                raise ValueError(f"in $bind: {exc}") from exc
            return value
        for item in value.values():
            _check_nested_bindings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_nested_bindings(item, depth + 1)
    return value


# Any JSON; `{"$bind": expr}` objects anywhere inside are resolved by the renderer.
BoundJson = Annotated[JsonValue, BeforeValidator(_check_nested_bindings)]

Text = Annotated[str | int | float | Bind, Field(description="Text, or a binding.")]


def _state_path(value: str) -> str:
    path = value.removeprefix("state.")
    for part in path.split("."):
        if not part or part in ("__proto__", "prototype", "constructor"):
            raise ValueError(f"bad state path {value!r}")
    return path


StatePath = Annotated[
    str,
    Field(
        pattern=r"^(state\.)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$",
        description="Where in page state a value lives, e.g. `state.draft`.",
    ),
    AfterValidator(_state_path),
]


Flag = Annotated[bool | Bind, Field(description="A boolean, or a binding.")]
