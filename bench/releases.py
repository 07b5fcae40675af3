"""Releases benchmark: builds, promotion, rollback and the first request after a switch,
through a real ``atoll serve``. Prints one JSON object measured in one run.

Measured from the client side, each both through the installed CLI (a subprocess: Python's
start is part of it) and as the API call alone over a keep-alive HTTP connection; targets
are judged on the API call:

- builds of ``examples/todo`` and of a generated app with 50 components and 50 functions:
  cold (a revision never built: every push starts dev's build of it at once, so the cold
  build is dev's, timed from the commit until the API reports it built) and cached
  (``release create`` of the unchanged head, whose artifacts that build kept);
- promotion and rollback: prod moved back and forth between two releases of the todo app
  (p50 and p99 over the rounds), and the same over the API for an app whose one function
  imports nothing (what starting a release's own code adds to a switch);
- the first request to prod's function right after each switch, against the warm ones
  that follow it on the same keep-alive connection.

Baselines of the same run: a cheap authenticated API read (``GET .../envs/prod``) and the
CLI's ``env list`` (one call, plus Python's start).

    .venv/bin/python bench/releases.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from _stats import pct

ROOT = Path(__file__).resolve().parents[1]
ATOLL = Path(sys.executable).parent / "atoll"
TODO = ROOT / "examples" / "todo"
TENANT = "bench"
GENERATED = 50  # components and functions of the generated app
WHAT = (
    "atoll serve on this machine, measured from the client: builds (cold: dev's build of a "
    "revision never built, timed from the commit; cached: release create of the unchanged "
    "head), promotion and rollback back and forth on prod, and the first request after "
    "each switch against the warm ones after it; CLI subprocess and API call alone"
)
TARGETS = {
    "rollback_p50_ms": 100.0,
    "cached_rebuild_s": 0.5,
    "cold_build_50_50_s": 10.0,
    "first_request_vs_warm": 2.0,
}

COMPONENT = """import {{ useState }} from "react";

export default function Widget{n:02}({{ label = "widget {n}" }}) {{
  const [count, setCount] = useState(0);
  return (
    <button className="w{n}" onClick={{() => setCount(count + {n})}}>
      {{label}}: {{count}}
    </button>
  );
}}
"""
FUNCTION = """def get(x: int = {n}) -> dict[str, int]:
    return {{"n": {n}, "twice": x * 2}}


def post(body: dict[str, int]) -> dict[str, int]:
    return {{"n": {n}, "sum": sum(body.values())}}
"""
HELLO = """def get() -> dict[str, int]:
    return {{"v": {n}}}
"""


def summary(samples_ms: list[float]) -> dict[str, Any]:
    """n, p50, p99 and max of a list of milliseconds."""
    return {
        "n": len(samples_ms),
        "p50_ms": pct(samples_ms, 50, 1),
        "p99_ms": pct(samples_ms, 99, 1),
        "max_ms": round(max(samples_ms), 1),
    }


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- the server and its clients ----------------------------------------------------------


class Server:
    """``atoll serve`` on free ports over a temporary data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.api_port, self.gateway_port, db = free_port(), free_port(), free_port()
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [str(ATOLL), "serve", "--data-dir", str(data_dir), "--port", str(self.api_port),
             "--gateway-port", str(self.gateway_port), "--db-port", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")},
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not (data_dir / "admin.token").exists() or not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("atoll serve did not come up")
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.api_port}"

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server and what it started."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Api:
    """Calls ``/api/v1`` over one keep-alive connection with one token."""

    def __init__(self, server: Server, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.api_port, timeout=600)
        self.token = token

    def call(self, method: str, path: str, body: Any = None, ok: int = 300) -> tuple[Any, float]:
        """The answer's JSON and the call's milliseconds; fails on a status >= ``ok``."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        data = json.dumps(body) if body is not None else None
        start = time.perf_counter()
        self.conn.request(method, "/api/v1" + path, data, headers)
        reply = self.conn.getresponse()
        raw = reply.read()
        ms = (time.perf_counter() - start) * 1000
        if reply.status >= ok:
            raise RuntimeError(f"{method} {path}: {reply.status} {raw[:500]!r}")
        return json.loads(raw), ms


class Cli:
    """The installed ``atoll`` CLI against the server, as a tenant."""

    def __init__(self, server: Server, token: str, config_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
        self.env |= {"ATOLL_SERVER": server.url, "ATOLL_TOKEN": token}
        self.env["XDG_CONFIG_HOME"] = str(config_dir)

    def timed(self, *args: str) -> float:
        """Milliseconds ``atoll ARGS`` took, start to exit; it must succeed."""
        start = time.perf_counter()
        done = subprocess.run([str(ATOLL), *args], env=self.env, capture_output=True, text=True)
        ms = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            raise RuntimeError(f"atoll {' '.join(args)}: {done.stderr}")
        return ms


class Origin:
    """One keep-alive connection to an app environment's origin, through the gateway."""

    def __init__(self, server: Server, env: str, app: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.gateway_port, timeout=60)
        self.app = app
        self.host = f"{env}--{app}--{TENANT}.localhost:{server.gateway_port}"

    def get_ms(self, path: str) -> float:
        """Milliseconds one ``GET path`` took; it must answer 200."""
        start = time.perf_counter()
        self.conn.request("GET", path, headers={"Host": self.host})
        reply = self.conn.getresponse()
        body = reply.read()
        ms = (time.perf_counter() - start) * 1000
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status} {body[:300]!r}")
        return ms


