"""Fill a handler's parameters from a request by name, checked against their type hints.

``request`` (or any parameter annotated ``Request``) gets the request; ``body`` gets the JSON
body converted to its annotation (a pydantic model, a dataclass, a dict, a list, ...); every
other parameter is a query parameter. A value that does not fit is a ``BadParameter`` that
names the parameter (the caller sees a 422).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from ._http import Request

_MISSING = inspect.Parameter.empty


class BadParameter(Exception):
    """A parameter is missing or does not match its type hint."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"parameter {parameter!r}: {message}")
        self.location = parameter  # e.g. ``body.items[2].qty``
        self.parameter = parameter.split(".", 1)[0].split("[", 1)[0]
        self.message = message


@dataclasses.dataclass(frozen=True)
class Param:
    """How one handler parameter is filled."""

    name: str
    kind: str  # "request" | "body" | "query"
    annotation: Any
    default: Any


def describe(handler: Callable[..., Any]) -> list[Param]:
    """The parameters of a handler and where each one comes from."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # unresolvable forward references: fall back to no hints
        hints = {}
    params = []
    for p in inspect.signature(handler).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, Any)
        if p.name == "request" or annotation is Request:
            kind = "request"
        elif p.name == "body":
            kind = "body"
        else:
            kind = "query"
        params.append(Param(p.name, kind, annotation, p.default))
    return params


def bind(params: list[Param], request: Request) -> dict[str, Any]:
    """Keyword arguments for a handler call; raises BadParameter."""
    kwargs: dict[str, Any] = {}
    for p in params:
        if p.kind == "request":
            kwargs[p.name] = request
        elif p.kind == "body":
            if not request.body:
                if p.default is not _MISSING:
                    continue
                raise BadParameter("body", "a JSON body is required")
            try:
                raw = json.loads(request.body)
            except ValueError as exc:
                raise BadParameter("body", f"invalid JSON: {exc}") from exc
            kwargs[p.name] = convert(raw, p.annotation, "body")
        else:
            values = [v for k, v in request.query_items if k == p.name]
            if not values:
                if p.default is not _MISSING:
                    continue
                if _is_optional(p.annotation):
                    kwargs[p.name] = None
                    continue
                raise BadParameter(p.name, "missing query parameter")
            kwargs[p.name] = _query_value(values, p.annotation, p.name)
    return kwargs


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation) and _is_union(annotation)


def _is_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin is typing.Union or origin is types.UnionType


def _query_value(values: list[str], annotation: Any, name: str) -> Any:
    if _is_union(annotation):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            annotation = members[0]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation) or (str,)
        return origin(_scalar(v, args[0], name) for v in values)
    return _scalar(values[-1], annotation, name)


def _scalar(text: str, annotation: Any, name: str) -> Any:
    """A query string value converted to a scalar annotation."""
    if _is_union(annotation):
        errors = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            try:
                return _scalar(text, arg, name)
            except BadParameter as exc:
                errors.append(exc.message)
        raise BadParameter(name, "; ".join(errors))
    if annotation is Any or annotation is str or annotation is inspect.Parameter.empty:
        return text
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise BadParameter(name, f"expected a boolean, got {text!r}")
    if annotation in (int, float):
        try:
            return annotation(text)
        except ValueError:
            raise BadParameter(name, f"expected {annotation.__name__}, got {text!r}") from None
    return convert(text, annotation, name)


def convert(value: Any, annotation: Any, name: str) -> Any:
    """A JSON value converted to (and checked against) a type hint."""
    if annotation is Any or annotation is inspect.Parameter.empty or annotation is object:
        return value
    validate = getattr(annotation, "model_validate", None)
    if callable(validate):
        try:
            return validate(value)
        except Exception as exc:  # pydantic.ValidationError, without importing pydantic
            raise BadParameter(name, str(exc)) from None
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if not isinstance(value, dict):
            raise BadParameter(name, f"expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(annotation)
        kwargs = {}
        for f in dataclasses.fields(annotation):
            if f.name in value:
                kwargs[f.name] = convert(value[f.name], hints.get(f.name, Any), f"{name}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise BadParameter(name, f"missing field {f.name!r}")
        unknown = set(value) - {f.name for f in dataclasses.fields(annotation)}
        if unknown:
            raise BadParameter(name, f"unknown field(s) {sorted(unknown)}")
        return annotation(**kwargs)
    if _is_union(annotation):
        if value is None and type(None) in typing.get_args(annotation):
            return None
        messages = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            try:
                return convert(value, arg, name)
            except BadParameter as exc:
                messages.append(exc.message)
        raise BadParameter(name, "; ".join(messages))
    origin = typing.get_origin(annotation) or annotation
    args = typing.get_args(annotation)
    if origin is dict:
        if not isinstance(value, dict):
            raise BadParameter(name, f"expected an object, got {type(value).__name__}")
        if len(args) == 2:
            return {k: convert(v, args[1], f"{name}.{k}") for k, v in value.items()}
        return value
    if origin in (list, set, frozenset, tuple):
        if not isinstance(value, list):
            raise BadParameter(name, f"expected an array, got {type(value).__name__}")
        item = args[0] if args else Any
        return origin(convert(v, item, f"{name}[{i}]") for i, v in enumerate(value))
    if origin is typing.Literal:
        if value not in args:
            raise BadParameter(name, f"expected one of {list(args)}, got {value!r}")
        return value
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (int, float, str, bool):
        if type(value) is not origin:
            raise BadParameter(name, f"expected {origin.__name__}, got {type(value).__name__}")
        return value
    if isinstance(origin, type):
        if isinstance(value, origin):
            return value
        try:
            return origin(value)
        except Exception as exc:
            raise BadParameter(name, f"expected {origin.__name__}: {exc}") from None
    return value


def schema(annotation: Any) -> dict[str, Any]:
    """A JSON Schema for a type hint (best effort; ``{}`` means any value)."""
    json_schema = getattr(annotation, "model_json_schema", None)
    if callable(json_schema):
        result: dict[str, Any] = json_schema()
        return result
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation)
        fields = dataclasses.fields(annotation)
        return {
            "type": "object",
            "title": annotation.__name__,
            "properties": {f.name: schema(hints.get(f.name, Any)) for f in fields},
            "required": [
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ],
        }
    if _is_union(annotation):
        return {"anyOf": [schema(a) for a in typing.get_args(annotation)]}
    simple = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        type(None): "null",
    }
    if annotation in simple:
        return {"type": simple[annotation]}
    origin = typing.get_origin(annotation) or annotation
    args = typing.get_args(annotation)
    if origin is dict:
        return {"type": "object"}
    if origin in (list, set, frozenset, tuple):
        return {"type": "array", "items": schema(args[0]) if args else {}}
    if origin is typing.Literal:
        return {"enum": list(args)}
    return {}
