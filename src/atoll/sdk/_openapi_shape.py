"""What every app's OpenAPI document has whatever its functions: the error schema, the
responses each operation may give, and the document around the paths.

Two documents are built with it and must not drift apart: the runtime's, from the imported
handlers in the sandbox (``_openapi``), and the build's, from the source alone
(``atoll.builder._describe_functions``, in a child interpreter). Standard library only.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "detail": {"type": "object"},
            },
        }
    },
}


def error_response(description: str) -> dict[str, Any]:
    """A response whose body is the platform's error object."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def responses() -> dict[str, Any]:
    """The responses of an operation: 200 (its schema to be filled in) and the errors the
    platform answers for any function."""
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
        "422": error_response("A parameter is missing or invalid."),
        "500": error_response("The function raised an exception."),
        "504": error_response("The function ran past its time limit."),
    }


def document(
    title: str, paths: dict[str, Any], schemas: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an app's functions."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {"schemas": {**(schemas or {}), "Error": ERROR_SCHEMA}},
    }
