"""The agent's model provider against a scripted OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from atoll.agent.provider import (
    ChatProvider,
    ModelError,
    ModelNotConfigured,
    ModelSettings,
    ToolCall,
    ToolCallAssembler,
    Usage,
    text_tool_calls,
)
from atoll.errors import Unavailable
from tests.agent.fake_llm import Answer, fake_llm

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": name,
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
    for name in ("read_file", "list_files")
]
MESSAGES = [{"role": "user", "content": "make me a todo app"}]
READ_A = json.dumps({"path": "functions/todos.py"})
READ_B = json.dumps({"path": "pages/index.json"})


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


_OPENED: list[ChatProvider] = []


def _provider(base_url: str, stream: bool = True) -> tuple[ChatProvider, list[float]]:
    waits: list[float] = []
    settings = ModelSettings(base_url=base_url, model="fake", stream=stream, retries=3)
    provider = ChatProvider(settings, sleep=waits.append)
    _OPENED.append(provider)
    return provider, waits


@pytest.mark.parametrize("same_index", [False, True])
def test_tool_calls_split_across_many_deltas_are_put_together(same_index: bool) -> None:
    calls = [("call_a", "read_file", READ_A), ("call_b", "read_file", READ_B)]
    answer = Answer(text="Let me look.", calls=calls, split=3, same_index=same_index)
    with fake_llm([answer]) as (url, script):
        provider, _ = _provider(url)
        streamed: list[str] = []
        reply = provider.complete(MESSAGES, TOOLS, on_text=streamed.append)
    assert reply.tool_calls == (
        ToolCall("call_a", "read_file", READ_A),
        ToolCall("call_b", "read_file", READ_B),
    )
    assert "".join(streamed) == reply.text == "Let me look."
    assert reply.finish_reason == "tool_calls"
    [sent] = script.requests
    assert sent["stream"] is True and sent["model"] == "fake"
    assert sent["messages"] == MESSAGES and [t["function"]["name"] for t in sent["tools"]] == [
        "read_file",
        "list_files",
    ]


def test_usage_is_read_from_the_stream_and_from_a_whole_answer() -> None:
    answers = [Answer(text="hi", usage=(120, 7)), Answer(text="hi", usage=(90, 3))]
    with fake_llm(answers) as (url, script):
        streamed = _provider(url)[0].complete(MESSAGES, [])
        whole = _provider(url, stream=False)[0].complete(MESSAGES, [])
    assert streamed.usage == Usage(120, 7) and whole.usage == Usage(90, 3)
    assert script.requests[0]["stream_options"] == {"include_usage": True}
    assert "tools" not in script.requests[0] and "stream" not in script.requests[1]


def test_cost_comes_from_the_prices_or_from_the_server() -> None:
    answers = [
        Answer(text="hi", usage=(2_000_000, 500_000)),
        Answer(text="hi", usage=(10, 10), cost=0.0123),  # the server's own figure wins
        Answer(text="hi", usage=(10, 10), cost=-5),  # not a cost: the prices' figure
    ]
    with fake_llm(answers) as (url, _):
        settings = ModelSettings(url, "fake", retries=0, price_input=3.0, price_output=15.0)
        with ChatProvider(settings) as provider:
            costs = [provider.complete(MESSAGES, []).usage.cost_usd for _ in range(3)]
    assert costs == [pytest.approx(6.0 + 7.5), pytest.approx(0.0123), pytest.approx(0.00018)]
    env = {
        "ATOLL_LLM_BASE_URL": "http://x/v1",
        "ATOLL_LLM_MODEL": "m",
        "ATOLL_LLM_PRICE_INPUT": "0.5",
        "ATOLL_LLM_PRICE_OUTPUT": "",
    }
    read = ModelSettings.from_env(env)
    assert (read.price_input, read.price_output) == (0.5, 0.0)
    for bad in ("cheap", "-1", "nan", "1e9"):
        with pytest.raises(ModelNotConfigured, match="ATOLL_LLM_PRICE_INPUT"):
            ModelSettings.from_env({**env, "ATOLL_LLM_PRICE_INPUT": bad})


def test_a_whole_answer_with_tool_calls() -> None:
    with fake_llm([Answer(calls=[("c1", "list_files", "{}")])]) as (url, _):
        reply = _provider(url, stream=False)[0].complete(MESSAGES, TOOLS)
    assert reply.tool_calls == (ToolCall("c1", "list_files", "{}"),) and reply.text == ""


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>',
        'I will read it.\n```json\n{"name": "read_file", "parameters": {"path": "a.py"}}\n```',
        '{"tool": "read_file", "args": {"path": "a.py"}}',
    ],
)
def test_a_tool_call_written_as_text_is_read_back_as_a_call(text: str) -> None:
    with fake_llm([Answer(text=text)]) as (url, _):
        reply = _provider(url)[0].complete(MESSAGES, TOOLS)
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("read_file", {"path": "a.py"})
    ]


def test_text_that_only_looks_like_a_call_stays_text() -> None:
    assert text_tool_calls('{"name": "rm_rf", "arguments": {}}', ["read_file"]) == ()
    assert text_tool_calls("```json\n[1, 2]\n```", ["read_file"]) == ()
    assert text_tool_calls("{not json", ["read_file"]) == ()


def test_rate_limits_and_server_errors_are_retried_with_backoff() -> None:
    answers = [
        Answer(status=429, error="slow down"),
        Answer(status=503, error="overloaded"),
        Answer(status=500, error="oops"),
        Answer(text="done"),
    ]
    with fake_llm(answers) as (url, script):
        provider, waits = _provider(url)
        reply = provider.complete(MESSAGES, TOOLS)
    assert reply.text == "done" and len(script.requests) == 4
    assert waits == [0.5, 1.0, 2.0]


def test_a_server_that_keeps_failing_is_unavailable_after_the_retries() -> None:
    with fake_llm([Answer(status=502, error="bad gateway")] * 5) as (url, script):
        provider, waits = _provider(url)
        with pytest.raises(Unavailable) as info:
            provider.complete(MESSAGES, TOOLS)
    assert "after 4 attempts" in info.value.message and len(script.requests) == 4
    assert len(waits) == 3


def test_a_server_that_is_not_there_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    provider, waits = _provider(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(Unavailable):
        provider.complete(MESSAGES, TOOLS)
    assert len(waits) == 3


def test_a_server_that_refuses_stream_options_is_asked_again_without_them() -> None:
    refused = Answer(status=400, error="Unrecognized request argument supplied: stream_options")
    with fake_llm([refused, Answer(text="ok"), Answer(text="again")]) as (url, script):
        provider, waits = _provider(url)
        assert provider.complete(MESSAGES, []).text == "ok"
        assert provider.complete(MESSAGES, []).text == "again"
    assert [("stream_options" in r) for r in script.requests] == [True, False, False]
    assert waits == []


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (Answer(status=401, error="invalid key"), "refused the key"),
        (Answer(status=404, error="model not found"), "has no model 'fake'"),
        (Answer(status=400, error="messages: too long"), "refused the request"),
    ],
)
def test_refusals_are_not_retried_and_say_why(answer: Answer, said: str) -> None:
    with fake_llm([answer]) as (url, script):
        with pytest.raises(ModelError) as info:
            _provider(url)[0].complete(MESSAGES, TOOLS)
    assert said in info.value.message and len(script.requests) == 1


def test_no_model_configured_says_what_to_set() -> None:
    with pytest.raises(ModelNotConfigured) as info:
        ModelSettings.from_env({"ATOLL_LLM_BASE_URL": "http://127.0.0.1:1/v1"})
    assert "ATOLL_LLM_MODEL" in info.value.message
    assert "ATOLL_LLM_BASE_URL" not in info.value.detail["missing"]
    settings = ModelSettings.from_env(
        {"ATOLL_LLM_BASE_URL": " http://h/v1 ", "ATOLL_LLM_MODEL": "m", "ATOLL_LLM_API_KEY": "k"}
    )
    assert (settings.base_url, settings.model, settings.api_key) == ("http://h/v1", "m", "k")


def test_the_assembler_bounds_what_a_model_can_send() -> None:
    many = ToolCallAssembler()
    with pytest.raises(ModelError):
        for n in range(100):
            many.feed(n, f"id{n}", "read_file", "{}")
    big = ToolCallAssembler()
    big.feed(0, "a", "read_file", "")
    with pytest.raises(ModelError):
        for _ in range(2000):
            big.feed(0, None, None, "x" * 1024)
    # A fragment without index or id continues the last call; a call without id gets one.
    loose = ToolCallAssembler()
    loose.feed(0, None, "list_files", "{")
    loose.feed(None, None, None, "}")
    assert loose.calls() == (ToolCall("call_0", "list_files", "{}"),)