# -- apps --------------------------------------------------------------------------------


def todo_files() -> dict[str, str]:
    """``examples/todo`` as path -> text."""
    return {
        p.relative_to(TODO).as_posix(): p.read_text()
        for p in sorted(TODO.rglob("*"))
        if p.is_file()
    }


def generated_files(n: int) -> dict[str, str]:
    """An app with ``n`` components (all mounted on its one page) and ``n`` functions."""
    files = {"atoll.toml": 'name = "gen"\n'}
    nodes = []
    for i in range(n):
        files[f"components/Widget{i:02}.jsx"] = COMPONENT.format(n=i)
        files[f"functions/f{i:02}.py"] = FUNCTION.format(n=i)
        nodes.append({"type": "Component", "props": {"name": f"Widget{i:02}"}})
    page = {"schemaVersion": 1, "title": "Generated", "root": {"type": "Stack", "children": nodes}}
    files["pages/index.json"] = json.dumps(page, indent=2)
    files["migrations/0001_init.sql"] = "CREATE TABLE things (id INTEGER PRIMARY KEY, v TEXT);\n"
    return files


def commit(api: Api, app: str, base: str | None, files: dict[str, str]) -> tuple[str, float]:
    """Commit ``files`` on top of ``base``; the revision and the call's milliseconds."""
    changes = [{"path": p, "text": t} for p, t in files.items()]
    got, ms = api.call("POST", f"/apps/{app}/revisions", {"base": base, "changes": changes})
    return str(got["revision"]), ms


def dev_build(api: Api, app: str, revision: str) -> tuple[float, float]:
    """Wait for dev's build of ``revision``; the client's milliseconds from now until the
    API reported it built, and the build's own (recorded start to finish)."""
    start = time.perf_counter()
    while True:
        env, _ = api.call("GET", f"/apps/{app}/envs/dev")
        build = env.get("build") or {}
        if build.get("revision") == revision and build.get("state") in ("ready", "failed"):
            break
        time.sleep(0.02)
    client_ms = (time.perf_counter() - start) * 1000
    if build["state"] != "ready":
        raise RuntimeError(f"the dev build of {app} failed: {build['errors']}")
    took = datetime.fromisoformat(build["finished_at"]) - datetime.fromisoformat(
        build["started_at"]
    )
    return client_ms, took.total_seconds() * 1000


