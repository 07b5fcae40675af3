"""DB service benchmark: point reads and inserts through Hrana over HTTP vs direct sqlite3.

Starts ``python -m atoll.dbservice`` on a free port over a temporary data dir and drives it
with keep-alive HTTP connections (``http.client``, the lightest client in the standard
library), then runs the same operations on a file opened directly with ``sqlite3`` (WAL,
synchronous=NORMAL, as the service uses). Prints one JSON object.

Then, through a whole ``atoll serve``: the same point read and insert made with ``atoll.db``
inside a sandboxed function, called over keep-alive HTTP through the app gateway, next to a
function that does no database work (the gateway and sandbox share of the cost). Two servers
run side by side, one handing functions' database requests to the DB service in-process
(the default) and one sending them over loopback HTTP (``ATOLL_DATABASE_IN_PROCESS=0``, as
when the service runs elsewhere); they are measured in interleaved rounds, the three kinds
of call taken in turn within a round, and each ratio is the median over rounds of
(database call p50 / no-database call p50) within one round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atoll.dbservice import TokenIssuer, create_database, database_path

DATABASE = "bench--db--dev"
ROWS = 10_000
TARGETS = {"point_read_p50_ms": 1.0, "insert_p50_ms": 2.0, "concurrent_inserts_per_s": 2000}
FUNCTION_TARGET = 2.0  # an in-function point read, at most this many times a no-db call


def summarize(samples: list[float], elapsed: float) -> dict[str, float]:
    """Median, p99 (ms) and throughput of a list of per-operation durations (s)."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "ops_per_s": round(len(samples) / elapsed, 1),
        "n": len(samples),
    }


def timed(op: Callable[[int], object], n: int) -> dict[str, float]:
    """Run ``op(i)`` n times; its latency summary."""
    samples = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - t0)
    return summarize(samples, time.perf_counter() - start)


def concurrent(
    make_op: Callable[[], Callable[[int], object]], workers: int, per_worker: int
) -> dict[str, float]:
    """``workers`` threads, each with its own connection, ``per_worker`` ops each."""
    ops = [make_op() for _ in range(workers)]
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers + 1)

    def run(op: Callable[[int], object], w: int) -> None:
        mine = []
        barrier.wait()
        for i in range(per_worker):
            t0 = time.perf_counter()
            op(w * per_worker + i)
            mine.append(time.perf_counter() - t0)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=run, args=(op, w)) for w, op in enumerate(ops)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return summarize(samples, time.perf_counter() - start)


class HranaClient:
    """A keep-alive Hrana-over-HTTP client doing what @libsql/client does per execute()."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(host, port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def execute(self, sql: str, *args: Any) -> dict[str, Any]:
        values = [
            {"type": "integer", "value": str(a)}
            if isinstance(a, int)
            else {"type": "text", "value": a}
            for a in args
        ]
        body = json.dumps(
            {
                "baton": None,
                "requests": [
                    {"type": "execute", "stmt": {"sql": sql, "args": values}},
                    {"type": "close"},
                ],
            }
        )
        self.conn.request("POST", "/v2/pipeline", body, self.headers)
        response = self.conn.getresponse()
        data = json.loads(response.read())
        result = data["results"][0]
        if result["type"] != "ok":
            raise RuntimeError(result["error"])
        return result["response"]["result"]  # type: ignore[no-any-return]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_service(data_dir: Path) -> tuple[subprocess.Popen[str], str, int]:
    """The service in a subprocess; its process, host and port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atoll.dbservice", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    host_port = line.rsplit("//", 1)[1].strip()
    host, port = host_port.rsplit(":", 1)
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection(host, int(port))
            conn.request("GET", "/v2")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.05)
    return proc, host, int(port)


def bench_service(data_dir: Path, n: int, workers: int, per_worker: int) -> dict[str, Any]:
    """Point reads, inserts and concurrent inserts through the service."""
    create_database(data_dir, DATABASE)
    token = TokenIssuer.from_data_dir(data_dir).issue(DATABASE, "rw", 3600)
    proc, host, port = start_service(data_dir)
    try:
        client = HranaClient(host, port, token)
        client.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)")
        client.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, v TEXT)")
        _fill(client)
        rng = random.Random(1)
        for _ in range(200):  # warm up connections, caches and the reader pool
            client.execute("SELECT v FROM kv WHERE id = ?", rng.randint(1, ROWS))
        read = timed(
            lambda i: client.execute("SELECT v FROM kv WHERE id = ?", rng.randint(1, ROWS)), n
        )
        insert = timed(lambda i: client.execute("INSERT INTO log (v) VALUES (?)", f"row-{i}"), n)

        def make_writer() -> Callable[[int], object]:
            own = HranaClient(host, port, token)
            return lambda i: own.execute("INSERT INTO log (v) VALUES (?)", f"c-{i}")

        cpu_before = process_cpu_seconds(proc.pid)
        many = concurrent(make_writer, workers, per_worker)
        cpu = process_cpu_seconds(proc.pid) - cpu_before
        # The service's own CPU per insert does not depend on what else the machine runs:
        # 1e6 / it is the insert rate one free core sustains.
        many["service_cpu_us_per_op"] = round(cpu / many["n"] * 1e6, 1)
        return {"point_read": read, "insert": insert, f"concurrent_insert_{workers}": many}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def _fill(client: HranaClient) -> None:
    """Insert ROWS rows into kv with one statement."""
    client.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
        "INSERT INTO kv (id, v) SELECT i, 'value-' || i FROM s",
        ROWS,
    )


