"""The agent's model: any server that speaks OpenAI's chat-completions protocol.

``ChatProvider`` talks to it through the ``openai`` SDK (OpenAI, vLLM, llama.cpp's server,
Ollama, LM Studio, OpenRouter...), streaming by default. The protocol's quirks are handled
here, so the rest of the agent sees one shape of answer (``ModelReply``):

- tool-call fragments are put together by ``index`` (id and name first, then the arguments
  in pieces); a server that gives every parallel call index 0 is told apart by the call
  ids (``ToolCallAssembler``);
- a server that answers a tool call as text (a JSON object, fenced or in ``<tool_call>``
  tags) has it read back as a call, when it names one of the tools offered;
- rate limits (429), server errors (5xx), timeouts and dropped connections are retried with
  exponential backoff, as long as nothing of the answer was seen yet;
- a server that refuses ``stream_options`` is asked again without it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from atoll.errors import AtollError, Unavailable

ENV_BASE_URL = "ATOLL_LLM_BASE_URL"
ENV_API_KEY = "ATOLL_LLM_API_KEY"
ENV_MODEL = "ATOLL_LLM_MODEL"
ENV_PRICE_INPUT = "ATOLL_LLM_PRICE_INPUT"  # US dollars per million prompt tokens
ENV_PRICE_OUTPUT = "ATOLL_LLM_PRICE_OUTPUT"  # US dollars per million completion tokens
MAX_PRICE = 10_000.0  # per million tokens; more is a typo

RETRIES = 4  # attempts after the first, for answers that failed before any of it arrived
BACKOFF_S = 0.5  # the first wait; doubled each time, up to BACKOFF_MAX_S
BACKOFF_MAX_S = 8.0
TIMEOUT_S = 120.0
MAX_TOOL_CALLS = 64  # in one answer; more is a broken server or model
MAX_ARGUMENT_CHARS = 1 << 20  # of one call's arguments


class ModelNotConfigured(AtollError):
    """No model is set up for the agent."""

    status = 409
    code = "model_not_configured"


class ModelError(AtollError):
    """The model's server refused or failed the request (after the retries)."""

    status = 502
    code = "model_error"


@dataclass(frozen=True)
class ModelSettings:
    """Where the agent's model is and which one to use."""

    base_url: str
    model: str
    api_key: str = ""
    price_input: float = 0.0  # US dollars per million prompt tokens
    price_output: float = 0.0  # US dollars per million completion tokens
    stream: bool = True
    timeout_s: float = TIMEOUT_S
    retries: int = RETRIES
    backoff_s: float = BACKOFF_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelSettings:
        """Settings from ``ATOLL_LLM_BASE_URL``, ``ATOLL_LLM_MODEL`` and
        ``ATOLL_LLM_API_KEY``; ``ModelNotConfigured`` saying what to set when they are not."""
        env = os.environ if environ is None else environ
        base_url = env.get(ENV_BASE_URL, "").strip()
        model = env.get(ENV_MODEL, "").strip()
        missing = [
            name for name, value in ((ENV_BASE_URL, base_url), (ENV_MODEL, model)) if not value
        ]
        if missing:
            raise ModelNotConfigured(
                "no model is configured for the agent: set "
                + " and ".join(missing)
                + f" (and {ENV_API_KEY} if the server needs a key), e.g. "
                f"{ENV_BASE_URL}=http://127.0.0.1:11434/v1 {ENV_MODEL}=qwen2.5-coder for Ollama",
                missing=missing,
            )
        return cls(
            base_url=base_url,
            model=model,
            api_key=env.get(ENV_API_KEY, ""),
            price_input=price(env.get(ENV_PRICE_INPUT, ""), ENV_PRICE_INPUT),
            price_output=price(env.get(ENV_PRICE_OUTPUT, ""), ENV_PRICE_OUTPUT),
        )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """What these tokens cost at the configured prices, in US dollars."""
        return (prompt_tokens * self.price_input + completion_tokens * self.price_output) / 1e6


