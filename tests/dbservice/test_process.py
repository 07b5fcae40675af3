"""The service as its own process: kill -9 during a write load, and the Unix socket."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from atoll.dbservice import TokenIssuer, create_database, database_path, default_socket_path

from .conftest import DATABASE, stmt


@contextmanager
def dbservice_process(data_dir: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m atoll.dbservice`` on a free port; yields the process and its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atoll.dbservice",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on " in line, line
        url = line.rsplit(" ", 1)[1].strip()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/v2", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "service did not come up"
                time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def test_kill_9_during_write_load(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_database(data_dir, DATABASE)
    token = TokenIssuer.from_data_dir(data_dir).issue(DATABASE, "rw", 600)
    headers = {"Authorization": f"Bearer {token}"}
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load(url: str, worker: int) -> None:
        with httpx.Client(timeout=10, headers=headers) as client:
            for i in range(1_000_000):
                if stop.is_set():
                    return
                keys = [f"{worker}-{i}-a", f"{worker}-{i}-b"]
                if i % 2:  # an autocommit insert
                    requests = [stmt("INSERT INTO log (k) VALUES (?)", keys[0]), {"type": "close"}]
                    keys = keys[:1]
                else:  # a two-row transaction in one batch
                    steps = (
                        [{"stmt": {"sql": "BEGIN IMMEDIATE"}}]
                        + [
                            {
                                "stmt": stmt("INSERT INTO log (k) VALUES (?)", k)["stmt"],
                                "condition": {"type": "ok", "step": n},
                            }
                            for n, k in enumerate(keys)
                        ]
                        + [{"stmt": {"sql": "COMMIT"}, "condition": {"type": "ok", "step": 2}}]
                    )
                    requests = [{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}]
                try:
                    response = client.post(
                        url + "/v2/pipeline", json={"baton": None, "requests": requests}
                    )
                except httpx.HTTPError:
                    return
                if response.status_code != 200:
                    continue
                result = response.json()["results"][0]
                if result["type"] == "ok" and (
                    "step_errors" not in result["response"]["result"]
                    or not any(result["response"]["result"]["step_errors"])
                ):
                    with lock:
                        acked.update(keys)

    with dbservice_process(data_dir) as (proc, url):
        httpx.post(
            url + "/v2/pipeline",
            json={"baton": None, "requests": [stmt("CREATE TABLE log (k TEXT UNIQUE NOT NULL)")]},
            headers=headers,
        ).raise_for_status()
        threads = [threading.Thread(target=load, args=(url, w)) for w in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        stop.set()
        for thread in threads:
            thread.join()
    assert len(acked) >= 400

    with dbservice_process(data_dir) as (_, url):
        response = httpx.post(
            url + "/v2/pipeline",
            json={
                "baton": None,
                "requests": [stmt("SELECT k FROM log"), stmt("PRAGMA integrity_check")],
            },
            headers=headers,
        )
        results = response.json()["results"]
        present = {row[0]["value"] for row in results[0]["response"]["result"]["rows"]}
        assert results[1]["response"]["result"]["rows"] == [[{"type": "text", "value": "ok"}]]
    missing = acked - present
    assert not missing, f"{len(missing)} acknowledged writes lost"
    with sqlite3.connect(database_path(data_dir, DATABASE)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_unix_socket_for_sandboxes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_database(data_dir, DATABASE)
    token = TokenIssuer.from_data_dir(data_dir).issue(DATABASE, "ro", 60)
    uds = default_socket_path(data_dir)
    with dbservice_process(data_dir, "--uds", str(uds)):
        assert stat.S_IMODE(uds.stat().st_mode) == 0o666
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(uds))) as client:
            response = client.post(
                "http://dbservice/v2/pipeline",
                json={"baton": None, "requests": [stmt("SELECT 'via socket'")]},
                headers={"Authorization": f"Bearer {token}"},
            )
            row = response.json()["results"][0]["response"]["result"]["rows"][0]
            assert row == [{"type": "text", "value": "via socket"}]
            assert client.post("http://dbservice/v2/pipeline", json={}).status_code == 401
