"""The official libSQL clients (npm @libsql/client, PyPI libsql) against a real service."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atoll.config import Settings
from atoll.dbservice import connection_info

from .conftest import DATABASE, Service

HERE = Path(__file__).parent


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_client(service: Service) -> None:
    proc = subprocess.run(
        ["node", str(HERE / "libsql_client_suite.mjs"), service.url, service.token()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["insert"] == {"rowsAffected": 1, "lastInsertRowid": "1"}
    assert out["select"]["columns"] == ["name", "qty", "data", "price"]
    assert out["select"]["columnTypes"] == ["TEXT", "INTEGER", "BLOB", "REAL"]
    assert out["select"]["rows"] == [
        ["apple", "9007199254740993n", [0, 1, 2, 255], 1.5],
        ["pear", "-9223372036854775808n", None, None],
        ["fig", "3n", None, None],
    ]
    assert out["batch"] == [[], [], [["11n"]]]
    assert out["batchError"]["code"] == "SQLITE_CONSTRAINT"
    assert out["plumAfterFailedBatch"] == [["0n"]]
    assert out["txSeesOwnWrite"] == [["1n"]]
    assert out["afterTx"] == [["committed"]]
    assert out["readTx"] == [["5n"]]
    assert out["readTxWrite"]["code"] == "READONLY_TRANSACTION"
    assert out["sqlError"]["code"] == "SQLITE_ERROR"
    assert "no such table" in out["sqlError"]["message"]
    assert out["constraint"]["code"] == "SQLITE_CONSTRAINT"
    assert out["nulls"] == [[None, "1n", None]]
    assert out["multi"] == [["3n"]]
    assert out["count"] == [["6n"]]
    assert out["migrated"] == [["1n"]]
    assert out["foreignKeysAfterMigrate"]["code"] == "SQLITE_CONSTRAINT"
    assert "FOREIGN KEY constraint failed" in out["foreignKeysAfterMigrate"]["message"]


def test_python_client(service: Service) -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "libsql_python_suite.py"), service.url, service.token()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"] == [["hello", 42, "00ff"], ["named", 7, None]]
    assert out["big"] == [9223372036854775807, -9223372036854775808, None]
    assert out["after_rollback"] == 2
    assert out["after_commit"] == 4
    assert "no such table: missing_table" in out["sql_error"]
    assert 'code: "SQLITE_CONSTRAINT" }' in out["constraint"], out["constraint"]
    assert out["still_serving"] == 1
    assert out["script"] == 3


READ_ONLY_CHECK = """
import { createClient } from "@libsql/client";
const [rwUrl, rwToken, roUrl, roToken] = process.argv.slice(1);
const rw = createClient({ url: rwUrl, authToken: rwToken });
await rw.execute("CREATE TABLE z (x)");
await rw.execute("INSERT INTO z VALUES (1)");
const ro = createClient({ url: roUrl, authToken: roToken });
const count = (await ro.execute("SELECT count(*) AS n FROM z")).rows[0].n;
let code = null;
try { await ro.execute("INSERT INTO z VALUES (2)"); } catch (e) { code = e.code; }
console.log(JSON.stringify({ count, code }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_db_url_output_works_in_the_js_client(service: Service) -> None:
    settings = Settings(data_dir=service.data_dir, db_port=int(service.url.rsplit(":", 1)[1]))
    rw = connection_info(settings, DATABASE)
    ro = connection_info(settings, DATABASE, read_only=True)
    assert rw["url"] == service.url
    proc = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            READ_ONLY_CHECK,
            rw["url"],
            rw["token"],
            ro["url"],
            ro["token"],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"count": 1, "code": "READONLY_TOKEN"}
