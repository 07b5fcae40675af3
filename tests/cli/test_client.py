"""The CLI's HTTP/1.1 client against a real server on 127.0.0.1 that sends exact bytes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from atoll.cli.client import ApiClient, ApiError, ConnectionFailed
from atoll.errors import AtollError

TIMEOUT = 5.0  # every socket wait in this module is bounded: a bug fails, it never hangs


class Request:
    """One request as the server read it off the wire."""

    def __init__(self, connection: int, head: bytes, body: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.connection = connection
        self.request_line = lines[0]
        self.method, self.target, _ = lines[0].split(" ")
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = body


class Answer:
    """What the server sends back, and whether it then closes the connection."""

    def __init__(self, data: bytes, close: bool = False) -> None:
        self.data = data
        self.close = close


Reply = Callable[[Request], Answer]


def response(
    status: int = 200,
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = (),
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 response, with a Content-Length unless ``length`` is false."""
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(value: Any, status: int = 200) -> bytes:
    """A JSON response with a Content-Length."""
    body = json.dumps(value).encode()
    return response(status, body, (("Content-Type", "application/json"),))


def chunked(
    pieces: list[bytes], status: int = 200, content_type: str = "application/json"
) -> bytes:
    """A chunked response of ``pieces`` (one chunk each, the first with an extension)."""
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = b"".join(
        f"{len(p):x}{';ext=1' if i == 0 else ''}\r\n".encode() + p + b"\r\n"
        for i, p in enumerate(pieces)
    )
    return head + chunks + b"0\r\n\r\n"


def echo(request: Request) -> Answer:
    """Answer with what was received, as JSON."""
    seen = {
        "method": request.method,
        "target": request.target,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "connection": request.connection,
    }
    return Answer(json_response(seen))


