"""A scripted OpenAI-compatible chat-completions server for the agent's tests.

A real HTTP server on a free loopback port: each ``POST /v1/chat/completions`` takes the
next scripted answer (streamed as server-sent events when the request asks for a stream,
else one JSON completion, or an error status) and keeps the request body, so a test checks
what the agent sent as well as what it did with the answer.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    """One scripted answer: text and tool calls (``[(id, name, arguments), ...]``), or an
    error ``status`` with ``error`` as its message."""

    text: str = ""
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    status: int = 200
    error: str = ""
    split: int = 0  # stream each call's arguments in pieces of this many characters
    same_index: bool = False  # number every streamed call 0, as Ollama does
    usage: tuple[int, int] = (0, 0)
    cost: float | None = None  # a cost the server reports with the usage, as OpenRouter does
    gate: threading.Event | None = None  # answer only once it is set: a test sees the turn mid-way


@dataclass
class Script:
    """The answers still to give, and the requests received so far."""

    answers: list[Answer]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each request, lower-cased
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, request: dict[str, Any]) -> Answer:
        with self.lock:
            self.requests.append(request)
            if not self.answers:
                return Answer(status=500, error="the script has no more answers")
            return self.answers.pop(0)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_chunks(answer: Answer, with_usage: bool) -> list[dict[str, Any]]:
    """The chunks of ``answer`` as a server streams them."""
    chunks = [_chunk({"role": "assistant"})]
    for i in range(0, len(answer.text), 5):
        chunks.append(_chunk({"content": answer.text[i : i + 5]}))
    for n, (call_id, name, arguments) in enumerate(answer.calls):
        index = 0 if answer.same_index else n
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": name}}
        chunks.append(_chunk({"tool_calls": [head]}))
        step = answer.split or max(1, len(arguments))
        for i in range(0, len(arguments), step):
            piece = {"index": index, "function": {"arguments": arguments[i : i + step]}}
            chunks.append(_chunk({"tool_calls": [piece]}))
    chunks.append(_chunk({}, "tool_calls" if answer.calls else "stop"))
    if with_usage:
        chunks.append(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "fake",
                "choices": [],
                "usage": _usage(answer),
            }
        )
    return chunks


def completion(answer: Answer) -> dict[str, Any]:
    """``answer`` as one non-streamed completion."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
    if answer.calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in answer.calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if answer.calls else "stop",
            }
        ],
        "usage": _usage(answer),
    }


def _usage(answer: Answer) -> dict[str, Any]:
    prompt, completion = answer.usage
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if answer.cost is not None:
        usage["cost"] = answer.cost
    return usage


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.script.headers.append({k.lower(): v for k, v in self.headers.items()})
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        answer = self.script.next(body)
        if answer.gate is not None:
            answer.gate.wait(60)
        if answer.status != 200:
            self._json(answer.status, {"error": {"message": answer.error, "type": "fake"}})
            return
        if not body.get("stream"):
            self._json(200, completion(answer))
            return
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for chunk in stream_chunks(answer, with_usage):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def fake_llm(answers: list[Answer]) -> Iterator[tuple[str, Script]]:
    """A running scripted server: its base URL (``http://127.0.0.1:PORT/v1``) and script."""
    script = Script(answers)  # the same list: a test may add answers while it runs
    handler = type("Handler", (_Handler,), {"script": script})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()
