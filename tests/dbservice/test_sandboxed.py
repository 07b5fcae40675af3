"""``atoll.db`` in a real sandbox against a real DB service: the quota, and the database of
a deleted app, as a function sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atoll.config import Settings
from atoll.dbservice import (
    EngineLimits,
    ServiceOptions,
    create_database,
    delete_app_databases,
    exec_sql,
)
from atoll.errors import AtollError
from atoll.gateway.databases import ServiceDatabaseLink
from atoll.runtime import InvokeResponse
from tests.attacks import DATABASE_ESCAPES
from tests.runtime.conftest import SESSION_UID_BASE, LoopThread, needs_bwrap, started_runtime

from .running import running_service

pytestmark = [pytest.mark.sandbox, needs_bwrap]

MiB = 1024 * 1024
APP = {
    "functions/notes.py": """
        import atoll

        def get():
            try:
                return {"notes": atoll.db.execute("SELECT body FROM notes ORDER BY rowid")}
            except Exception as exc:
                return {"error": f"{type(exc).__name__}: {exc}"}

        def post():
            atoll.db.execute("CREATE TABLE IF NOT EXISTS blobs (b BLOB)")
            for done in range(100):
                try:
                    atoll.db.execute("INSERT INTO blobs VALUES (randomblob(100000))")
                except Exception as exc:
                    return {"inserted": done, "error": f"{type(exc).__name__}: {exc}"}
            return {"inserted": 100, "error": None}
        """
}


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


def _json(result: InvokeResponse | AtollError) -> Any:
    assert isinstance(result, InvokeResponse), result
    return result.json()


def test_functions_see_the_quota_and_lose_a_deleted_apps_database(
    loop: LoopThread, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    options = ServiceOptions(limits=EngineLimits(max_database_bytes=2 * MiB))
    with running_service(data_dir, options) as service:
        link = ServiceDatabaseLink(Settings(data_dir=data_dir, db_port=service.port))
        with started_runtime(
            loop, tmp_path, SESSION_UID_BASE + 8000, database=link, pool_size=1
        ) as h:
            old = h.app("shop", APP, tenant="acme", release="r1")
            create_database(data_dir, "acme--shop--dev")
            exec_sql(data_dir, "acme--shop--dev", "CREATE TABLE notes (body TEXT)")
            exec_sql(data_dir, "acme--shop--dev", "INSERT INTO notes VALUES ('old')")
            filled = _json(h.call(old, "/api/notes", "POST"))
            assert 10 <= filled["inserted"] < 25, filled
            assert "DatabaseError" in filled["error"] and "quota of 2 MB" in filled["error"]
            assert _json(h.call(old, "/api/notes")) == {"notes": [{"body": "old"}]}

            # The app is deleted and a new one of the same name created, with its own data.
            delete_app_databases(data_dir, "acme", "shop")
            create_database(data_dir, "acme--shop--dev")
            exec_sql(data_dir, "acme--shop--dev", "CREATE TABLE notes (body TEXT)")
            exec_sql(data_dir, "acme--shop--dev", "INSERT INTO notes VALUES ('new')")
            new = h.app("shop", APP, tenant="acme", release="r2")
            assert _json(h.call(new, "/api/notes")) == {"notes": [{"body": "new"}]}
            # The old app's code, still deployed somewhere, reaches nothing of the new app's.
            seen = _json(h.call(old, "/api/notes"))
            assert "error" in seen and "new" not in str(seen.get("notes")), seen
            assert "deleted" in seen["error"], seen


HOSTILE = {"functions/hostile.py": DATABASE_ESCAPES}
NEIGHBOUR = {
    "functions/hello.py": """
        import atoll

        def get():
            return atoll.db.execute("SELECT 'still here' AS answer")[0]["answer"]
        """
}


def test_a_hostile_function_gets_clear_refusals_and_its_neighbour_keeps_answering(
    loop: LoopThread, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    options = ServiceOptions(
        limits=EngineLimits(max_database_bytes=8 * MiB), max_streams_per_tenant=3
    )
    with running_service(data_dir, options) as service:
        link = ServiceDatabaseLink(Settings(data_dir=data_dir, db_port=service.port))
        with started_runtime(
            loop, tmp_path, SESSION_UID_BASE + 8000, database=link, pool_size=2
        ) as h:
            evil = h.app("hoarder", HOSTILE, tenant="evil")
            good = h.app("hello", NEIGHBOUR, tenant="good")
            seen = _json(h.call(evil, "/api/hostile", "POST"))
            refused = "DatabaseError: statement refused: "
            for name in ("lift_quota", "lift_quota_schema", "page_size"):
                assert seen[name].startswith(refused) and "cannot be changed" in seen[name]
            assert seen["attach_file"] == refused + "ATTACH is not allowed"
            assert seen["attach_memory"] == refused + "ATTACH is not allowed"
            assert seen["vacuum_into"] == refused + "VACUUM INTO is not allowed"
            for name in ("temp_table", "temp_schema_table", "temp_trigger"):
                assert seen[name].startswith(refused + "temporary tables"), seen[name]
            assert seen["load_extension"] == refused + "load_extension() is not allowed"
            assert seen["quota_error"].startswith("DatabaseError: database is full")
            assert "quota of 8 MB" in seen["quota_error"]
            assert 4 <= seen["inserted_mb"] <= 8 and seen["rows_after"] == seen["inserted_mb"]
            assert len(seen["held"]) == 3
            assert seen["stream_refusal"]["status"] == 503
            assert seen["stream_refusal"]["code"] == "TOO_MANY_STREAMS"
            assert "tenant 'evil'" in seen["stream_refusal"]["message"]
            # while the hostile tenant's streams are held, its neighbour is served...
            assert _json(h.call(good, "/api/hello")) == "still here"
            # ...and the hostile tenant itself waits for its own streams
            own = _json(h.call(evil, "/api/hostile"))
            assert "DatabaseUnavailable" in own and "TOO_MANY_STREAMS" in own
            released = json.dumps({"held": seen["held"]}).encode()
            assert _json(h.call(evil, "/api/hostile", "DELETE", body=released)) == "released"
            assert _json(h.call(evil, "/api/hostile")) == "ran"
