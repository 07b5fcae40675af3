"""The function contract end to end, through real sandboxes."""

from __future__ import annotations

import json
import time

import pytest

from atoll.errors import BadInput, NotFound, TenantCodeError
from atoll.runtime import InvokeResponse

from .conftest import Harness

pytestmark = pytest.mark.sandbox

TODOS = {
    "atoll.toml": 'name = "todos"\n',
    "functions/todos.py": '''
        """A tiny todo API."""
        from dataclasses import dataclass
        from typing import Optional

        import atoll
        from pydantic import BaseModel


        class NewTodo(BaseModel):
            title: str
            done: bool = False


        @dataclass
        class Patch:
            done: bool


        ITEMS = [{"id": 1, "title": "first", "done": False}]


        def get(limit: int = 10, q: Optional[str] = None) -> list[dict]:
            """List todos."""
            atoll.log.info("listing", limit=limit)
            print("stdout line")
            items = [i for i in ITEMS if q is None or q in i["title"]]
            return items[:limit]


        def post(body: NewTodo, request: atoll.Request):
            item = {"id": len(ITEMS) + 1, **body.model_dump()}
            return atoll.Response(item, status=201, headers={"x-custom": request.method})


        def patch(body: Patch) -> Patch:
            return body


        def put(body: dict):
            return {"env": atoll.env, "var": atoll.vars.get("GREETING"), "got": body}


        def delete(id: int):
            raise LookupError(f"no todo {id}")
        ''',
    "functions/asyncy.py": """
        import asyncio

        async def get(x: float):
            await asyncio.sleep(0)
            return {"double": x * 2}
        """,
    "functions/broken.py": "raise RuntimeError('import-time failure')\n",
}


@pytest.fixture(scope="module")
def todos(rt: Harness):  # type: ignore[no-untyped-def]
    ref = rt.app("todos", TODOS)
    return ref


def ok(result: object) -> InvokeResponse:
    assert isinstance(result, InvokeResponse), result
    return result


