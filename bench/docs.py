"""Docs benchmark: what documenting costs.

Prints one JSON object:

- an app's generated docs (``atoll.builder.appdocs``: functions parsed in a child, component
  props by the TypeScript parser, pages, migrations on a scratch database) for each example
  app, against the same app's frontend build (pages checked, components bundled), measured
  in the same run: what ``release create`` adds to a build it already does;
- ``python -m atoll.docsgen check`` (every reference regenerated and compared, TypeDoc
  included) and ``mkdocs build --strict`` of the site: what ``make docs`` and the drift test
  take, against starting the interpreter alone in the same run.

The issue sets no target for these; they are here so a change that makes them slower shows.

    .venv/bin/python bench/docs.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from atoll.builder.appdocs import generate_app_docs
from atoll.builder.frontend import build_frontend

REPO = Path(__file__).resolve().parents[1]
APPS = ("todo", "crm")
METHODS = {"get", "post", "put", "patch", "delete"}


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def app_docs(app: str, runs: int) -> dict[str, Any]:
    """Docs against the frontend build of one example app, run after run."""
    src = REPO / "examples" / app
    docs: list[float] = []
    frontend: list[float] = []
    summary: dict[str, int] = {}
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="atoll-bench-docs-") as tmp:
            out = Path(tmp) / f"r{i}"
            start = time.perf_counter()
            build_frontend(src, out)
            frontend.append(_ms(start))
            start = time.perf_counter()
            document = generate_app_docs(src, out, app)
            docs.append(_ms(start))
        summary = {
            "operations": sum(
                method in METHODS
                for path in document["functions"]["paths"].values()
                for method in path
            ),
            "components": len(document["components"]),
            "pages": len(document["pages"]),
            "tables": len(document["database"]["tables"]),
            "notes": len(document["notes"]),
        }
    return {
        "docs_p50_ms": _p50(docs),
        "frontend_build_p50_ms": _p50(frontend),
        "docs_over_frontend_build": round(statistics.median(docs) / statistics.median(frontend), 2),
        "documented": summary,
    }


def timed(command: list[str]) -> float:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return round(_ms(start), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="atoll-bench-site-") as site:
        result = {
            "benchmark": "docs",
            "apps": {app: app_docs(app, args.runs) for app in APPS},
            "site_ms": {
                "python_start_baseline": timed([sys.executable, "-c", "pass"]),
                "docsgen_check": timed([sys.executable, "-m", "atoll.docsgen", "check"]),
                "mkdocs_build_strict": timed(
                    [str(bin_dir / "mkdocs"), "build", "--strict", "-q", "--site-dir", site]
                ),
            },
            "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
            "settings": {"runs": args.runs},
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