def bench_direct(path: Path, n: int, workers: int, per_worker: int) -> dict[str, Any]:
    """The same operations on a file opened directly with sqlite3."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    conn = connect()
    conn.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
        "INSERT INTO kv (id, v) SELECT i, 'value-' || i FROM s",
        (ROWS,),
    )
    rng = random.Random(1)
    read = timed(
        lambda i: conn.execute("SELECT v FROM kv WHERE id = ?", (rng.randint(1, ROWS),)).fetchall(),
        n,
    )
    insert = timed(lambda i: conn.execute("INSERT INTO log (v) VALUES (?)", (f"row-{i}",)), n)

    def make_writer() -> Callable[[int], object]:
        own = connect()
        return lambda i: own.execute("INSERT INTO log (v) VALUES (?)", (f"c-{i}",))

    many = concurrent(make_writer, workers, per_worker)
    conn.close()
    return {"point_read": read, "insert": insert, f"concurrent_insert_{workers}": many}


FUNCTION = """
import atoll


def get(id: int = 0) -> object:
    if id == 0:
        return None
    return atoll.db.execute("SELECT v FROM kv WHERE id = ?", [id])


def post(body: dict) -> object:
    atoll.db.execute("INSERT INTO log (v) VALUES (?)", [body["v"]])
    return None