def bench_builds(api: Api, cli: Cli, app: str, files: dict[str, str], runs: int) -> dict[str, Any]:
    """Cold builds (the app's first revision, then new revisions: each changes one function)
    and cached ones (``release create`` of the unchanged head, over the API and the CLI)."""
    api.call("POST", "/apps", {"name": app})
    cold_client: list[float] = []
    cold_server: list[float] = []
    commit_ms: list[float] = []
    head: str | None = None
    for i in range(runs):
        changed = dict(files)
        function = next(p for p in sorted(files) if p.startswith("functions/"))
        changed[function] = files[function] + f"\n# revision {i}\n"
        head, ms = commit(api, app, head, changed if i else files)
        client_ms, server_ms = dev_build(api, app, head)
        commit_ms.append(ms)
        cold_client.append(ms + client_ms)
        cold_server.append(server_ms)
    cached_api, cached_server, cached_cli = [], [], []
    for _ in range(runs):
        made, ms = api.call("POST", f"/apps/{app}/releases", {})
        assert made["status"] == "ready", made
        cached_api.append(ms)
        cached_server.append(float(made["duration_ms"]))
        cached_cli.append(cli.timed("release", "create", "--app", app))
    return {
        "files": len(files),
        "cold_first_build_ms": round(cold_client[0], 1),
        "cold_first_build_server_ms": round(cold_server[0], 1),
        "cold_new_revision": summary(cold_client[1:] or cold_client),
        "cold_new_revision_server": summary(cold_server[1:] or cold_server),
        "commit_call": summary(commit_ms),
        "cached_release_create_api": summary(cached_api),
        "cached_release_create_server": summary(cached_server),
        "cached_release_create_cli": summary(cached_cli),
    }


# -- promotion, rollback and the first request after a switch ----------------------------


def release_two(api: Api, app: str, path: str, text: str) -> tuple[str, str]:
    """The app's head released, then ``path`` changed to ``text`` and released too; both
    versions."""
    old = api.call("POST", f"/apps/{app}/releases", {})[0]["version"]
    head = api.call("GET", f"/apps/{app}")[0]["head_revision"]
    revision, _ = commit(api, app, head, {path: text})
    dev_build(api, app, revision)
    new = api.call("POST", f"/apps/{app}/releases", {})[0]["version"]
    return str(old), str(new)


def hello_app(api: Api, app: str) -> tuple[str, str]:
    """An app of one function that imports nothing, released twice; both versions."""
    api.call("POST", "/apps", {"name": app})
    revision, _ = commit(api, app, None, {"functions/hello.py": HELLO.format(n=1)})
    dev_build(api, app, revision)
    return release_two(api, app, "functions/hello.py", HELLO.format(n=2))


def bench_switches(
    api: Api,
    cli: Cli | None,
    origin: Origin,
    function: str,
    versions: tuple[str, str],
    rounds: int,
) -> dict[str, Any]:
    """Prod moved between two releases (``versions``: old, new), ``rounds`` times each way
    over the API (and as many over the CLI, given one); after each switch, the first call
    of ``function`` and ten warm ones on the same connection."""
    app, (old, new) = origin.app, versions
    _, first_promotion = api.call("POST", f"/apps/{app}/envs/prod/promote", {"release": old})
    for _ in range(20):  # prod's workers started and warm
        origin.get_ms(function)
    first: list[float] = []
    warm: list[float] = []
    ratios: list[float] = []
    moves: list[tuple[str, Callable[[], float]]] = [
        ("promote_api", lambda: api.call(
            "POST", f"/apps/{app}/envs/prod/promote", {"release": new})[1]),
        ("rollback_api", lambda: api.call("POST", f"/apps/{app}/envs/prod/rollback", {})[1]),
    ]  # fmt: skip
    if cli is not None:
        moves += [
            ("promote_cli", lambda: cli.timed(
                "promote", "--app", app, "--to", "prod", "--release", new)),
            ("rollback_cli", lambda: cli.timed("rollback", "--app", app, "--env", "prod")),
        ]  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name, _ in moves}
    for _ in range(rounds):
        for name, move in moves:
            times[name].append(move())
            first.append(origin.get_ms(function))
            following = [origin.get_ms(function) for _ in range(10)]
            warm.extend(following)
            ratios.append(first[-1] / statistics.median(following))
    history = api.call("GET", f"/apps/{app}/envs/prod/history")[0]["deploys"]
    failed = [d for d in history if d["result"] != "ok"]
    if failed:
        raise RuntimeError(f"a switch failed: {failed[0]}")
    server_ms = {
        action: summary([float(d["duration_ms"]) for d in history if d["action"] == action])
        for action in ("promote", "rollback")
    }
    return {
        "releases": [old, new],
        "first_promotion_api_ms": round(first_promotion, 1),
        **{name: summary(samples) for name, samples in times.items()},
        "recorded_duration_server": server_ms,
        "first_request_after_switch": summary(first),
        "warm_request": summary(warm),
        "first_vs_warm": {
            "ratio_p50": round(statistics.median(ratios), 2),
            "ratio_max": round(max(ratios), 2),
            "how": "per switch: the first request / the median of the next 10 on the same "
            "keep-alive connection; p50 and max over every switch",
        },
    }