def test_get_fills_query_parameters_from_type_hints(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    resp = ok(rt.call(todos, "/api/todos", query={"limit": "5"}))
    assert resp.status == 200
    assert resp.json() == [{"id": 1, "title": "first", "done": False}]
    assert ("content-type", "application/json") in resp.headers
    assert dict(resp.headers)["x-atoll-request-id"] == resp.request_id


def test_bad_query_parameter_is_422_naming_it(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    err = rt.call(todos, "/api/todos", query={"limit": "many"})
    assert isinstance(err, BadInput) and err.status == 422
    assert err.detail["parameter"] == "limit"


def test_pydantic_body_and_response_object(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    resp = ok(rt.call(todos, "/api/todos", "POST", body=b'{"title": "milk"}'))
    assert resp.status == 201
    assert resp.json() == {"id": 2, "title": "milk", "done": False}
    assert dict(resp.headers)["x-custom"] == "POST"
    err = rt.call(todos, "/api/todos", "POST", body=b'{"done": true}')
    assert isinstance(err, BadInput) and err.detail["parameter"] == "body"
    err = rt.call(todos, "/api/todos", "POST", body=b"not json")
    assert isinstance(err, BadInput) and "invalid JSON" in err.message


def test_dataclass_body_roundtrip_and_validation(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    assert ok(rt.call(todos, "/api/todos", "PATCH", body=b'{"done": true}')).json() == {
        "done": True
    }
    err = rt.call(todos, "/api/todos", "PATCH", body=b'{"done": "yes"}')
    assert isinstance(err, BadInput) and err.detail["parameter"] == "body"
    assert "body.done" in err.message


def test_env_and_vars_reach_the_sdk(rt: Harness) -> None:
    ref = rt.app("varsapp", {"functions/v.py": TODOS["functions/todos.py"]})
    ref = type(ref)(ref.tenant, ref.app, ref.env, ref.release, ref.code_dir, {"GREETING": "hi"})
    resp = ok(rt.call(ref, "/api/v", "PUT", body=b'{"a": 1}'))
    assert resp.json() == {"env": "dev", "var": "hi", "got": {"a": 1}}


def test_async_handler(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    assert ok(rt.call(todos, "/api/asyncy", query={"x": "1.5"})).json() == {"double": 3.0}


def test_head_runs_the_get_handler(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    assert ok(rt.call(todos, "/api/asyncy", "HEAD", query={"x": "2"})).status == 200


def test_unknown_function_and_method_are_404(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    err = rt.call(todos, "/api/nope")
    assert isinstance(err, NotFound)
    err = rt.call(todos, "/api/asyncy", "DELETE")
    assert isinstance(err, NotFound) and err.detail["allowed"] == ["GET"]


def test_exception_is_500_with_type_and_message_traceback_only_in_dev(rt: Harness) -> None:
    dev = rt.app("errs", TODOS, env="dev")
    prod = rt.app("errs", TODOS, env="prod")
    err = rt.call(dev, "/api/todos", "DELETE", query={"id": "7"})
    assert isinstance(err, TenantCodeError) and err.status == 500
    assert err.message == "LookupError: no todo 7"
    assert err.detail["exception"] == "LookupError"
    assert "Traceback" in err.detail["traceback"]
    err = rt.call(prod, "/api/todos", "DELETE", query={"id": "7"})
    assert isinstance(err, TenantCodeError) and err.message == "LookupError: no todo 7"
    assert "traceback" not in err.detail


def test_import_error_is_500_for_that_function_only(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    err = rt.call(todos, "/api/broken")
    assert isinstance(err, TenantCodeError)
    assert "import-time failure" in err.message
    assert ok(rt.call(todos, "/api/todos")).status == 200


def test_openapi_document_from_signatures(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    resp = ok(rt.call(todos, "/api/openapi.json"))
    doc = resp.json()
    assert isinstance(doc, dict)
    ops = doc["paths"]["/api/todos"]
    assert set(ops) == {"get", "post", "patch", "put", "delete"}
    params = {p["name"]: p for p in ops["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer"} and not params["limit"]["required"]
    body = ops["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["title"]["type"] == "string"
    assert ops["get"]["summary"] == "List todos."
    assert "/api/broken" not in doc["paths"]


def test_logs_are_captured_per_request(rt: Harness, todos) -> None:  # type: ignore[no-untyped-def]
    resp = ok(rt.call(todos, "/api/todos"))
    [entry] = rt.runtime.logs.read(todos.key, request_id=resp.request_id)
    assert entry["status"] == 200 and entry["function"] == "todos"
    assert entry["stdout"] == "stdout line\n"
    assert entry["logs"][0]["message"] == "listing"
    assert entry["logs"][0]["fields"] == {"limit": "10"}
    path = rt.runtime.settings.data_dir / "logs" / f"{todos.key}.jsonl"
    for _ in range(200):  # file writes are batched every few milliseconds
        if path.exists() and resp.request_id in path.read_text():
            break
        time.sleep(0.01)
    lines = path.read_text()
    assert resp.request_id in lines
    assert json.loads(lines.splitlines()[-1])["request_id"] == resp.request_id


def test_framing_headers_and_bad_statuses_from_functions_are_dropped(rt: Harness) -> None:
    ref = rt.app(
        "headers",
        {
            "functions/h.py": """
                import atoll

                def get():
                    return atoll.Response(
                        b"hi",
                        headers={
                            "Content-Length": "999",
                            "Transfer-Encoding": "chunked",
                            "X-Ok": "1",
                            "Bad Name": "x",
                            "x-evil": "a\\r\\nset-cookie: s=1",
                        },
                    )

                def post():
                    return atoll.Response(b"", status=42)
                """
        },
    )
    resp = ok(rt.call(ref, "/api/h"))
    names = [k for k, _ in resp.headers]
    assert "x-ok" in names and "content-length" not in names
    assert "transfer-encoding" not in names and "x-evil" not in names and "bad name" not in names
    err = rt.call(ref, "/api/h", "POST")
    assert isinstance(err, TenantCodeError) and "invalid HTTP status 42" in err.message
