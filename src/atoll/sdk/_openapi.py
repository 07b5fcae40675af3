"""The OpenAPI document of an app's functions, built from their signatures in the sandbox."""

from __future__ import annotations

import inspect
import typing
from types import ModuleType
from typing import Any

from . import _openapi_shape as shape
from ._binding import describe, schema

METHODS = ("get", "post", "put", "patch", "delete")


def operation(name: str, method: str, handler: Any) -> dict[str, Any]:
    """The OpenAPI operation object of one handler."""
    params = describe(handler)
    op: dict[str, Any] = {
        "operationId": f"{method}_{name}",
        "summary": (inspect.getdoc(handler) or "").split("\n")[0] or f"{method.upper()} {name}",
        "parameters": [
            {
                "name": p.name,
                "in": "query",
                "required": p.default is inspect.Parameter.empty
                and type(None) not in typing.get_args(p.annotation),
                "schema": schema(p.annotation),
            }
            for p in params
            if p.kind == "query"
        ],
        "responses": shape.responses(),
    }
    try:
        returns = typing.get_type_hints(handler).get("return")
    except Exception:
        returns = None
    if returns is not None:
        op["responses"]["200"]["content"]["application/json"]["schema"] = schema(returns)
    for p in params:
        if p.kind == "body":
            op["requestBody"] = {
                "required": p.default is inspect.Parameter.empty,
                "content": {"application/json": {"schema": schema(p.annotation)}},
            }
    return op


def document(modules: dict[str, ModuleType], title: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every function of an app."""
    paths: dict[str, Any] = {}
    for name in sorted(modules):
        ops = {}
        for method in METHODS:
            handler = getattr(modules[name], method, None)
            if callable(handler):
                try:
                    ops[method] = operation(name, method, handler)
                except Exception as exc:  # a signature we cannot describe still gets listed
                    ops[method] = {"summary": f"(undocumented: {exc})", "responses": {}}
        if ops:
            paths[f"/api/{name}"] = ops
    return shape.document(title, paths)