def bench_baselines(api: Api, cli: Cli, app: str, n: int) -> dict[str, Any]:
    """A cheap authenticated API read, and the CLI making that same call."""
    calls = [api.call("GET", f"/apps/{app}/envs/prod")[1] for _ in range(n * 5)]
    runs = [cli.timed("env", "list", "--app", app) for _ in range(n)]
    return {"api_get_env": summary(calls), "cli_env_list": summary(runs)}


def main() -> None:
    """Run everything against one server and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (5, builds 2)")
    args = parser.parse_args()
    rounds, build_runs = (5, 2) if args.quick else (20, 4)
    load_before = round(os.getloadavg()[0], 2)
    work = Path(tempfile.mkdtemp(prefix="atoll-bench-releases-"))
    server = Server(work / "data")
    try:
        admin = Api(server, (work / "data" / "admin.token").read_text().strip())
        token = admin.call("POST", "/tenants", {"name": TENANT})[0]["token"]
        api, cli = Api(server, token), Cli(server, token, work / "config")
        todo = bench_builds(api, cli, "todo", todo_files(), build_runs)
        generated = bench_builds(api, cli, "gen", generated_files(GENERATED), build_runs)
        todo_function = (TODO / "functions" / "todos.py").read_text() + "\n# v2\n"
        versions = release_two(api, "todo", "functions/todos.py", todo_function)
        todo_prod = Origin(server, "prod", "todo")
        switches = bench_switches(api, cli, todo_prod, "/api/todos", versions, rounds)
        # The same switches for an app whose code imports nothing: what starting the
        # release's own code (todo imports pydantic) adds to each.
        hello_prod = Origin(server, "prod", "hello")
        hello = bench_switches(api, None, hello_prod, "/api/hello", hello_app(api, "hello"), rounds)
        baselines = bench_baselines(api, cli, "todo", rounds)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rollback_p50 = switches["rollback_api"]["p50_ms"]
    cached_s = (
        max(
            todo["cached_release_create_api"]["p50_ms"],
            generated["cached_release_create_api"]["p50_ms"],
        )
        / 1000
    )
    cold_50_s = generated["cold_first_build_ms"] / 1000
    first_ratio = switches["first_vs_warm"]["ratio_p50"]
    report = {
        "benchmark": "releases",
        "what": WHAT,
        "builds": {
            "todo": todo,
            f"generated_{GENERATED}_components_{GENERATED}_functions": generated,
        },
        "switches": switches,
        "switches_of_an_app_importing_nothing": hello,
        "baselines": baselines,
        "targets": TARGETS,
        "measured": {
            "rollback_p50_ms": rollback_p50,
            "cached_rebuild_s": round(cached_s, 3),
            "cold_build_50_50_s": round(cold_50_s, 2),
            "first_request_vs_warm": first_ratio,
        },
        "targets_met": {
            "rollback_p50_ms": rollback_p50 <= TARGETS["rollback_p50_ms"],
            "cached_rebuild_s": cached_s <= TARGETS["cached_rebuild_s"],
            "cold_build_50_50_s": cold_50_s <= TARGETS["cold_build_50_50_s"],
            "first_request_vs_warm": first_ratio <= TARGETS["first_request_vs_warm"],
        },
        "how_judged": "on the API call alone: rollback p50; the worse app's cached release "
        "create p50; the generated app's first (coldest) build; the median first/warm ratio",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "settings": {"rounds": rounds, "build_runs": build_runs, "quick": args.quick},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
