"""Databases through a real ``atoll serve``: db exec, db url with the official clients."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import REPO
from tests.e2e.conftest import Served

PY_CLIENT = textwrap.dedent(
    """
    import json, sys
    import libsql
    url, token, write = sys.argv[1], sys.argv[2], sys.argv[3] == "write"
    conn = libsql.connect(url, auth_token=token)
    if write:
        conn.execute("INSERT INTO notes (body) VALUES (?)", ("from python",))
        conn.commit()
    rows = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    print(json.dumps([list(r) for r in rows]))
    """
)

JS_CLIENT = textwrap.dedent(
    """
    import { createClient } from "@libsql/client";
    const [url, authToken] = process.argv.slice(2);
    const db = createClient({ url, authToken });
    await db.execute({ sql: "INSERT INTO notes (body) VALUES (?)", args: ["from js"] });
    const rs = await db.execute("SELECT count(*) AS n FROM notes");
    console.log(JSON.stringify({ n: Number(rs.rows[0].n) }));
    """
)


def test_db_exec_and_url_with_official_clients(served: Served) -> None:
    token = served.tenant("acme")
    served.cli("app", "create", "shop", token=token)
    served.cli(
        "db",
        "exec",
        "--app",
        "shop",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); "
        "INSERT INTO notes (body) VALUES ('from cli')",
        token=token,
    )
    got = json.loads(
        served.cli(
            "db", "exec", "--app", "shop", "SELECT body FROM notes", "--json", token=token
        ).stdout
    )
    assert got == {"columns": ["body"], "rows": [["from cli"]]}

    rw = json.loads(served.cli("db", "url", "--app", "shop", "--json", token=token).stdout)
    done = subprocess.run(
        [sys.executable, "-c", PY_CLIENT, rw["url"], rw["token"], "write"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [[1, "from cli"], [2, "from python"]]

    script = REPO / "node_modules" / ".atoll-e2e-client.mjs"
    script.write_text(JS_CLIENT)
    try:
        done = subprocess.run(
            ["node", str(script), rw["url"], rw["token"]],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        script.unlink()
    assert json.loads(done.stdout) == {"n": 3}

    ro = json.loads(
        served.cli("db", "url", "--app", "shop", "--read-only", "--json", token=token).stdout
    )
    refused = subprocess.run(
        [sys.executable, "-c", PY_CLIENT, ro["url"], ro["token"], "write"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    reads = subprocess.run(
        [sys.executable, "-c", PY_CLIENT, ro["url"], ro["token"], "read"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(json.loads(reads.stdout)) == 3

    # Tokens are short-lived unless asked for, and never past the server's maximum.
    shown = served.cli("db", "url", "--app", "shop", token=token).stdout
    assert "(read-write, valid 60 min)" in shown
    longer = served.cli("db", "url", "--app", "shop", "--ttl", "7200", token=token).stdout
    assert "valid 120 min" in longer
    too_long = served.cli(
        "db", "url", "--app", "shop", "--ttl", "99999999", token=token, check=False
    )
    assert too_long.returncode != 0 and "Traceback" not in too_long.stderr
    assert len(too_long.stderr.strip().splitlines()) == 1, too_long.stderr

    snap = json.loads(served.cli("db", "snapshot", "--app", "shop", "--json", token=token).stdout)
    served.cli("db", "exec", "--app", "shop", "DELETE FROM notes", token=token)
    listed = json.loads(
        served.cli("db", "snapshots", "--app", "shop", "--json", token=token).stdout
    )
    assert snap["id"] in [s["id"] for s in listed["snapshots"]]
    served.cli("db", "restore", snap["id"], "--app", "shop", "--yes", token=token)
    count = served.cli(
        "db", "exec", "--app", "shop", "SELECT count(*) FROM notes", "--json", token=token
    )
    assert json.loads(count.stdout)["rows"] == [[3]]

    bad = served.cli("db", "exec", "--app", "shop", "DROP TABLE nope", token=token, check=False)
    assert bad.returncode == 1 and "nope" in bad.stderr