"""

MIGRATION = (
    "CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT);\n"
    "CREATE TABLE log (id INTEGER PRIMARY KEY, v TEXT);\n"
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10000) "
    "INSERT INTO kv (id, v) SELECT i, 'value-' || i FROM s;\n"
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Platform:
    """A whole ``atoll serve`` with the bench app deployed, and a keep-alive gateway client."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        api, gateway, db = free_port(), free_port(), free_port()
        atoll = Path(sys.executable).parent / "atoll"
        self.data_dir = data_dir
        self.gateway = gateway
        self.proc = subprocess.Popen(
            [
                str(atoll),
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(api),
                "--gateway-port",
                str(gateway),
                "--db-port",
                str(db),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        self.api = api
        self.conn = http.client.HTTPConnection("127.0.0.1", gateway, timeout=60)
        self.host = {
            "Host": f"dev--db--bench.localhost:{gateway}",
            "Content-Type": "application/json",
        }

    def deploy(self) -> None:
        """Wait for the server, create the tenant and app, push the bench function."""
        control = http.client.HTTPConnection("127.0.0.1", self.api, timeout=60)
        for _ in range(600):
            try:
                control.request("GET", "/healthz")
                if control.getresponse().read() and (self.data_dir / "admin.token").exists():
                    break
            except OSError:
                control = http.client.HTTPConnection("127.0.0.1", self.api, timeout=60)
            time.sleep(0.1)

        def call(method: str, path: str, token: str, body: Any) -> Any:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            control.request(method, path, json.dumps(body), headers)
            reply = control.getresponse()
            data = json.loads(reply.read())
            assert reply.status < 300, data
            return data

        admin = (self.data_dir / "admin.token").read_text().strip()
        token = call("POST", "/api/v1/tenants", admin, {"name": "bench"})["token"]
        call("POST", "/api/v1/apps", token, {"name": "db"})
        files = {
            "atoll.toml": 'name = "db"\n',
            "functions/kv.py": FUNCTION,
            "migrations/0001_kv.sql": MIGRATION,
        }
        changes = [{"path": p, "text": t} for p, t in files.items()]
        call("POST", "/api/v1/apps/db/revisions", token, {"base": None, "changes": changes})
        for _ in range(600):  # the dev build and its migration
            try:
                self.invoke("GET", "/api/kv?id=1")
                break
            except AssertionError:
                time.sleep(0.1)
        for _ in range(50):  # warm the zygote and its workers
            self.invoke("GET", "/api/kv?id=1")

    def invoke(self, method: str, path: str, body: bytes | None = None) -> None:
        """One call through the gateway; it must answer 200."""
        self.conn.request(method, path, body, self.host)
        reply = self.conn.getresponse()
        reply.read()
        assert reply.status == 200, reply.status

    def round(self, n: int, rng: random.Random) -> dict[str, list[float]]:
        """One round: n times the no-db call, the point read and the insert, taken in turn
        (so that the machine's drift touches the three alike), and the server's CPU."""
        ops: dict[str, Callable[[int], None]] = {
            "function_without_db": lambda i: self.invoke("GET", "/api/kv"),
            "point_read": lambda i: self.invoke("GET", f"/api/kv?id={rng.randint(1, ROWS)}"),
            "insert": lambda i: self.invoke(
                "POST", "/api/kv", json.dumps({"v": f"f-{i}"}).encode()
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in ops}
        cpu = process_cpu_seconds(self.proc.pid)
        for i in range(n):
            for name, op in ops.items():
                t0 = time.perf_counter()
                op(i)
                samples[name].append(time.perf_counter() - t0)
        # The server's own CPU per call, over the three kinds (its loop and threads; the
        # event loop's polling included).
        samples["cpu"] = [(process_cpu_seconds(self.proc.pid) - cpu) / (3 * n)]
        return samples

    def stop(self) -> None:
        """Stop the server."""
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(30)


LINKS = {
    "in_process": {"ATOLL_DATABASE_IN_PROCESS": "1"},
    "http": {"ATOLL_DATABASE_IN_PROCESS": "0"},
}


def bench_function(data_dir: Path, n: int, rounds: int) -> dict[str, Any]:
    """``atoll.db`` in a function, through real ``atoll serve``s and their gateways: the
    in-process link and the HTTP link, measured in interleaved rounds."""
    platforms = {name: Platform(data_dir / name, env) for name, env in LINKS.items()}
    try:
        for platform in platforms.values():
            platform.deploy()
        rng = random.Random(2)
        per_round: dict[str, list[dict[str, list[float]]]] = {name: [] for name in platforms}
        for _ in range(rounds):
            for name, platform in platforms.items():
                per_round[name].append(platform.round(n, rng))
    finally:
        for platform in platforms.values():
            platform.stop()
    report: dict[str, Any] = {}
    for name, rounds_seen in per_round.items():
        ops: dict[str, Any] = {
            op: summarize(
                [s for r in rounds_seen for s in r[op]],
                sum(sum(r[op]) for r in rounds_seen),
            )
            for op in ("function_without_db", "point_read", "insert")
        }
        cpu = sum(r["cpu"][0] for r in rounds_seen) / len(rounds_seen)
        ops["server_cpu_us_per_call"] = round(cpu * 1e6, 1)
        for op in ("point_read", "insert"):
            ratios = [
                statistics.median(r[op]) / statistics.median(r["function_without_db"])
                for r in rounds_seen
            ]
            ops[f"{op}_vs_no_db"] = round(statistics.median(ratios), 2)
            ops[f"{op}_vs_no_db_by_round"] = [round(x, 2) for x in ratios]
        report[name] = ops
    report["rounds"] = rounds
    return report


def main() -> None:
    """Run both sides and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000, help="operations per latency test")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--per-worker", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds of the in-function part"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer operations (-n 500, --per-worker 100)"
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.per_worker = 500, 100
    with tempfile.TemporaryDirectory(prefix="atoll-bench-db-") as tmp:
        service = bench_service(Path(tmp) / "data", args.n, args.workers, args.per_worker)
        direct = bench_direct(Path(tmp) / "direct.sqlite", args.n, args.workers, args.per_worker)
        assert database_path(Path(tmp) / "data", DATABASE).exists()
        in_function = bench_function(Path(tmp) / "serve", max(100, args.n // 5), args.rounds)
    many = f"concurrent_insert_{args.workers}"
    report = {
        "benchmark": "dbservice",
        "what": "Hrana over HTTP (keep-alive, one [execute, close] pipeline per operation, "
        "the way @libsql/client sends execute) vs direct sqlite3 on the same machine",
        "through_service": service,
        "direct_sqlite3": direct,
        "through_atoll_db_in_function": in_function,
        "targets": TARGETS | {"in_function_point_read_vs_no_db": FUNCTION_TARGET},
        "targets_met": {
            "point_read_p50_ms": service["point_read"]["p50_ms"] <= TARGETS["point_read_p50_ms"],
            "insert_p50_ms": service["insert"]["p50_ms"] <= TARGETS["insert_p50_ms"],
            "concurrent_inserts_per_s": service[many]["ops_per_s"]
            >= TARGETS["concurrent_inserts_per_s"],
            "in_function_point_read_vs_no_db": in_function["in_process"]["point_read_vs_no_db"]
            <= FUNCTION_TARGET,
        },
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "settings": {
            "rows": ROWS,
            "n": args.n,
            "workers": args.workers,
            "per_worker": args.per_worker,
            "function_n_per_round": max(100, args.n // 5),
            "rounds": args.rounds,
            "synchronous": "NORMAL",
            "journal": "WAL",
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
