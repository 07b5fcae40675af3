"""``docs/reference/http-api.md``: the control plane's HTTP API, from its OpenAPI document."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from atoll.api.app import make_app
from atoll.config import Settings
from atoll.docsgen.markdown import cell, code, page, slug, table
from atoll.services import ControlPlane

PATH = "docs/reference/http-api.md"
TITLE = "HTTP API"

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
Schema = dict[str, Any]


def openapi_document() -> Schema:
    """The control plane's OpenAPI document, as ``/api/v1/openapi.json`` serves it.

    The app is built on a throwaway data directory and never served.
    """
    with tempfile.TemporaryDirectory(prefix="atoll-docsgen-") as data_dir:
        cp = ControlPlane.open(Settings(data_dir=Path(data_dir)))
        try:
            return make_app(cp).openapi()
        finally:
            cp.close()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def schema_type(schema: Schema) -> str:
    """A schema as one readable phrase, linking named schemas to their field tables."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{slug(name)})"
    if "enum" in schema:
        return " / ".join(code(v) for v in schema["enum"])
    if "const" in schema:
        return code(schema["const"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [schema_type(s) for s in schema[key]]
            return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {schema_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {schema_type(schema['additionalProperties'])}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def field_table(schema: Schema) -> list[str]:
    """The fields of an object schema: name, type, required, description."""
    required = set(schema.get("required", []))
    rows = [
        [code(name), schema_type(field), "yes" if name in required else "",
         _describe(field)]
        for name, field in schema.get("properties", {}).items()
    ]  # fmt: skip
    return table(["field", "type", "required", "description"], rows)


def _describe(schema: Schema) -> str:
    text = schema.get("description", "")
    if "default" in schema and schema["default"] not in (None, [], {}):
        text = f"{text} Default: {code(json.dumps(schema['default']))}.".strip()
    return str(text)


def _body(content: dict[str, Any]) -> str:
    parts = []
    for media_type, body in sorted(content.items()):
        described = schema_type(body["schema"]) if "schema" in body else ""
        parts.append(f"{code(media_type)} {described}".strip())
    return "; ".join(parts)


def _auth(operation: Schema, schemes: dict[str, Any]) -> str:
    names = sorted({name for need in operation.get("security") or [] for name in need})
    if not names:
        return "none"
    kinds = {"bearer": "bearer token"}
    return " or ".join(kinds.get(schemes.get(n, {}).get("scheme", ""), n) for n in names)


def _operation(path: str, method: str, op: Schema, doc: Schema) -> list[str]:
    schemes = doc.get("components", {}).get("securitySchemes", {})
    lines = [f"### {method.upper()} {path}", ""]
    lines += [f"**{op.get('summary', '')}** · auth: {_auth(op, schemes)}", ""]
    if op.get("description"):
        lines += [op["description"].strip(), ""]
    params = op.get("parameters", [])
    if params:
        lines += ["**Parameters**", ""]
        lines += table(
            ["name", "in", "type", "required", "description"],
            [[code(p["name"]), p["in"], schema_type(p.get("schema", {})),
              "yes" if p.get("required") else "", _describe(p) or _describe(p.get("schema", {}))]
             for p in params],
        )  # fmt: skip
    body = op.get("requestBody")
    if body:
        required = " (required)" if body.get("required") else ""
        lines += [f"**Request body**{required}: {_body(body.get('content', {}))}", ""]
        for media in body.get("content", {}).values():
            ref = media.get("schema", {}).get("$ref")
            if ref:
                lines += field_table(doc["components"]["schemas"][_ref_name(ref)])
    lines += ["**Responses**", ""]
    lines += table(
        ["status", "description", "body"],
        [[code(status), answer.get("description", ""), _body(answer.get("content", {}))]
         for status, answer in sorted(op.get("responses", {}).items())],
    )  # fmt: skip
    return lines


def render_document(doc: Schema) -> str:
    """The reference page for an OpenAPI document."""
    by_tag: dict[str, list[tuple[str, str, Schema]]] = {}
    for path, item in sorted(doc.get("paths", {}).items()):
        for method in _METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, item[method]))
    info = doc.get("info", {})
    lines = [
        f"# {TITLE}",
        "",
        f"The {info.get('title', 'API')}'s operations, from its OpenAPI document (served at "
        "`/api/v1/openapi.json`; interactive docs at `/api/docs`). Calls marked *bearer token* "
        "need `Authorization: Bearer <token>`; a token sees only its own tenant.",
        "",
        "| group | operations |",
        "|---|---|",
    ]
    for tag, ops in sorted(by_tag.items()):
        lines.append(f"| [{cell(tag)}](#{slug(tag)}) | {len(ops)} |")
    lines.append("")
    for name, scheme in sorted(doc.get("components", {}).get("securitySchemes", {}).items()):
        lines += [f"Auth scheme {code(name)} ({scheme.get('scheme', scheme.get('type'))}): "
                  f"{scheme.get('description', '')}", ""]  # fmt: skip
    for tag, ops in sorted(by_tag.items()):
        lines += [f"## {tag}", ""]
        for path, method, op in ops:
            lines += _operation(path, method, op, doc)
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Models", "", "The request and response bodies named above.", ""]
        for name, schema in sorted(schemas.items()):
            lines += [f"### {name}", ""]
            if schema.get("description"):
                lines += [schema["description"].strip(), ""]
            if "properties" in schema:
                lines += field_table(schema)
            else:
                lines += [f"Type: {schema_type(schema)}", ""]
    return page(lines)


def render() -> dict[str, str]:
    """The HTTP API reference page."""
    return {PATH: render_document(openapi_document())}
