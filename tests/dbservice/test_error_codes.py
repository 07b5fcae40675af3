"""Error codes as sqld sends them: the primary result code in ``code``, the extended one beside.

Each constraint violation is checked on the wire (pipeline, batch, cursor, ``/v1/execute``)
and through both official clients, as an app would see it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from atoll.dbservice.protocol import SQLITE_PRIMARY_CODES, base_code, error_object

from .conftest import Service, stmt

HERE = Path(__file__).parent

SETUP = [
    "CREATE TABLE owners (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
    " age INTEGER CHECK (age >= 0))",
    "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES owners (id))",
    "INSERT INTO owners VALUES (1, 'ann@example.com', 30)",
]
#: Each violation and the extended code SQLite gives it.
CASES = {
    "primary_key": ("INSERT INTO owners VALUES (1, 'bob@example.com', 5)", "PRIMARYKEY"),
    "unique": ("INSERT INTO owners VALUES (2, 'ann@example.com', 5)", "UNIQUE"),
    "not_null": ("INSERT INTO owners VALUES (3, NULL, 5)", "NOTNULL"),
    "check": ("INSERT INTO owners VALUES (4, 'cy@example.com', -1)", "CHECK"),
    "foreign_key": ("INSERT INTO pets VALUES (1, 99)", "FOREIGNKEY"),
}
SQL = {name: sql for name, (sql, _) in CASES.items()}


def _setup(service: Service) -> None:
    body = service.pipeline([stmt(sql) for sql in SETUP] + [{"type": "close"}])
    assert all(r["type"] == "ok" for r in body["results"]), body


def _expected(name: str) -> dict[str, str]:
    return {"code": "SQLITE_CONSTRAINT", "extended_code": "SQLITE_CONSTRAINT_" + CASES[name][1]}


def test_base_code_of_every_extended_sqlite_code() -> None:
    import apsw

    primary = {k for k in apsw.mapping_result_codes if isinstance(k, str)}
    assert primary == SQLITE_PRIMARY_CODES
    for name, number in apsw.mapping_extended_result_codes.items():
        if isinstance(name, str):
            assert base_code(name) == apsw.mapping_result_codes[number & 0xFF], name
    for code in ("SQLITE_ERROR", "SQLITE_BUSY", "READONLY_TOKEN", "SQL_MANY_STATEMENTS", ""):
        assert base_code(code) == code


def test_error_object_splits_extended_codes() -> None:
    assert error_object("m", "SQLITE_IOERR_SHORT_READ") == {
        "message": "m",
        "code": "SQLITE_IOERR",
        "extended_code": "SQLITE_IOERR_SHORT_READ",
    }
    assert error_object("m", "SQLITE_ERROR") == {"message": "m", "code": "SQLITE_ERROR"}
    assert error_object("m", "STREAM_EXPIRED") == {"message": "m", "code": "STREAM_EXPIRED"}
    assert error_object("m", None) == {"message": "m", "code": None}


def test_constraint_errors_on_the_wire(service: Service) -> None:
    _setup(service)
    for name, sql in SQL.items():
        error = service.execute(sql)["error"]
        assert {k: error[k] for k in ("code", "extended_code")} == _expected(name)
        assert "constraint failed" in error["message"]

        batch = {"steps": [{"stmt": {"sql": "SELECT 1"}}, {"stmt": {"sql": sql}}]}
        body = service.pipeline([{"type": "batch", "batch": batch}, {"type": "close"}])
        step_error = body["results"][0]["response"]["result"]["step_errors"][1]
        assert step_error == error

        response = service.post("/v3/cursor", {"baton": None, "batch": batch})
        entries = [json.loads(line) for line in response.text.splitlines()]
        assert entries[-1] == {"type": "step_error", "step": 1, "error": error}

        response = service.post("/v1/execute", {"stmt": {"sql": sql}})
        assert response.status_code == 400
        assert {k: response.json()[k] for k in ("code", "extended_code")} == _expected(name)


def test_codes_without_an_extended_form_have_no_extended_field(service: Service) -> None:
    error = service.execute("SELECT * FROM nowhere")["error"]
    assert error == {"message": "no such table: nowhere", "code": "SQLITE_ERROR"}
    refused = service.execute("CREATE TABLE t (x)", token=service.token("ro"))["error"]
    assert refused["code"] == "READONLY_TOKEN" and "extended_code" not in refused


def test_foreign_keys_are_enforced_on_every_new_stream(service: Service) -> None:
    _setup(service)
    for _ in range(3):  # fresh streams, reader and writer connections alike
        body = service.pipeline([stmt("PRAGMA foreign_keys"), stmt(SQL["foreign_key"])])
        assert body["results"][0]["response"]["result"]["rows"] == [
            [{"type": "integer", "value": "1"}]
        ]
        assert body["results"][1]["error"]["code"] == "SQLITE_CONSTRAINT"


def _run(command: list[str]) -> Any:
    proc = subprocess.run(
        [*command, json.dumps(SETUP), json.dumps(SQL)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_client_sees_the_base_code(service: Service) -> None:
    out = _run(["node", str(HERE / "libsql_client_errors.mjs"), service.url, service.token()])
    assert out.pop("foreignKeys") == 1
    assert set(out) == set(CASES)
    for name, seen in out.items():
        for how in ("execute", "batch", "transaction"):
            error = seen[how]
            assert error is not None, (name, how)
            assert error["code"] == "SQLITE_CONSTRAINT", (name, how, error)
            # @libsql/client 0.18 fills extendedCode and rawCode only for file: databases;
            # over HTTP it reads just the Hrana `code` (what sqld sends) and `message`.
            assert error["extendedCode"] is None and error["rawCode"] is None, error
            assert error["message"].startswith("SQLITE_CONSTRAINT: "), error
            assert "constraint failed" in error["message"]
        assert seen["batch"]["name"] == "LibsqlBatchError"
        assert seen["execute"]["name"] == "LibsqlError"


def test_python_client_sees_the_base_code(service: Service) -> None:
    script = str(HERE / "libsql_python_errors.py")
    out = _run([sys.executable, script, service.url, service.token()])
    assert out.pop("foreign_keys") == 1
    assert set(out) == set(CASES)
    for name, seen in out.items():
        assert seen is not None, name
        # libsql 0.1.11 raises a plain ValueError; the Hrana error's fields are in its text.
        assert seen["type"] == "ValueError" and seen["attributes"] == [], seen
        assert 'code: "SQLITE_CONSTRAINT" }' in seen["text"], seen
        assert "SQLITE_CONSTRAINT_" not in seen["text"], seen
