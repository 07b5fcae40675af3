"""``docs/reference/configuration.md``: every setting as the environment variable that sets it."""

from __future__ import annotations

import json
import types
from pathlib import PurePath
from typing import Any, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from atoll.config import Settings
from atoll.docsgen.markdown import cell, code, page, table

PATH = "docs/reference/configuration.md"
TITLE = "Configuration"

_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_BOUNDS = ((Ge, "≥", "ge"), (Gt, ">", "gt"), (Le, "≤", "le"), (Lt, "<", "lt"))


def type_name(annotation: Any) -> str:
    """How a setting's type reads in the docs: ``integer``, ``list of string``, ``path``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        parts = [type_name(a) for a in get_args(annotation) if a is not type(None)]
        optional = type(None) in get_args(annotation)
        return " or ".join(parts) + (" (optional)" if optional else "")
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return f"JSON list of {type_name(item)}"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    if annotation in _NAMES:
        return _NAMES[annotation]
    return getattr(annotation, "__name__", str(annotation)).removesuffix("Network") + " network"


def _bounds(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for kind, sign, attr in _BOUNDS:
            if isinstance(item, kind):
                found.append(f"{sign} {getattr(item, attr)}")
    return ", ".join(found)


def default_text(field: FieldInfo) -> str:
    """A setting's default as one would write it in the variable (``unset`` for none)."""
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, PurePath):
        return code(value.as_posix())
    if isinstance(value, bool):
        return code(str(value).lower())
    if isinstance(value, list):
        return code(json.dumps([str(v) for v in value]))
    return code(value)


def _prefix(model: type[BaseSettings]) -> str:
    return str(model.model_config.get("env_prefix", "")).upper()


def _rows(model: type[BaseSettings]) -> list[list[str]]:
    rows = []
    for name, field in model.model_fields.items():
        if _section(field) is not None:
            continue
        kind = type_name(field.annotation)
        bounds = _bounds(field)
        rows.append(
            [
                code(_prefix(model) + name.upper()),
                kind + (f" ({bounds})" if bounds else ""),
                default_text(field),
                field.description or "",
            ]
        )
    return rows


def _section(field: FieldInfo) -> type[BaseSettings] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseSettings) else None


def render() -> dict[str, str]:
    """The configuration reference page."""
    header = ["variable", "type", "default", "description"]
    lines = [
        f"# {TITLE}",
        "",
        "Everything configurable about an Atoll installation, read once at start-up from",
        "environment variables (names are case-insensitive). Lists are JSON:",
        "`ATOLL_AGENT_PACKAGES_DENY='[\"requests\"]'`. `atoll serve`'s options `--host`,",
        "`--port`, `--gateway-port`, `--db-port` and `--data-dir` win over `ATOLL_HOST`,",
        "`ATOLL_PORT`, `ATOLL_GATEWAY_PORT`, `ATOLL_DB_PORT` and `ATOLL_DATA_DIR` when given.",
        "",
        "## General",
        "",
        *table(header, _rows(Settings)),
    ]
    for name, field in Settings.model_fields.items():
        section = _section(field)
        if section is None:
            continue
        lines += [
            f"## {cell(field.description or name).rstrip('.')}",
            "",
            (section.__doc__ or "").strip(),
            "",
            f"Each variable below starts with `{_prefix(section)}`. "
            f"`{_prefix(Settings)}{name.upper()}` may also hold several of them as one JSON "
            "object of the field names (lower case, without the prefix); a field given there "
            "wins over its own variable.",
            "",
            *table(header, _rows(section)),
        ]
    lines += [
        "## The agent's model",
        "",
        "Read by the agent when a turn starts, not at start-up; a tenant may bring its own "
        "model instead (`atoll agent model set`, when `ATOLL_AGENT_TENANT_MODELS` allows).",
        "",
        *table(["variable", "meaning"], [[f"`{k}`", v] for k, v in _model_variables()]),
    ]
    return {PATH: page(lines)}


def _model_variables() -> list[tuple[str, str]]:
    from atoll.agent import provider

    return [
        (provider.ENV_BASE_URL, "the model server's OpenAI-compatible `/v1` base URL"),
        (provider.ENV_MODEL, "the model's name on that server"),
        (provider.ENV_API_KEY, "its API key, if it needs one"),
        (provider.ENV_PRICE_INPUT, "US dollars per million prompt tokens, for costs"),
        (provider.ENV_PRICE_OUTPUT, "US dollars per million completion tokens, for costs"),
    ]
