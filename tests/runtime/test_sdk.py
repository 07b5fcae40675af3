"""The SDK's parameter binding, JSON encoding and OpenAPI generation, called directly."""

from __future__ import annotations

import dataclasses
import datetime
import types
from typing import Literal

import pytest
from pydantic import BaseModel

from atoll.sdk import Request, Response
from atoll.sdk._binding import BadParameter, bind, convert, describe
from atoll.sdk._encode import to_json_bytes
from atoll.sdk._openapi import document
from atoll.sdk._worker import FunctionSet, invoke


class Item(BaseModel):
    name: str
    qty: int = 1


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


def handler(request: Request, body: Item, limit: int = 10, tags: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    return {}


def req(query: list[tuple[str, str]] = [], body: bytes = b"") -> Request:  # noqa: B006
    return Request("POST", "/api/x", query, [("Content-Type", "application/json")], body, "rid")


def test_describe_sorts_parameters_by_source() -> None:
    kinds = {p.name: p.kind for p in describe(handler)}
    assert kinds == {"request": "request", "body": "body", "limit": "query", "tags": "query"}


def test_bind_fills_by_name_and_converts() -> None:
    r = req([("limit", "3"), ("tags", "a"), ("tags", "b")], b'{"name": "n"}')
    kwargs = bind(describe(handler), r)
    assert kwargs["request"] is r
    assert kwargs["body"] == Item(name="n")
    assert kwargs["limit"] == 3 and kwargs["tags"] == ["a", "b"]


def test_missing_body_and_bad_values_name_the_parameter() -> None:
    with pytest.raises(BadParameter) as info:
        bind(describe(handler), req())
    assert info.value.parameter == "body"
    with pytest.raises(BadParameter) as info:
        bind(describe(handler), req([("limit", "x")], b'{"name": "n"}'))
    assert info.value.parameter == "limit"


def test_convert_dataclasses_literals_and_unions() -> None:
    assert convert({"x": 1}, Point, "body") == Point(1.0, 0.0)
    with pytest.raises(BadParameter, match="unknown field"):
        convert({"x": 1, "z": 2}, Point, "body")
    with pytest.raises(BadParameter, match="missing field"):
        convert({}, Point, "body")
    assert convert("a", Literal["a", "b"], "p") == "a"
    with pytest.raises(BadParameter):
        convert("c", Literal["a", "b"], "p")
    assert convert(None, int | None, "p") is None
    with pytest.raises(BadParameter):
        convert(True, int, "p")


def test_encoding_of_return_values() -> None:
    value = {"d": datetime.date(2024, 1, 2), "m": Item(name="a"), "p": Point(1, 2), "t": (1,)}
    assert to_json_bytes(value) == (
        b'{"d":"2024-01-02","m":{"name":"a","qty":1},"p":{"x":1,"y":2},"t":[1]}'
    )
    with pytest.raises(TypeError):
        to_json_bytes(object())


def test_response_object() -> None:
    assert Response({"a": 1}, status=201).headers["content-type"] == "application/json"
    assert Response("hi").body == b"hi"
    assert Response(b"raw", media_type="image/png").headers == {"content-type": "image/png"}


def test_openapi_document() -> None:
    module = types.ModuleType("m")
    module.post = handler  # type: ignore[attr-defined]
    doc = document({"items": module}, "app")
    op = doc["paths"]["/api/items"]["post"]
    assert [p["name"] for p in op["parameters"]] == ["limit", "tags"]
    assert op["parameters"][1]["schema"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "string"},
    }
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["name"]


def test_invoke_maps_outcomes_to_statuses() -> None:
    module = types.ModuleType("m")
    module.get = lambda: 1 / 0  # type: ignore[attr-defined]
    module.put = lambda: bytearray(1)  # type: ignore[attr-defined]
    functions = FunctionSet()
    functions.modules["f"] = module
    header, _ = invoke(functions, {"function": "f", "method": "GET"}, b"", False)
    assert header["status"] == 500
    assert header["error"]["message"] == "ZeroDivisionError: division by zero"
    assert "traceback" not in header["error"]["detail"]
    header, _ = invoke(functions, {"function": "f", "method": "GET"}, b"", True)
    assert "Traceback" in header["error"]["detail"]["traceback"]
    header, _ = invoke(functions, {"function": "f", "method": "PUT"}, b"", False)
    assert header["status"] == 500 and "cannot encode" in header["error"]["message"]
    header, _ = invoke(functions, {"function": "f", "method": "POST"}, b"", False)
    assert header["status"] == 404 and header["error"]["detail"]["allowed"] == ["GET", "PUT"]
