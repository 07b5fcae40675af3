"""CLI start-up benchmark: prints one JSON object measured in one run on this machine.

Starts a real ``atoll serve --demo`` on free ports over a temporary data dir, then times
whole processes, as a shell runs them: ``atoll --help``, ``atoll app list --json`` and
``atoll invoke todo todos`` (both through the control plane; the invoke also through the
gateway and a warm sandbox), next to the baseline ``python -c pass`` in the same run.
Runs are interleaved (one of each per round) so that a noisy moment hits every command.

    .venv/bin/python bench/cli.py [--runs N]

Each command is run once before timing, with bytecode caching allowed, so that the timed
runs find the ``.pyc`` files an installed package has (``PYTHONDONTWRITEBYTECODE`` is set
on some machines, which would otherwise make every run compile the CLI afresh).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

TARGET_MS = 150.0
ATOLL = Path(sys.executable).parent / "atoll"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``atoll serve --demo``, once it answers."""
    api, gateway, db = free_port(), free_port(), free_port()
    ports = ["--port", str(api), "--gateway-port", str(gateway), "--db-port", str(db)]
    proc = subprocess.Popen(
        [str(ATOLL), "serve", "--demo", "--data-dir", str(data_dir), *ports],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{api}"
    for _ in range(900):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as reply:
                if reply.status == 200 and (data_dir / "demo.token").exists():
                    return proc, url
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("atoll serve did not come up")


def run(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one whole process took; it must succeed."""
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def summary(samples: list[float]) -> dict[str, float]:
    """Median and spread of process times, in ms."""
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="atoll-bench-cli-") as tmp:
        data_dir = Path(tmp) / "data"
        proc, url = start(data_dir)
        try:
            token = (data_dir / "demo.token").read_text().strip()
            env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
            env |= {"ATOLL_SERVER": url, "ATOLL_TOKEN": token, "XDG_CONFIG_HOME": tmp}
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "atoll --help": [str(ATOLL), "--help"],
                "atoll app list --json": [str(ATOLL), "app", "list", "--json"],
                "atoll invoke todo todos": [str(ATOLL), "invoke", "todo", "todos"],
            }
            warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
            for argv in commands.values():
                for _ in range(3):  # write .pyc files; build, migrate and warm the function
                    run(argv, warm)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(runs):
                for name, argv in commands.items():
                    samples[name].append(run(argv, env))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    baseline = summary(samples.pop("python -c pass"))
    result: dict[str, Any] = {
        "bench": "cli",
        "runs": runs,
        "target_ms": TARGET_MS,
        "baseline_python_c_pass": baseline,
        "commands": {},
    }
    for name, times in samples.items():
        got = summary(times)
        got["over_baseline_ms"] = round(got["median_ms"] - baseline["median_ms"], 1)
        got["meets_target"] = got["median_ms"] <= TARGET_MS
        result["commands"][name] = got
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