class RawServer:
    """An HTTP/1.1 server on a free port of 127.0.0.1: it reads each request (head plus a
    Content-Length body) and sends whatever bytes ``reply`` returns for it."""

    def __init__(self) -> None:
        self.reply: Reply = echo
        self.requests: list[Request] = []
        self.connections = 0
        self.closed = threading.Event()  # set each time the server closes a connection
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
                self._open.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock, number), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        sock.settimeout(TIMEOUT)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                request = Request(number, head, b"")
                size = int(request.headers.get("content-length", "0"))
                while len(buffer) < size:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                request.body, buffer = buffer[:size], buffer[size:]
                with self._lock:
                    self.requests.append(request)
                answer = self.reply(request)
                sock.sendall(answer.data)
                if answer.close:
                    return
        except OSError:
            return
        finally:
            sock.close()
            self.closed.set()

    def stop(self) -> None:
        """Stop accepting, close every connection, wait for the threads."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._accepting.join(TIMEOUT)
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(TIMEOUT)


@pytest.fixture
def server() -> Iterator[RawServer]:
    """A raw server that echoes each request as JSON until a test sets its ``reply``."""
    raw = RawServer()
    yield raw
    raw.stop()


@pytest.fixture
def client(server: RawServer) -> Iterator[ApiClient]:
    """A client of ``server`` with token ``tok``."""
    api = ApiClient(server.url, "tok", timeout=TIMEOUT)
    yield api
    api.close()


def answer_with(*answers: Answer) -> Reply:
    """A reply that sends ``answers`` in turn, then echoes."""
    queue = list(answers)

    def reply(request: Request) -> Answer:
        return queue.pop(0) if queue else echo(request)

    return reply


# Requests


def test_get_sends_the_prefix_token_host_and_query(server: RawServer, client: ApiClient) -> None:
    got = client.json("GET", "/apps", params={"q": "a b&c", "skip": None, "n": 3})
    assert got["method"] == "GET"
    assert got["target"] == "/api/v1/apps?q=a+b%26c&n=3"
    assert got["headers"]["authorization"] == "Bearer tok"
    assert got["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert got["headers"]["user-agent"].startswith("atoll-cli/")
    assert "content-length" not in got["headers"]
    assert got["body"] == ""


def test_post_sends_json_with_its_length(client: ApiClient) -> None:
    got = client.json("POST", "/tenants", json={"name": "acme", "n": [1, "é"]})
    assert got["method"] == "POST"
    assert got["target"] == "/api/v1/tenants"
    assert got["headers"]["content-type"] == "application/json"
    sent = got["body"].encode("latin-1")
    assert json.loads(sent) == {"name": "acme", "n": [1, "é"]}
    assert got["headers"]["content-length"] == str(len(sent))


def test_post_of_raw_bytes_and_an_empty_post(client: ApiClient) -> None:
    data = bytes(range(256)) * 3
    got = client.json(
        "POST", "/blobs", content=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert got["body"].encode("latin-1") == data
    assert got["headers"]["content-length"] == str(len(data))
    assert got["headers"]["content-type"] == "application/octet-stream"
    empty = client.json("POST", "/x/restore")
    assert empty["headers"]["content-length"] == "0"


def test_no_token_sends_no_authorization(server: RawServer) -> None:
    anonymous = ApiClient(server.url, None, timeout=TIMEOUT)
    try:
        got = anonymous.json("GET", "/me")
    finally:
        anonymous.close()
    assert "authorization" not in got["headers"]


def test_a_server_url_with_a_path_prefixes_it(server: RawServer) -> None:
    behind = ApiClient(server.url + "/atoll/", "tok", timeout=TIMEOUT)
    try:
        assert behind.json("GET", "/me")["target"] == "/atoll/api/v1/me"
    finally:
        behind.close()


def test_paths_are_percent_encoded_on_the_request_line(
    server: RawServer, client: ApiClient
) -> None:
    got = client.json("GET", "/apps/my app/é€/x\r\nX-Injected: 1")
    assert got["target"] == "/api/v1/apps/my%20app/%C3%A9%E2%82%AC/x%0D%0AX-Injected:%201"
    assert "x-injected" not in got["headers"]
    # What a caller quoted already (a file path) is sent as it is, not quoted twice.
    already = client.json("GET", "/apps/a/files/" + quote("dir/a b#1.txt", safe="/"))
    assert already["target"] == "/api/v1/apps/a/files/dir/a%20b%231.txt"
    assert server.requests[0].request_line.count(" ") == 2


# Keep-alive


def test_requests_share_one_kept_alive_connection(server: RawServer, client: ApiClient) -> None:
    first = client.json("GET", "/one")
    second = client.json("POST", "/two", json={"x": 1})
    third = client.json("GET", "/three")
    assert [first["connection"], second["connection"], third["connection"]] == [1, 1, 1]
    assert server.connections == 1
    assert [r.target for r in server.requests] == ["/api/v1/one", "/api/v1/two", "/api/v1/three"]


def test_a_kept_alive_connection_the_server_closed_is_reopened_once(
    server: RawServer, client: ApiClient
) -> None:
    server.reply = answer_with(Answer(json_response({"n": 1}), close=True))
    assert client.json("GET", "/one") == {"n": 1}
    assert server.closed.wait(TIMEOUT)  # the connection is gone before the next request
    got = client.json("POST", "/two", json={"n": 2})
    assert got["connection"] == 2
    assert json.loads(got["body"]) == {"n": 2}
    assert server.connections == 2
    assert [r.target for r in server.requests] == ["/api/v1/one", "/api/v1/two"]


def test_the_reopened_connection_is_not_retried_again(server: RawServer, client: ApiClient) -> None:
    server.reply = answer_with(Answer(json_response({"n": 1}), close=True), Answer(b"", close=True))
    client.json("GET", "/one")
    assert server.closed.wait(TIMEOUT)
    with pytest.raises(ConnectionFailed, match="without answering"):
        client.json("GET", "/two")
    assert server.connections == 2


def test_a_fresh_connection_closed_without_an_answer_fails(
    server: RawServer, client: ApiClient
) -> None:
    server.reply = lambda _: Answer(b"", close=True)
    with pytest.raises(ConnectionFailed, match="without answering"):
        client.json("GET", "/me")
    assert server.connections == 1


def test_connection_close_from_the_server_opens_a_new_connection(
    server: RawServer, client: ApiClient
) -> None:
    closing = response(200, b'{"n": 1}', (("Connection", "close"),))
    server.reply = answer_with(Answer(closing, close=True))
    assert client.json("GET", "/one") == {"n": 1}
    assert client.json("GET", "/two")["connection"] == 2


# Bodies


def test_a_chunked_body_is_joined_and_the_connection_kept(
    server: RawServer, client: ApiClient
) -> None:
    body = json.dumps({"files": [{"path": f"f{i}", "n": i} for i in range(50)]}).encode()
    pieces = [body[:1], body[1:100], body[100:]]
    server.reply = answer_with(Answer(chunked(pieces)))
    assert client.json("GET", "/files") == json.loads(body)
    assert client.json("GET", "/again")["connection"] == 1  # the whole body was consumed


def test_a_body_without_length_ends_when_the_server_closes(
    server: RawServer, client: ApiClient
) -> None:
    raw = response(200, b'{"until": "close"}', length=False)
    server.reply = answer_with(Answer(raw, close=True))
    got = client.request("GET", "/me")
    assert got.status_code == 200
    assert got.json() == {"until": "close"}
    assert got.text == '{"until": "close"}'
    assert client.json("GET", "/again")["connection"] == 2


def test_a_204_has_no_body_even_without_a_length(server: RawServer, client: ApiClient) -> None:
    # RFC 9112 6.3: no body follows a 204, so the client must not wait for the server to
    # close a connection it keeps alive.
    server.reply = answer_with(Answer(response(204, length=False)))
    got = client.request("DELETE", "/tokens/1")
    assert got.status_code == 204
    assert got.content == b""
    assert client.json("GET", "/again")["connection"] == 1


def test_response_headers_are_lower_cased(server: RawServer, client: ApiClient) -> None:
    server.reply = answer_with(Answer(response(200, b"{}", (("X-Request-Id", "r1"),))))
    assert client.request("GET", "/me").headers["x-request-id"] == "r1"


def test_an_answer_that_is_not_json_is_a_connection_failure(
    server: RawServer, client: ApiClient
) -> None:
    server.reply = answer_with(Answer(response(200, b"<html>hello</html>")))
    with pytest.raises(ConnectionFailed, match="not JSON"):
        client.json("GET", "/me")


# Errors from the control plane


def test_an_error_body_becomes_an_api_error(server: RawServer, client: ApiClient) -> None:
    error = {"error": {"code": "not_found", "message": "no app 'x'", "detail": {"app": "x"}}}
    server.reply = answer_with(Answer(json_response(error, status=404)))
    with pytest.raises(ApiError) as caught:
        client.json("GET", "/apps/x")
    assert isinstance(caught.value, AtollError)
    assert caught.value.http_status == 404
    assert caught.value.error_code == "not_found"
    assert caught.value.message == "no app 'x'"
    assert caught.value.detail == {"app": "x"}
    # The error's body was read to its end: the connection serves the next request.
    assert client.json("GET", "/again")["connection"] == 1


def test_an_error_detail_with_any_keys_is_kept(server: RawServer, client: ApiClient) -> None:
    detail = {"message": "inner", "code": 7, "self": None}
    error = {"error": {"code": "bad_request", "message": "outer", "detail": detail}}
    server.reply = answer_with(Answer(json_response(error, status=400)))
    with pytest.raises(ApiError) as caught:
        client.json("GET", "/me")
    assert caught.value.message == "outer"
    assert caught.value.detail == detail


def test_a_non_json_error_body_is_its_text(server: RawServer, client: ApiClient) -> None:
    server.reply = answer_with(Answer(response(502, b"Bad Gateway\n")), Answer(response(500, b"")))
    with pytest.raises(ApiError) as caught:
        client.json("GET", "/me")
    assert (caught.value.http_status, caught.value.error_code) == (502, "http_error")
    assert caught.value.message == "Bad Gateway"
    with pytest.raises(ApiError) as empty:
        client.json("GET", "/me")
    assert empty.value.http_status == 500
    assert empty.value.message == "no message"


def test_an_error_of_another_shape_is_reported_by_its_text(
    server: RawServer, client: ApiClient
) -> None:
    server.reply = answer_with(Answer(json_response({"detail": "Not Found"}, status=404)))
    with pytest.raises(ApiError) as caught:
        client.json("GET", "/nowhere")
    assert caught.value.error_code == "http_error"
    assert "Not Found" in caught.value.message


def test_an_error_message_comes_out_as_one_line(server: RawServer, client: ApiClient) -> None:
    message = "first line\nsecond\r\n\tthird  \x0b fourth"
    error = {"error": {"code": "bad_request", "message": message, "detail": None}}
    server.reply = answer_with(Answer(json_response(error, status=400)))
    with pytest.raises(ApiError) as caught:
        client.json("POST", "/apps", json={})
    assert caught.value.message == "first line second third fourth"
    assert caught.value.detail == {}


# Servers that cannot be reached or do not speak HTTP


def test_connection_refused_cannot_reach() -> None:
    with socket.socket() as bound:  # bound but not listening: connecting is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        refused = ApiClient(url, "tok", timeout=TIMEOUT)
        with pytest.raises(ConnectionFailed, match="cannot reach") as caught:
            refused.json("GET", "/me")
    assert url in caught.value.message
    assert caught.value.code == "connection_failed"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(b"SSH-2.0-OpenSSH_9.6\r\n", close=True),
        Answer(b"SSH-2.0-OpenSSH_9.6\r\n"),  # ...and it waits for more
        Answer(b"-ERR unknown command\r\n\r\n"),
        Answer(b"HTTP/1.1 OK\r\n\r\n"),
        Answer(b"HTTP/1.1 \xb200 OK\r\nContent-Length: 0\r\n\r\n"),  # a non-ASCII digit
    ],
    ids=["banner-then-close", "banner-kept-open", "redis", "no-status", "unicode-digit"],
)
def test_an_answer_that_is_not_http_fails(
    server: RawServer, client: ApiClient, answer: Answer
) -> None:
    server.reply = lambda _: answer
    with pytest.raises(ConnectionFailed) as caught:
        client.json("GET", "/me")
    assert "timed out" not in caught.value.message  # refused on sight, not after waiting


def test_a_non_http_answer_says_so(server: RawServer, client: ApiClient) -> None:
    server.reply = lambda _: Answer(b"SSH-2.0-OpenSSH_9.6\r\n")
    with pytest.raises(ConnectionFailed, match="does not speak HTTP"):
        client.json("GET", "/me")


def test_an_endless_head_is_cut_off(server: RawServer, client: ApiClient) -> None:
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * (200 * 1024)
    server.reply = lambda _: Answer(endless)  # no blank line, connection left open
    with pytest.raises(ConnectionFailed, match="oversized"):
        client.json("GET", "/me")


def test_a_complete_head_over_64_kib_is_refused(server: RawServer, client: ApiClient) -> None:
    filler = tuple((f"X-Filler-{i}", "a" * 1000) for i in range(100))  # ~100 KiB
    server.reply = lambda _: Answer(response(200, b"{}", filler))
    with pytest.raises(ConnectionFailed, match="oversized"):
        client.json("GET", "/me")


@pytest.mark.parametrize(
    "length",
    ["268435457", "99999999999999999999999999999999", "-1", "12abc", "", "1, 1", "\xb2"],
)
def test_a_bad_or_oversized_content_length_fails(
    server: RawServer, client: ApiClient, length: str
) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode("latin-1")
    server.reply = lambda _: Answer(head + b"{}")
    with pytest.raises(ConnectionFailed, match="announced a body"):
        client.json("GET", "/me")


@pytest.mark.parametrize("chunk_line", [b"ffffffffffff", b"10000001", b"zz", b"", b"-5"], ids=repr)
def test_a_bad_or_oversized_chunk_fails(
    server: RawServer, client: ApiClient, chunk_line: bytes
) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server.reply = lambda _: Answer(head + chunk_line + b"\r\n{}\r\n0\r\n\r\n")
    with pytest.raises(ConnectionFailed, match="chunked"):
        client.json("GET", "/me")


def test_a_body_cut_short_fails(server: RawServer, client: ApiClient) -> None:
    server.reply = lambda _: Answer(response(200, b"{}")[:-1], close=True)
    with pytest.raises(ConnectionFailed, match="mid-answer"):
        client.json("GET", "/me")


def test_after_a_broken_answer_the_next_request_uses_a_new_connection(
    server: RawServer, client: ApiClient
) -> None:
    broken = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n{leftover"
    server.reply = answer_with(Answer(broken))
    with pytest.raises(ConnectionFailed):
        client.json("GET", "/one")
    got = client.json("GET", "/two")  # not the leftover bytes of the broken answer
    assert got["target"] == "/api/v1/two"
    assert got["connection"] == 2


# Server-sent events


def test_events_yield_each_data_line_of_a_chunked_stream(
    server: RawServer, client: ApiClient
) -> None:
    stream = (
        b": keep-alive\n\n"
        b'data: {"n": 1, "text": "a\\nb"}\n\n'
        b"event: entry\r\n"
        b'data: {"n": 2}\r\n\r\n'
        b": keep-alive\n\n"
        b'data: {"n": 3}\n\n'
    )
    pieces = [stream[:3], stream[3:20], stream[20:21], stream[21:60], stream[60:]]
    server.reply = answer_with(Answer(chunked(pieces, content_type="text/event-stream")))
    got = list(client.events("/apps/a/envs/dev/logs", {"follow": "true", "limit": 5}))
    assert got == [{"n": 1, "text": "a\nb"}, {"n": 2}, {"n": 3}]
    request = server.requests[0]
    assert request.target == "/api/v1/apps/a/envs/dev/logs?follow=true&limit=5"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == "Bearer tok"
    # The stream owned its connection; the next request opens another.
    assert client.json("GET", "/after")["connection"] == 2


def test_events_of_a_stream_that_ends_at_close(server: RawServer, client: ApiClient) -> None:
    raw = response(200, b'data: {"n": 1}\n\ndata: {"n": 2}', length=False)
    server.reply = answer_with(Answer(raw, close=True))
    assert list(client.events("/logs", {})) == [{"n": 1}, {"n": 2}]


def test_events_are_read_as_they_come(server: RawServer, client: ApiClient) -> None:
    # The first event arrives while the stream stays open: it is yielded at once.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    server.reply = answer_with(Answer(head + b'data: {"n": 1}\n\n'))
    stream = client.events("/logs", {"follow": "true"})
    try:
        assert next(stream) == {"n": 1}
    finally:
        stream.close()


def test_events_of_an_error_raise_the_api_error(server: RawServer, client: ApiClient) -> None:
    error = {"error": {"code": "not_found", "message": "no app 'a'", "detail": {}}}
    server.reply = answer_with(Answer(json_response(error, status=404)))
    with pytest.raises(ApiError) as caught:
        list(client.events("/apps/a/envs/dev/logs", {}))
    assert (caught.value.http_status, caught.value.error_code) == (404, "not_found")


def test_events_with_broken_json_fail(server: RawServer, client: ApiClient) -> None:
    server.reply = answer_with(
        Answer(chunked([b"data: {nope\n\n"], content_type="text/event-stream"))
    )
    with pytest.raises(ConnectionFailed, match="broken JSON"):
        list(client.events("/logs", {}))


# What the client refuses before connecting


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "http://",
        "https://",
        "127.0.0.1:8000",
        "",
        "http://h:99999",
        "http://h:port",
        "http://[::1",
    ],
)
def test_a_bad_server_url_is_refused(url: str) -> None:
    with pytest.raises(ConnectionFailed):
        ApiClient(url, "tok", timeout=TIMEOUT)


@pytest.mark.parametrize("token", ["abc\r\nX-Evil: 1", "abc\n", "abc\rdef", "a\0b"])
def test_a_token_that_would_break_the_head_is_refused(token: str) -> None:
    with pytest.raises(ConnectionFailed, match="token"):
        ApiClient("http://127.0.0.1:8000", token, timeout=TIMEOUT)
