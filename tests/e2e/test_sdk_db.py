"""``atoll.db`` inside a sandboxed function, against the real DB service of ``atoll serve``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.e2e.conftest import Served

NOTES = """
import atoll


def get(id: int) -> dict:
    rows = atoll.db.execute("SELECT id, body, big, data FROM notes WHERE id = ?", [id])
    if not rows:
        return atoll.Response({"missing": id}, status=404)
    row = rows[0]
    return {**row, "data": row["data"].hex() if row["data"] is not None else None}


def post(body: dict) -> dict:
    mode = body["mode"]
    if mode == "batch":
        out = atoll.db.batch([
            ("INSERT INTO notes (body) VALUES (?)", ["b1"]),
            ("INSERT INTO notes (body) VALUES (?)", ["b2"]),
            "SELECT count(*) AS n FROM notes",
        ])
        return {"count": out[2][0]["n"]}
    if mode == "commit":
        with atoll.db.transaction():
            atoll.db.execute("INSERT INTO notes (body, big, data) VALUES (?, ?, ?)",
                             ["tx", 2**62 + 1, bytes([0, 255])])
        return {"ok": True}
    if mode == "rollback":
        try:
            with atoll.db.transaction():
                atoll.db.execute("INSERT INTO notes (body) VALUES ('never')")
                raise ValueError("changed my mind")
        except ValueError:
            pass
        left = atoll.db.execute("SELECT count(*) AS n FROM notes WHERE body = 'never'")
        return {"never": left[0]["n"]}
    if mode == "bad-sql":
        atoll.db.execute("SELEKT nonsense")
    if mode == "attach":
        atoll.db.execute("ATTACH DATABASE '/etc/passwd' AS x")
    return {"unknown": mode}
"""

MIGRATION = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, big INTEGER, data BLOB);\n"


def test_atoll_db_in_a_function(served: Served, tmp_path: Path) -> None:
    token = served.tenant("acme")
    src = tmp_path / "src"
    (src / "functions").mkdir(parents=True)
    (src / "migrations").mkdir()
    (src / "atoll.toml").write_text('name = "notes"\n')
    (src / "functions" / "notes.py").write_text(NOTES)
    (src / "migrations" / "0001_notes.sql").write_text(MIGRATION)
    served.cli("app", "create", "notes", "--from", str(src), token=token)

    base = f"http://127.0.0.1:{served.gateway_port}/api/notes"
    headers = {"Host": f"dev--notes--acme.localhost:{served.gateway_port}"}
    with httpx.Client(headers=headers, timeout=60) as http:

        def post(mode: str) -> httpx.Response:
            return http.post(base, json={"mode": mode})

        assert post("batch").json() == {"count": 2}
        assert post("commit").json() == {"ok": True}
        got = http.get(base, params={"id": 3}).json()
        assert got == {"id": 3, "body": "tx", "big": 2**62 + 1, "data": "00ff"}
        assert http.get(base, params={"id": 1}).json()["big"] is None
        assert post("rollback").json() == {"never": 0}
        bad = post("bad-sql")
        assert bad.status_code == 500 and "SELEKT" in bad.text
        refused = post("attach")
        assert refused.status_code == 500 and "ATTACH is not allowed" in refused.text
        # The function's database is this environment's: the CLI sees the same rows.
        rows = served.cli(
            "db",
            "exec",
            "--app",
            "notes",
            "SELECT body FROM notes ORDER BY id",
            "--json",
            token=token,
        )
        assert json.loads(rows.stdout)["rows"] == [["b1"], ["b2"], ["tx"]]
