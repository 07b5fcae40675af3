"""``atoll.db``: the app environment's database — INTERFACE ONLY, served by the DB service.

The DB service (``atoll.dbservice``, Hrana over HTTP) is built separately. Inside the sandbox
this module talks to it through the unix socket ``SOCKET_PATH`` that the runtime binds into
the sandbox when the environment has a database; it sends Hrana ``/v2/pipeline`` requests
over HTTP/1.1 on that socket. Until the runtime is given a database socket, every call raises
``DatabaseUnavailable`` with a clear message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SOCKET_PATH = "/run/atoll/db.sock"


class DatabaseUnavailable(RuntimeError):
    """No database is attached to this sandbox, or the DB service did not answer."""


class DatabaseError(RuntimeError):
    """The database refused a statement (SQL error, constraint, read-only token...)."""


def _connection(path: str) -> Any:
    """An HTTP connection over the unix socket (http.client is imported only when used)."""
    import http.client
    import socket

    class UnixHTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(path)
            self.sock = sock

    return UnixHTTPConnection("localhost", timeout=30)


def _value(v: Any) -> dict[str, Any]:
    if v is None:
        return {"type": "null"}
    if isinstance(v, bool | int):
        return {"type": "integer", "value": str(int(v))}
    if isinstance(v, float):
        return {"type": "float", "value": v}
    if isinstance(v, bytes):
        import base64

        return {"type": "blob", "base64": base64.b64encode(v).decode()}
    return {"type": "text", "value": str(v)}


def _decode(v: dict[str, Any]) -> Any:
    kind = v.get("type")
    if kind == "integer":
        return int(v["value"])
    if kind == "float":
        return float(v["value"])
    if kind == "text":
        return v["value"]
    if kind == "blob":
        import base64

        return base64.b64decode(v["base64"])
    return None


_baton: list[str | None] = []  # the open transaction's Hrana stream, if any


def _pipeline(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not os.path.exists(SOCKET_PATH):
        raise DatabaseUnavailable("no database is attached to this app environment")
    conn = _connection(SOCKET_PATH)
    try:
        conn.request(
            "POST",
            "/v2/pipeline",
            body=json.dumps({"baton": _baton[-1] if _baton else None, "requests": requests}),
            headers={"content-type": "application/json"},
        )
        resp = conn.getresponse()
        payload = json.loads(resp.read() or b"{}")
    except OSError as exc:
        raise DatabaseUnavailable(f"the DB service did not answer: {exc}") from exc
    finally:
        conn.close()
    if resp.status != 200:
        raise DatabaseError(f"DB service returned {resp.status}: {payload}")
    if _baton:
        _baton[-1] = payload.get("baton")
    results: list[dict[str, Any]] = payload.get("results", [])
    for r in results:
        if r.get("type") == "error":
            raise DatabaseError(r.get("error", {}).get("message", "database error"))
    return results


def _stmt(sql: str, args: Sequence[Any] = ()) -> dict[str, Any]:
    return {"sql": sql, "args": [_value(a) for a in args]}


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    res = result["response"]["result"]
    names = [c.get("name") for c in res.get("cols", [])]
    return [dict(zip(names, (_decode(v) for v in row), strict=False)) for row in res["rows"]]


def execute(sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one statement; rows as dicts (empty for statements that return none)."""
    requests: list[dict[str, Any]] = [{"type": "execute", "stmt": _stmt(sql, args)}]
    if not _baton:
        requests.append({"type": "close"})
    return _rows(_pipeline(requests)[0])


def batch(statements: Sequence[str | tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
    """Run several statements in one transaction; the rows of each."""
    stmts = [_stmt(s) if isinstance(s, str) else _stmt(*s) for s in statements]
    steps: list[dict[str, Any]] = [{"stmt": _stmt("BEGIN")}]
    for i, stmt in enumerate(stmts):
        steps.append({"stmt": stmt, "condition": {"type": "ok", "step": i}})
    steps.append({"stmt": _stmt("COMMIT"), "condition": {"type": "ok", "step": len(stmts)}})
    results = _pipeline([{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}])
    batch_result = results[0]["response"]["result"]
    for err in batch_result.get("step_errors", []):
        if err:
            raise DatabaseError(err.get("message", "database error"))
    out = []
    for res in batch_result["step_results"][1:-1]:
        names = [c.get("name") for c in res.get("cols", [])]
        out.append(
            [dict(zip(names, (_decode(v) for v in row), strict=False)) for row in res["rows"]]
        )
    return out


@contextmanager
def transaction() -> Iterator[None]:
    """Run the ``execute`` calls inside the block as one transaction (rolled back on error)."""
    if _baton:
        raise DatabaseError("transactions do not nest")
    _baton.append(None)
    try:
        _pipeline([{"type": "execute", "stmt": _stmt("BEGIN")}])
        try:
            yield
        except BaseException:
            _pipeline([{"type": "execute", "stmt": _stmt("ROLLBACK")}, {"type": "close"}])
            raise
        _pipeline([{"type": "execute", "stmt": _stmt("COMMIT")}, {"type": "close"}])
    finally:
        _baton.clear()
