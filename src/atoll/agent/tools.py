"""The agent's tools: a name, a description, arguments as a pydantic model (their JSON
Schema is what the model is shown) and a function that answers with text.

``Toolbox.call`` never raises: a tool call with arguments that do not parse or do not
fit, an unknown tool, a refusal (an ``AtollError``) or a bug in a tool all come back to
the model as a failed tool result it can act on, so no tool call ends a turn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from atoll.errors import AtollError

log = logging.getLogger("atoll.agent")

MAX_RESULT_CHARS = 20_000  # of one tool result shown to the model


class Args(BaseModel):
    """Base of every tool's arguments: unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave back to the model."""

    ok: bool
    text: str

    @classmethod
    def failed(cls, text: str) -> ToolResult:
        return cls(False, text)


@dataclass(frozen=True)
class Tool:
    """One tool the model may call."""

    name: str
    description: str
    args: type[Args]
    run: Callable[[Any], str]

    def spec(self) -> dict[str, Any]:
        """The tool in the chat-completions ``tools`` format."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        schema["additionalProperties"] = False
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


class Toolbox:
    """The tools of a turn, by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = {tool.name: tool for tool in tools}

    def specs(self) -> list[dict[str, Any]]:
        return [tool.spec() for tool in self.tools.values()]

    def call(self, name: str, arguments: str) -> ToolResult:
        """Run one tool call; every failure is a result the model reads, never an exception."""
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools))
            return ToolResult.failed(f"there is no tool {name[:100]!r}; the tools are: {known}")
        try:
            given = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return ToolResult.failed(
                f"the arguments of {name} are not JSON ({exc}); send an object"
            )
        if not isinstance(given, dict):
            return ToolResult.failed(f"the arguments of {name} must be a JSON object")
        try:
            args = tool.args.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()[:10]
            )
            return ToolResult.failed(f"bad arguments for {name}: {problems}")
        try:
            text = tool.run(args)
        except AtollError as exc:
            return ToolResult.failed(exc.message)
        except Exception:
            log.exception("agent tool %s failed", name)
            return ToolResult.failed(f"{name} failed inside the platform (logged); try another way")
        return ToolResult(True, bounded(text))


def bounded(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"