def price(text: str, name: str) -> float:
    """A price per million tokens as configured (empty: 0, a model that costs nothing)."""
    if not text.strip():
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ModelNotConfigured(
            f"{name} must be a number of US dollars per million tokens"
        ) from None
    if not 0.0 <= value <= MAX_PRICE:  # also refuses nan and inf
        raise ModelNotConfigured(f"{name} must be between 0 and {MAX_PRICE:g}")
    return value


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for; ``arguments`` is the JSON text as the model wrote it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Tokens an answer cost, as the server counted them (0 when it did not say), and their
    price in US dollars."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost_usd + other.cost_usd,
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ModelReply:
    """What the model answered: text, tool calls, why it stopped, what it cost."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


class Provider(Protocol):
    """A model the agent can talk to."""

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> ModelReply:
        """One answer to ``messages`` with ``tools`` offered; ``on_text`` gets the text as it
        streams in."""
        ...


# -- putting streamed tool calls together ----------------------------------------------


@dataclass
class _Partial:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    size: int = 0


class ToolCallAssembler:
    """Tool calls from streamed fragments.

    A fragment belongs to the call being built at its ``index``. When a fragment brings an
    id other than that call's, it starts a new call: servers that number every parallel
    call 0 (Ollama) still give each its own id. A fragment without an index continues the
    last call.
    """

    def __init__(self) -> None:
        self._calls: list[_Partial] = []
        self._at: dict[int, _Partial] = {}

    def feed(
        self, index: int | None, id: str | None, name: str | None, arguments: str | None
    ) -> None:
        """Add one fragment of a tool call."""
        current = (
            self._at.get(index) if index is not None else (self._calls[-1] if self._calls else None)
        )
        if current is None or (id and current.id and id != current.id):
            if len(self._calls) >= MAX_TOOL_CALLS:
                raise ModelError(
                    f"the model asked for more than {MAX_TOOL_CALLS} tool calls at once"
                )
            current = _Partial()
            self._calls.append(current)
            if index is not None:
                self._at[index] = current
        if id and not current.id:
            current.id = id
        if name and name != current.name:
            # The name comes whole in its first fragment; a few servers send it in pieces.
            current.name = name if not current.name or current.arguments else current.name + name
        if arguments:
            current.size += len(arguments)
            if current.size > MAX_ARGUMENT_CHARS:
                raise ModelError(
                    f"a tool call's arguments are longer than {MAX_ARGUMENT_CHARS} characters"
                )
            current.arguments.append(arguments)

    def calls(self) -> tuple[ToolCall, ...]:
        """The calls put together, in the order they started (ids made up where missing)."""
        return tuple(
            ToolCall(p.id or f"call_{n}", p.name, "".join(p.arguments))
            for n, p in enumerate(self._calls)
            if p.name
        )


# -- tool calls written as text --------------------------------------------------------

_TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call)?\s*(\{.*?\})\s*```", re.DOTALL)


def text_tool_calls(text: str, tool_names: Iterable[str]) -> tuple[ToolCall, ...]:
    """Tool calls a model wrote as text instead of as calls: JSON objects with ``name`` (or
    ``tool``/``function``) and ``arguments`` (or ``parameters``/``args``), in
    ``<tool_call>`` tags, in a code fence, or as the whole answer; only for tools offered."""
    names = set(tool_names)
    candidates = _TAGGED.findall(text) or _FENCED.findall(text)
    if not candidates and text.strip().startswith("{"):
        candidates = [text.strip()]
    found: list[ToolCall] = []
    for raw in candidates:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        name = next(
            (obj[k] for k in ("name", "tool", "function") if isinstance(obj.get(k), str)), None
        )
        args: object = next((obj[k] for k in ("arguments", "parameters", "args") if k in obj), {})
        if name not in names:
            continue
        arguments = args if isinstance(args, str) else json.dumps(args)
        found.append(ToolCall(f"text_call_{len(found)}", name, arguments))
    return tuple(found)


# -- the provider ----------------------------------------------------------------------


class ChatProvider:
    """A chat-completions server reached through the ``openai`` SDK."""

    def __init__(
        self,
        settings: ModelSettings,
        sleep: Callable[[float], None] = time.sleep,
        http_client: Any = None,
    ) -> None:
        import openai

        self.settings = settings
        self._sleep = sleep
        # The SDK's own retries are off: ours also cover a stream that fails before its
        # first piece, and they know when a retry would repeat what was already shown.
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",
            timeout=settings.timeout_s,
            max_retries=0,
            http_client=http_client,
        )
        self._usage_option = True  # ask for usage in streams until the server refuses it

    def close(self) -> None:
        """Close the connections to the server."""
        self._client.close()

    def __enter__(self) -> ChatProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> ModelReply:
        """One answer, retried on rate limits, server errors and timeouts before any of it
        arrived; ``ModelError`` when the server refuses or keeps failing."""
        import openai

        wait = self.settings.backoff_s
        for attempt in range(self.settings.retries + 1):
            seen = [False]
            try:
                reply = self._once(messages, tools, on_text, seen)
            except openai.BadRequestError as exc:
                if self._usage_option and self.settings.stream and "stream_options" in str(exc):
                    self._usage_option = False
                    continue
                raise ModelError(f"the model's server refused the request: {_said(exc)}") from exc
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise ModelError(f"the model's server refused the key: {_said(exc)}") from exc
            except openai.NotFoundError as exc:
                raise ModelError(
                    f"the model's server has no model {self.settings.model!r} "
                    f"(or no chat-completions endpoint): {_said(exc)}"
                ) from exc
            except (
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APIConnectionError,  # timeouts too
            ) as exc:
                if seen[0] or attempt == self.settings.retries:
                    raise Unavailable(
                        f"the model's server did not answer after {attempt + 1} attempts: "
                        f"{_said(exc)}"
                    ) from exc
                self._sleep(min(wait, BACKOFF_MAX_S))
                wait *= 2
                continue
            except openai.APIStatusError as exc:
                raise ModelError(
                    f"the model's server answered {exc.status_code}: {_said(exc)}"
                ) from exc
            if not reply.tool_calls and reply.text:
                offered = [t.get("function", {}).get("name", "") for t in tools]
                calls = text_tool_calls(reply.text, offered)
                if calls:
                    return ModelReply("", calls, reply.finish_reason, reply.usage)
            return reply
        raise Unavailable("the model's server did not answer")  # not reached

    def _once(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        on_text: Callable[[str], None] | None,
        seen: list[bool],
    ) -> ModelReply:
        kwargs: dict[str, Any] = {"model": self.settings.model, "messages": list(messages)}
        if tools:
            kwargs["tools"] = list(tools)
        if not self.settings.stream:
            done = self._client.chat.completions.create(**kwargs)
            seen[0] = True
            choice = done.choices[0] if done.choices else None
            message = choice.message if choice is not None else None
            calls = tuple(
                ToolCall(c.id or f"call_{n}", c.function.name, c.function.arguments or "")
                for n, c in enumerate((message.tool_calls or []) if message else [])
                if getattr(c, "function", None) is not None and c.function.name
            )
            content = (message.content or "") if message else ""
            if content and on_text is not None:
                on_text(content)
            usage = _usage(done.usage, self.settings)
            return ModelReply(content, calls, choice.finish_reason if choice else None, usage)
        if self._usage_option:
            kwargs["stream_options"] = {"include_usage": True}
        text: list[str] = []
        assembler = ToolCallAssembler()
        finish: str | None = None
        usage = Usage()
        for chunk in self._client.chat.completions.create(stream=True, **kwargs):
            seen[0] = True
            if chunk.usage is not None:
                usage = _usage(chunk.usage, self.settings)
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    if on_text is not None:
                        on_text(delta.content)
                for piece in delta.tool_calls or []:
                    function = piece.function
                    assembler.feed(
                        piece.index,
                        piece.id,
                        function.name if function else None,
                        function.arguments if function else None,
                    )
                if choice.finish_reason:
                    finish = choice.finish_reason
        return ModelReply("".join(text), assembler.calls(), finish, usage)


def _usage(usage: Any, settings: ModelSettings) -> Usage:
    """The tokens the server counted and their cost: the server's own figure when it gives
    one (OpenRouter's ``usage.cost``), else the configured prices'."""
    if usage is None:
        return Usage()
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    said = getattr(usage, "cost", None)
    if isinstance(said, int | float) and not isinstance(said, bool) and 0 <= said < MAX_PRICE:
        return Usage(prompt, completion, float(said))
    return Usage(prompt, completion, settings.cost(prompt, completion))


def _count(usage: Any, name: str) -> int:
    """A token count from the server, bounded (a server's reply is not trusted to be sane)."""
    value = getattr(usage, name, None)
    if not isinstance(value, int) or isinstance(value, bool):
        return 0
    return max(0, min(value, 1 << 40))


def _said(exc: Exception) -> str:
    """What a failed request's error says, on one line and short (it may quote the server)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:300] + "..."
